/* vmstate-test-util.c: helper processes and buses for the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmstate-test-util.h"
#include "vmstate-test-pattern.h"

/* The helpers' state (vmstate-test-pattern.h). */
GBytes *
test_make_state (gsize size,
                 int   seed)
{
  return vmstate_test_pattern_new (size, seed);
}

/* A blob of the given Ids and states, NULL-terminated pairs; it takes
 * the states. */
GBytes *
test_blob_of (const char *first_id,
              ...)
{
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  va_list ap;

  va_start (ap, first_id);
  for (const char *id = first_id; id != NULL; id = va_arg (ap, const char *))
    {
      g_autoptr(GBytes) state = va_arg (ap, GBytes *);
      g_autoptr(GError) error = NULL;

      vmstate_blob_add (blob, id, state, &error);
      g_assert_no_error (error);
    }
  va_end (ap);
  return vmstate_blob_to_bytes (blob);
}

/**
 * test_helper_spawnv:
 * @args: the helper's arguments
 *
 * Starts tests/helper/vmstate-test-helper (VMSTATE_TEST_HELPER, or the
 * one of this build) with @args and waits for its READY line, so that
 * when this returns the helper owns its name. Without --address in
 * @args it joins the bus of DBUS_SESSION_BUS_ADDRESS (the test's private
 * GTestDBus).
 */
TestHelper *
test_helper_spawnv (const char * const *args)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_auto(GStrv) words = NULL;
  const char *program = g_getenv ("VMSTATE_TEST_HELPER");
  TestHelper *helper;

  g_ptr_array_add (argv, program ? g_strdup (program)
                                 : g_test_build_filename (G_TEST_BUILT, "helper", "vmstate-test-helper", NULL));
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, g_strdup (args[i]));
  g_ptr_array_add (argv, NULL);

  helper = g_new0 (TestHelper, 1);
  helper->process = g_subprocess_newv ((const char * const *) argv->pdata,
                                       G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                       G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                       &error);
  g_assert_no_error (error);
  helper->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (helper->process));

  line = test_helper_read_line (helper, NULL);
  words = g_strsplit (line, " ", 3);
  g_assert_cmpstr (words[0], ==, "READY");
  helper->unique_name = g_strdup (words[1]);
  helper->pid = atoi (words[2]);
  g_test_message ("helper %s pid %u: %s", helper->unique_name, helper->pid, args[0]);
  return helper;
}

/* test_helper_spawnv() with the arguments up to a NULL. */
TestHelper *
test_helper_spawn (const char *first_arg,
                   ...)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  va_list ap;

  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (args, (gpointer) arg);
  va_end (ap);
  g_ptr_array_add (args, NULL);
  return test_helper_spawnv ((const char * const *) args->pdata);
}

static void
on_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  char **line = user_data;
  g_autoptr(GError) error = NULL;

  *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                     NULL, &error);
  g_assert_no_error (error);
  if (*line == NULL)
    *line = g_strdup ("");  /* end of file */
}

/**
 * test_helper_read_line:
 * @context: (nullable): a main context to iterate while waiting (the one
 *   a collector's operation in flight runs on), or %NULL to block
 *
 * The next line the helper printed; "" at end of file.
 */
char *
test_helper_read_line (TestHelper   *helper,
                       GMainContext *context)
{
  g_autoptr(GError) error = NULL;
  char *line = NULL;

  if (context == NULL)
    {
      line = g_data_input_stream_read_line_utf8 (helper->out, NULL, NULL, &error);
      g_assert_no_error (error);
      return line ? line : g_strdup ("");
    }

  g_data_input_stream_read_line_async (helper->out, G_PRIORITY_DEFAULT, NULL, on_line, &line);
  while (line == NULL)
    g_main_context_iteration (context, TRUE);
  return line;
}

void
test_helper_expect_loaded (TestHelper *helper,
                           GBytes     *state)
{
  g_autofree char *line = test_helper_read_line (helper, NULL);
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, state);
  g_autofree char *expected = g_strdup_printf ("LOADED %" G_GSIZE_FORMAT " %s",
                                               g_bytes_get_size (state), sum);

  g_assert_cmpstr (line, ==, expected);
}

/* SIGKILLs the helper and reaps it. */
void
test_helper_kill (TestHelper *helper)
{
  g_subprocess_force_exit (helper->process);
  g_subprocess_wait (helper->process, NULL, NULL);
}

/* Closes the helper's stdin and waits for it to exit: it leaves when its
 * stdin closes, even while it hangs a call; the test's timeout bounds
 * the wait. */
gboolean
test_helper_wait_exit (TestHelper *helper)
{
  GOutputStream *in = g_subprocess_get_stdin_pipe (helper->process);

  g_output_stream_close (in, NULL, NULL);
  return g_subprocess_wait (helper->process, NULL, NULL);
}

void
test_helper_free (TestHelper *helper)
{
  test_helper_wait_exit (helper);
  g_object_unref (helper->out);
  g_object_unref (helper->process);
  g_free (helper->unique_name);
  g_free (helper);
}

/* A client connection to the message bus at @address; asserts it works. */
GDBusConnection *
test_bus_connect (const char *address)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *c;

  c = g_dbus_connection_new_for_address_sync (address,
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                              G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, &error);
  g_assert_no_error (error);
  return c;
}

/* Removes @dir and the files in it. */
void
test_remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (dir);
}

/* A GAsyncReadyCallback: keeps the result in *(GAsyncResult **) @user_data. */
void
test_store_result (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
  g_main_context_wakeup (g_main_context_get_thread_default ());
}

/* Iterates the thread-default main context until test_store_result()
 * stored *@result. */
GAsyncResult *
test_wait_result (GAsyncResult **result)
{
  GMainContext *context = g_main_context_get_thread_default ();

  while (*result == NULL)
    g_main_context_iteration (context, TRUE);
  return *result;
}

/* Starts a save on @collector and returns once @hung (a helper run with
 * --report, and --hang save) is inside its Save: the save is in flight.
 * test_wait_result (@result) waits for its end. */
void
test_save_until_inside (VmstateCollector  *collector,
                        GCancellable      *cancellable,
                        TestHelper        *hung,
                        GAsyncResult     **result)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  g_autofree char *line = NULL;

  vmstate_collector_save_async (collector, cancellable, test_store_result, result);
  line = test_helper_read_line (hung, context);
  g_assert_true (g_str_has_prefix (line, "SAVE "));
  g_assert_null (*result);
}
