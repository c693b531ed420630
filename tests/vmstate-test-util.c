/* vmstate-test-util.c: what the C tests share: helper processes, buses,
 * async results, error checks, and an in-process service on a private bus
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

/* The arguments from @first up to a NULL, in an array ending in NULL */
static GPtrArray *
collect_args (gconstpointer first,
              va_list       ap)
{
  GPtrArray *args = g_ptr_array_new ();

  for (gconstpointer arg = first; arg != NULL; arg = va_arg (ap, gconstpointer))
    g_ptr_array_add (args, (gpointer) arg);
  g_ptr_array_add (args, NULL);
  return args;
}

/* A blob of the given Ids and states, pairs up to a NULL; it takes the
 * states. */
GBytes *
test_blob_of (const char *first_id,
              ...)
{
  g_autoptr(VmstateBlob) blob = vmstate_blob_new ();
  g_autoptr(GPtrArray) args = NULL;
  va_list ap;

  va_start (ap, first_id);
  args = collect_args (first_id, ap);
  va_end (ap);
  for (guint i = 0; i + 1 < args->len; i += 2)
    {
      g_autoptr(GBytes) state = args->pdata[i + 1];
      g_autoptr(GError) error = NULL;

      vmstate_blob_add (blob, args->pdata[i], state, &error);
      g_assert_no_error (error);
    }
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
  {
    g_autofree char *joined = g_strjoinv (" ", (char **) args);

    g_test_message ("helper %s pid %u: %s", helper->unique_name, helper->pid, joined);
  }
  return helper;
}

/* test_helper_spawnv() with the arguments up to a NULL. */
TestHelper *
test_helper_spawn (const char *first_arg,
                   ...)
{
  g_autoptr(GPtrArray) args = NULL;
  va_list ap;

  va_start (ap, first_arg);
  args = collect_args (first_arg, ap);
  va_end (ap);
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

/* Reads the helper's next line and asserts it is "@what <size> <sha256>"
 * of @state: "LOADED" after a Load, "LOAD <id>" when one comes in
 * (--report). */
void
test_helper_expect_state_line (TestHelper *helper,
                               const char *what,
                               GBytes     *state)
{
  g_autofree char *line = test_helper_read_line (helper, NULL);
  g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, state);
  g_autofree char *expected = g_strdup_printf ("%s %" G_GSIZE_FORMAT " %s", what,
                                               g_bytes_get_size (state), sum);

  g_assert_cmpstr (line, ==, expected);
}

void
test_helper_expect_loaded (TestHelper *helper,
                           GBytes     *state)
{
  test_helper_expect_state_line (helper, "LOADED", state);
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

/* Asserts that each of the strings up to a NULL is in @error's message. */
void
test_assert_message_hasv (const GError *error,
                          const char   *first,
                          va_list       ap)
{
  g_assert_nonnull (error);
  for (const char *w = first; w != NULL; w = va_arg (ap, const char *))
    if (strstr (error->message, w) == NULL)
      g_error ("'%s' is not in the error message '%s'", w, error->message);
}

/* Asserts that @error is @code of @domain, with each of the strings up
 * to a NULL in its message. */
void
test_assert_failed (const GError *error,
                    GQuark        domain,
                    int           code,
                    const char   *first,
                    va_list       ap)
{
  g_assert_error (error, domain, code);
  g_test_message ("failed as expected: %s", error->message);
  test_assert_message_hasv (error, first, ap);
}

void
test_assert_message_has (const GError *error,
                         const char   *first,
                         ...)
{
  va_list ap;

  va_start (ap, first);
  test_assert_message_hasv (error, first, ap);
  va_end (ap);
}

/* TestService */

G_DEFINE_FINAL_TYPE (TestService, test_service, VMSTATE_TYPE_SERVICE)

static GBytes *
test_service_save (VmstateService *service, GError **error)
{
  TestService *self = TEST_SERVICE (service);

  self->n_save++;
  self->save_thread = g_thread_self ();
  switch (self->mode)
    {
    case TEST_SERVICE_ERROR:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "no access to the table");
      return NULL;
    case TEST_SERVICE_NULL_NO_ERROR:
      return NULL;
    default:
      return g_bytes_ref (self->state);
    }
}

static gboolean
test_service_load (VmstateService *service, GBytes *state, GError **error)
{
  TestService *self = TEST_SERVICE (service);

  self->n_load++;
  if (self->mode == TEST_SERVICE_ERROR)
    {
      g_set_error_literal (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB, "version 3 unknown");
      return FALSE;
    }
  if (self->mode == TEST_SERVICE_NULL_NO_ERROR)
    return FALSE;
  self->loaded_version = vmstate_service_get_loading_version (service);
  g_clear_pointer (&self->loaded, g_bytes_unref);
  self->loaded = g_bytes_ref (state);
  return TRUE;
}

static gboolean
answer_later (gpointer data)
{
  GTask *task = data;
  TestService *self = g_task_get_source_object (task);

  g_task_return_pointer (task, g_bytes_ref (self->state), (GDestroyNotify) g_bytes_unref);
  return G_SOURCE_REMOVE;
}

static gboolean
on_wait_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  TestService *self = g_task_get_source_object (task);

  self->cancelled = TRUE;
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "the Save was cancelled");
  return G_SOURCE_REMOVE;
}

static void
test_service_save_async (VmstateService *service, GCancellable *cancellable,
                         GAsyncReadyCallback callback, gpointer user_data)
{
  TestService *self = TEST_SERVICE (service);

  if (self->mode == TEST_SERVICE_WAIT)
    {
      GTask *task = g_task_new (self, cancellable, callback, user_data);
      GSource *source;

      /* never answers by itself: only cancelling the call ends it */
      g_assert_nonnull (cancellable);
      self->waiting = TRUE;
      source = g_cancellable_source_new (cancellable);
      g_source_set_callback (source, G_SOURCE_FUNC (on_wait_cancelled), task, g_object_unref);
      g_source_attach (source, g_main_context_get_thread_default ());
      g_source_unref (source);
      return;
    }
  if (self->mode != TEST_SERVICE_ASYNC)
    {
      VMSTATE_SERVICE_CLASS (test_service_parent_class)->save_async (service, cancellable, callback, user_data);
      return;
    }
  self->n_save++;
  g_timeout_add_full (G_PRIORITY_DEFAULT, 50, answer_later,
                      g_task_new (self, cancellable, callback, user_data), g_object_unref);
}

static GBytes *
test_service_save_finish (VmstateService *service, GAsyncResult *result, GError **error)
{
  TestService *self = TEST_SERVICE (service);

  if (self->mode != TEST_SERVICE_ASYNC && self->mode != TEST_SERVICE_WAIT)
    return VMSTATE_SERVICE_CLASS (test_service_parent_class)->save_finish (service, result, error);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_service_finalize (GObject *object)
{
  TestService *self = TEST_SERVICE (object);

  g_clear_pointer (&self->state, g_bytes_unref);
  g_clear_pointer (&self->loaded, g_bytes_unref);
  G_OBJECT_CLASS (test_service_parent_class)->finalize (object);
}

static void
test_service_class_init (TestServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_service_finalize;
  VMSTATE_SERVICE_CLASS (klass)->save = test_service_save;
  VMSTATE_SERVICE_CLASS (klass)->load = test_service_load;
  VMSTATE_SERVICE_CLASS (klass)->save_async = test_service_save_async;
  VMSTATE_SERVICE_CLASS (klass)->save_finish = test_service_save_finish;
}

static void
test_service_init (TestService *self)
{
  self->state = g_bytes_new_static ("state!", 6);
}

/* ServiceBus */

GDBusConnection *
service_bus_connect (ServiceBus *f)
{
  return test_bus_connect (g_test_dbus_get_bus_address (f->bus));
}

void
service_bus_setup (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->server = service_bus_connect (f);
  f->client = service_bus_connect (f);
  f->service = g_object_new (TEST_TYPE_SERVICE, "id", "svc", NULL);
  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (f->service), f->server, &error));
  g_assert_no_error (error);
}

static gboolean
watchdog (gpointer user_data)
{
  g_error ("%s did not happen within 20 s", (const char *) user_data);
  return G_SOURCE_REMOVE;
}

/* A source on the default main context that fails the test if @what
 * has not happened within 20 s; g_source_remove() it once it has. */
guint
test_watchdog_add (const char *what)
{
  return g_timeout_add_seconds (20, watchdog, (gpointer) what);
}

void
service_bus_teardown (ServiceBus *f, gconstpointer data)
{
  /* an exported service keeps itself alive: unexport is what ends it */
  g_object_add_weak_pointer (G_OBJECT (f->service), (gpointer *) &f->service);
  vmstate_service_unexport (VMSTATE_SERVICE (f->service));
  g_object_unref (f->service);
  /* a call cancelled by unexport may still be finishing */
  if (f->service != NULL)
    {
      guint dog = test_watchdog_add ("releasing the service");

      while (f->service != NULL)
        g_main_context_iteration (NULL, TRUE);
      g_source_remove (dog);
    }
  g_dbus_connection_close_sync (f->server, NULL, NULL);
  g_dbus_connection_close_sync (f->client, NULL, NULL);
  g_clear_object (&f->server);
  g_clear_object (&f->client);
  g_test_dbus_down (f->bus);
  g_object_unref (f->bus);
}

/* A call from the client connection, iterating the main context that
 * dispatches the in-process service. */
GVariant *
service_bus_call (ServiceBus *f, const char *dest, const char *path, const char *iface,
                  const char *method, GVariant *params, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_connection_call (f->client, dest, path, iface, method, params, NULL,
                          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, test_store_result, &result);
  return g_dbus_connection_call_finish (f->client, test_wait_result (&result), error);
}

/* A method of org.qemu.VMState1 of the fixture's service */
GVariant *
service_bus_call_helper (ServiceBus *f, const char *method, GVariant *params, GError **error)
{
  return service_bus_call (f, g_dbus_connection_get_unique_name (f->server), "/org/qemu/VMState1",
                           "org.qemu.VMState1", method, params, error);
}

/* What the service's Save answers */
GBytes *
service_bus_save (ServiceBus *f, GError **error)
{
  g_autoptr(GVariant) reply = service_bus_call_helper (f, "Save", NULL, error);
  g_autoptr(GVariant) data = NULL;

  if (reply == NULL)
    return NULL;
  g_assert_cmpstr (g_variant_get_type_string (reply), ==, "(ay)");
  data = g_variant_get_child_value (reply, 0);
  return g_variant_get_data_as_bytes (data);
}

gboolean
service_bus_load (ServiceBus *f, GBytes *state, GError **error)
{
  g_autoptr(GVariant) reply =
    service_bus_call_helper (f, "Load",
                             g_variant_new ("(@ay)", g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                               state, TRUE)),
                             error);
  return reply != NULL;
}

/* A Save that fails with @code of @domain, with each of the strings up
 * to a NULL in the message. */
void
service_bus_save_fails (ServiceBus *f, GQuark domain, int code, const char *first, ...)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = service_bus_save (f, &error);
  va_list ap;

  g_assert_null (state);
  va_start (ap, first);
  test_assert_failed (error, domain, code, first, ap);
  va_end (ap);
}

/* The same for a Load of @state */
void
service_bus_load_fails (ServiceBus *f, GBytes *state, GQuark domain, int code, const char *first, ...)
{
  g_autoptr(GError) error = NULL;
  va_list ap;

  g_assert_false (service_bus_load (f, state, &error));
  va_start (ap, first);
  test_assert_failed (error, domain, code, first, ap);
  va_end (ap);
}
