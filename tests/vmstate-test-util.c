/* vmstate-test-util.c: helper processes and buses for the tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

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

/**
 * test_helper_spawn:
 *
 * Starts tests/helper/vmstate-test-helper with the given arguments on the bus of
 * DBUS_SESSION_BUS_ADDRESS (the test's private GTestDBus) and waits for
 * its READY line, so that when this returns the helper owns its name.
 */
TestHelper *
test_helper_spawn (const char *first_arg,
                   ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  g_auto(GStrv) words = NULL;
  TestHelper *helper;
  va_list ap;

  g_ptr_array_add (argv, g_test_build_filename (G_TEST_BUILT, "helper", "vmstate-test-helper", NULL));
  va_start (ap, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  helper = g_new0 (TestHelper, 1);
  helper->process = g_subprocess_newv ((const char * const *) argv->pdata,
                                       G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                       G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                                       &error);
  g_assert_no_error (error);
  helper->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (helper->process));

  line = test_helper_read_line (helper);
  g_assert_nonnull (line);
  words = g_strsplit (line, " ", 3);
  g_assert_cmpstr (words[0], ==, "READY");
  helper->unique_name = g_strdup (words[1]);
  helper->pid = atoi (words[2]);
  g_test_message ("helper %s pid %u: %s", helper->unique_name, helper->pid,
                  (const char *) argv->pdata[1]);
  return helper;
}

/* The next line the helper printed, or NULL at end of file. */
char *
test_helper_read_line (TestHelper *helper)
{
  g_autoptr(GError) error = NULL;
  char *line;

  line = g_data_input_stream_read_line_utf8 (helper->out, NULL, NULL, &error);
  g_assert_no_error (error);
  return line;
}

void
test_helper_expect_loaded (TestHelper *helper,
                           GBytes     *state)
{
  g_autofree char *line = test_helper_read_line (helper);
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, state);
  g_autofree char *expected = g_strdup_printf ("LOADED %" G_GSIZE_FORMAT " %s",
                                               g_bytes_get_size (state), sum);

  g_assert_cmpstr (line, ==, expected);
}

/* Closes the helper's stdin and waits for it to exit. */
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
