/* test-service.c: VmstateService in-process, called over a real private
 * dbus-daemon (GTestDBus) from a second connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "vmstate-test-util.h"

static char **
queued_owners (ServiceBus *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = service_bus_call (f, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "ListQueuedOwners",
                                    g_variant_new ("(s)", "org.qemu.VMState1"), &error);
  char **names = NULL;

  if (reply == NULL)
    {
      g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER);
      return g_new0 (char *, 1);
    }
  g_variant_get (reply, "(^as)", &names);
  return names;
}

/* A round trip to the bus daemon on @c: the daemon has handled every
 * message @c sent before (ReleaseName, RequestName). */
static void
bus_roundtrip (GDBusConnection *c)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply =
    g_dbus_connection_call_sync (c, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "GetId", NULL, NULL,
                                 G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
  g_assert_no_error (error);
}

static gboolean
is_queued (ServiceBus *f, GDBusConnection *c)
{
  g_auto(GStrv) owners = NULL;

  bus_roundtrip (c);
  owners = queued_owners (f);
  return g_strv_contains ((const char * const *) owners, g_dbus_connection_get_unique_name (c));
}

static void
test_export (ServiceBus *f, gconstpointer data)
{
  g_auto(GStrv) owners = queued_owners (f);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) all = NULL;
  g_autoptr(GVariant) xml = NULL;
  const char *id = NULL;
  const char *introspection;

  g_assert_true (g_strv_contains ((const char * const *) owners,
                                  g_dbus_connection_get_unique_name (f->server)));
  g_assert_true (vmstate_service_get_connection (VMSTATE_SERVICE (f->service)) == f->server);

  /* QEMU reads Id through GetAll */
  all = service_bus_call (f, g_dbus_connection_get_unique_name (f->server), "/org/qemu/VMState1",
              "org.freedesktop.DBus.Properties", "GetAll",
              g_variant_new ("(s)", "org.qemu.VMState1"), &error);
  g_assert_no_error (error);
  {
    g_autoptr(GVariant) props = g_variant_get_child_value (all, 0);
    g_assert_true (g_variant_lookup (props, "Id", "&s", &id));
    g_assert_cmpstr (id, ==, "svc");
  }

  xml = service_bus_call (f, g_dbus_connection_get_unique_name (f->server), "/org/qemu/VMState1",
              "org.freedesktop.DBus.Introspectable", "Introspect", NULL, &error);
  g_assert_no_error (error);
  g_variant_get (xml, "(&s)", &introspection);
  g_assert_nonnull (strstr (introspection, "org.qemu.VMState1"));
  g_assert_nonnull (strstr (introspection, "Save"));

  /* exporting twice fails; on the same connection too */
  g_assert_false (vmstate_service_export (VMSTATE_SERVICE (f->service), f->server, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_EXPORTED);
  g_clear_error (&error);
  {
    g_autoptr(TestService) other = g_object_new (TEST_TYPE_SERVICE, "id", "other", NULL);
    g_assert_false (vmstate_service_export (VMSTATE_SERVICE (other), f->server, &error));
    g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_EXPORTED);
    g_clear_error (&error);
  }

  /* unexport releases the name */
  vmstate_service_unexport (VMSTATE_SERVICE (f->service));
  g_assert_null (vmstate_service_get_connection (VMSTATE_SERVICE (f->service)));
  g_assert_false (is_queued (f, f->server));
}

static void
test_queued (ServiceBus *f, gconstpointer data)
{
  /* A second helper on another connection queues for the name. */
  g_autoptr(GDBusConnection) c2 = service_bus_connect (f);
  g_autoptr(TestService) s2 = g_object_new (TEST_TYPE_SERVICE, "id", "second", NULL);
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) owners = NULL;

  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (s2), c2, &error));
  g_assert_no_error (error);
  owners = queued_owners (f);
  g_assert_cmpuint (g_strv_length (owners), ==, 2);
  g_assert_true (g_strv_contains ((const char * const *) owners, g_dbus_connection_get_unique_name (c2)));
  vmstate_service_unexport (VMSTATE_SERVICE (s2));
}

static void
test_invalid_id (void)
{
  const char *bad[] = { "", NULL };
  g_autofree char *long_id = g_strnfill (256, 'x');
  g_autoptr(GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr(GDBusConnection) c = NULL;

  g_test_dbus_up (bus);
  c = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (bus),
                                              G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                              G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                              NULL, NULL, NULL);
  bad[1] = long_id;
  for (guint i = 0; i < 3; i++)
    {
      const char *id = i < 2 ? bad[i] : NULL;
      g_autoptr(TestService) s = g_object_new (TEST_TYPE_SERVICE, "id", id, NULL);
      g_autoptr(GError) error = NULL;

      g_assert_false (vmstate_service_export (VMSTATE_SERVICE (s), c, &error));
      g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID);
      g_assert_null (vmstate_service_get_connection (VMSTATE_SERVICE (s)));
    }
  g_dbus_connection_close_sync (c, NULL, NULL);
  g_test_dbus_down (bus);
}

static void
test_save (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = service_bus_save (f, &error);

  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (state, NULL), g_bytes_get_size (state), "state!", 6);
  g_assert_cmpuint (f->service->n_save, ==, 1);
}

static void
test_save_empty (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = NULL;

  g_bytes_unref (f->service->state);
  f->service->state = g_bytes_new (NULL, 0);
  state = service_bus_save (f, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (state), ==, 0);
}

/* save_async() answers from a later main loop iteration: the reply is
 * its state, byte for byte, and save() was never called. */
static void
test_save_async (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = NULL;
  g_autoptr(GBytes) expected = test_make_state (100000, 5);

  g_bytes_unref (f->service->state);
  f->service->state = g_bytes_ref (expected);
  f->service->mode = TEST_SERVICE_ASYNC;
  state = service_bus_save (f, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (state, NULL), g_bytes_get_size (state),
                   g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
  g_assert_cmpuint (f->service->n_save, ==, 1);
  g_assert_null (f->service->save_thread);
}

static void
test_save_error (ServiceBus *f, gconstpointer data)
{
  f->service->mode = TEST_SERVICE_ERROR;
  service_bus_save_fails (f, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "no access to the table", NULL);
}

static void
test_save_null (ServiceBus *f, gconstpointer data)
{
  f->service->mode = TEST_SERVICE_NULL_NO_ERROR;
  service_bus_save_fails (f, VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED, "without setting an error", "'svc'",
              g_dbus_connection_get_unique_name (f->server), NULL);
}

static void
test_save_too_large (ServiceBus *f, gconstpointer data)
{
  vmstate_service_set_max_state_size (VMSTATE_SERVICE (f->service), 5);
  /* which limit, and how to raise it */
  service_bus_save_fails (f, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE, "'svc'", "max-state-size of 5 bytes",
              "vmstate_service_set_max_state_size()", NULL);
}

static void
on_loaded (VmstateService *service, gpointer user_data)
{
  guint *n = user_data;
  (*n)++;
}

static void
test_load (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint n_loaded = 0;

  g_signal_connect (f->service, "loaded", G_CALLBACK (on_loaded), &n_loaded);
  reply = service_bus_call_helper (f, "Load",
                       g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "abc", 3, 1)),
                       &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->service->n_load, ==, 1);
  g_assert_cmpmem (g_bytes_get_data (f->service->loaded, NULL), g_bytes_get_size (f->service->loaded), "abc", 3);
  g_assert_cmpuint (n_loaded, ==, 1);

  /* an empty state is legal */
  g_clear_pointer (&reply, g_variant_unref);
  reply = service_bus_call_helper (f, "Load",
                       g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, NULL, 0, 1)),
                       &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (f->service->loaded), ==, 0);
  g_assert_cmpuint (n_loaded, ==, 2);
}

static void
test_load_error (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint n_loaded = 0;

  g_signal_connect (f->service, "loaded", G_CALLBACK (on_loaded), &n_loaded);
  f->service->mode = TEST_SERVICE_ERROR;
  reply = service_bus_call_helper (f, "Load",
                       g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "abc", 3, 1)),
                       &error);
  g_assert_null (reply);
  /* our own codes survive the bus */
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB);
  g_assert_nonnull (strstr (error->message, "version 3 unknown"));
  g_assert_cmpuint (n_loaded, ==, 0);
}

static void
test_load_too_large (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree guint8 *big = g_malloc0 (1048577);

  reply = service_bus_call_helper (f, "Load",
                       g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, big, 1048577, 1)),
                       &error);
  g_assert_null (reply);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "max-state-size of 1048576 bytes"));
  g_assert_nonnull (strstr (error->message, "vmstate_service_set_max_state_size()"));
  /* refused before it reached the vfunc */
  g_assert_cmpuint (f->service->n_load, ==, 0);
}

static void
test_load_wrong_signature (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = service_bus_call_helper (f, "Load", g_variant_new ("(s)", "abc"), &error);

  g_assert_null (reply);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_assert_cmpuint (f->service->n_load, ==, 0);
}

/* Lifetime */

static void
test_lifetime_export (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = service_bus_connect (f);
  TestService *service = g_object_new (TEST_TYPE_SERVICE, "id", "alive", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) state = NULL;

  g_object_add_weak_pointer (G_OBJECT (service), (gpointer *) &service);
  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (service), c, &error));
  g_assert_no_error (error);

  /* nobody holds it but the export: it stays, and answers */
  g_object_unref (service);
  g_assert_nonnull (service);
  reply = service_bus_call (f, g_dbus_connection_get_unique_name (c), "/org/qemu/VMState1",
                "org.qemu.VMState1", "Save", NULL, &error);
  g_assert_no_error (error);
  state = g_variant_get_child_value (reply, 0);
  g_assert_cmpuint (g_variant_get_size (state), ==, 6);
  g_assert_true (is_queued (f, c));

  /* unexport gives the export's reference back */
  vmstate_service_unexport (VMSTATE_SERVICE (service));
  g_assert_null (service);
  g_assert_false (is_queued (f, c));
}

static void
test_lifetime_connection_closed (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = service_bus_connect (f);
  TestService *service = g_object_new (TEST_TYPE_SERVICE, "id", "alive", NULL);
  g_autoptr(GError) error = NULL;

  g_object_add_weak_pointer (G_OBJECT (service), (gpointer *) &service);
  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (service), c, &error));
  g_object_unref (service);
  g_assert_nonnull (service);

  /* the connection closing unexports it, which lets it go */
  g_assert_true (g_dbus_connection_close_sync (c, NULL, &error));
  g_assert_no_error (error);
  while (service != NULL)
    g_main_context_iteration (NULL, TRUE);
}

/* Export */

static gboolean
export_async_wait (VmstateService *service, GDBusConnection *c,
                   GCancellable *cancellable, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  vmstate_service_export_async (service, c, cancellable, test_store_result, &result);
  return vmstate_service_export_finish (service, test_wait_result (&result), error);
}

static void
test_export_async (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = service_bus_connect (f);
  g_autoptr(TestService) service = g_object_new (TEST_TYPE_SERVICE, "id", "async", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (export_async_wait (VMSTATE_SERVICE (service), c, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (vmstate_service_get_connection (VMSTATE_SERVICE (service)) == c);
  g_assert_true (is_queued (f, c));

  /* a second export fails, and leaves the first alone */
  g_assert_false (export_async_wait (VMSTATE_SERVICE (service), c, NULL, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_EXPORTED);
  g_assert_true (is_queued (f, c));

  vmstate_service_unexport (VMSTATE_SERVICE (service));
  g_assert_null (vmstate_service_get_connection (VMSTATE_SERVICE (service)));
  g_assert_false (is_queued (f, c));
}

static void
test_export_cancelled (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = service_bus_connect (f);
  TestService *service = g_object_new (TEST_TYPE_SERVICE, "id", "cancelled", NULL);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;

  g_object_add_weak_pointer (G_OBJECT (service), (gpointer *) &service);
  g_cancellable_cancel (cancellable);
  g_assert_false (export_async_wait (VMSTATE_SERVICE (service), c, cancellable, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (vmstate_service_get_connection (VMSTATE_SERVICE (service)));
  /* the name the bus gave is given back, and nothing holds the service */
  g_assert_false (is_queued (f, c));
  g_object_unref (service);
  g_assert_null (service);
}

static void
test_export_already_owner (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = service_bus_connect (f);
  g_autoptr(TestService) service = g_object_new (TEST_TYPE_SERVICE, "id", "guest", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint32 code;

  /* something else on this connection already owns the name (the
   * fixture's service lets it go first) */
  vmstate_service_unexport (VMSTATE_SERVICE (f->service));
  bus_roundtrip (f->server);  /* its ReleaseName is handled */
  reply = g_dbus_connection_call_sync (c, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "RequestName",
                                       g_variant_new ("(su)", "org.qemu.VMState1", 0),
                                       G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                                       10000, NULL, &error);
  g_assert_no_error (error);
  g_variant_get (reply, "(u)", &code);
  g_assert_cmpuint (code, ==, 1 /* PRIMARY_OWNER */);

  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (service), c, &error));
  g_assert_no_error (error);

  /* unexport releases only what export took: nothing, here */
  vmstate_service_unexport (VMSTATE_SERVICE (service));
  g_assert_true (is_queued (f, c));

  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (f->service), f->server, &error));
  g_assert_no_error (error);
}

/* The vfunc's cancellable */

static void
on_reply_counted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GError **error = user_data;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, error);

  if (reply != NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "a reply instead of an error");
}

static void
test_cancel_on_unexport (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->service->mode = TEST_SERVICE_WAIT;
  g_dbus_connection_call (f->client, g_dbus_connection_get_unique_name (f->server),
                          "/org/qemu/VMState1", "org.qemu.VMState1", "Save", NULL, NULL,
                          G_DBUS_CALL_FLAGS_NONE, 20000, NULL, on_reply_counted, &error);
  while (!f->service->waiting)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (f->service->cancelled);

  vmstate_service_unexport (VMSTATE_SERVICE (f->service));
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("the caller got: %s", error->message);
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT));
  g_assert_false (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_FAILED));
  g_assert_true (f->service->cancelled);
}


static void
test_cancel_caller_killed (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GSubprocess) collector = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tool = g_build_filename (g_getenv ("VMSTATE_BUILD_ROOT"), "tools", "vmstate", NULL);
  g_autofree char *blob = g_build_filename (g_get_tmp_dir (), "vmstate-test-killed.blob", NULL);
  guint dog;

  /* a real collector process, killed while the helper's Save waits */
  f->service->mode = TEST_SERVICE_WAIT;
  collector = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, tool, "save", "--quiet",
                                "--address", g_test_dbus_get_bus_address (f->bus), "--output", blob, NULL);
  g_assert_no_error (error);
  dog = test_watchdog_add ("the collector's Save");
  while (!f->service->waiting)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (dog);
  g_assert_false (f->service->cancelled);

  g_subprocess_force_exit (collector);
  dog = test_watchdog_add ("cancelling the Save of a dead collector");
  while (!f->service->cancelled)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (dog);
  g_assert_true (g_subprocess_wait (collector, NULL, NULL));
  g_assert_false (g_file_test (blob, G_FILE_TEST_EXISTS));
}

/* Threads */

typedef struct
{
  const char   *address;
  GMainContext *context;
  TestService  *service;
  GThread      *thread;
  char         *unique_name;
  gboolean      ready;
  gboolean      quit;
} Worker;

static gboolean
worker_stop (gpointer user_data)
{
  Worker *w = user_data;

  vmstate_service_unexport (VMSTATE_SERVICE (w->service));
  w->quit = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
worker_main (gpointer user_data)
{
  Worker *w = user_data;
  g_autoptr(GDBusConnection) c = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (w->context);
  c = test_bus_connect (w->address);
  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (w->service), c, &error));
  g_assert_no_error (error);
  w->unique_name = g_strdup (g_dbus_connection_get_unique_name (c));
  g_atomic_int_set (&w->ready, TRUE);
  g_main_context_wakeup (NULL);

  while (!w->quit)
    g_main_context_iteration (w->context, TRUE);
  g_dbus_connection_close_sync (c, NULL, NULL);
  g_main_context_pop_thread_default (w->context);
  return NULL;
}

static GMutex loaded_lock;
static GCond loaded_cond;

/* In the worker thread, after the Load's reply went out */
static void
on_loaded_thread (VmstateService *service, gpointer user_data)
{
  g_mutex_lock (&loaded_lock);
  TEST_SERVICE (service)->loaded_thread = g_thread_self ();
  g_cond_broadcast (&loaded_cond);
  g_mutex_unlock (&loaded_lock);
}

static void
test_thread_context (ServiceBus *f, gconstpointer data)
{
  Worker w = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  w.address = g_test_dbus_get_bus_address (f->bus);
  w.context = g_main_context_new ();
  w.service = g_object_new (TEST_TYPE_SERVICE, "id", "worker", NULL);
  g_signal_connect (w.service, "loaded", G_CALLBACK (on_loaded_thread), NULL);
  w.thread = g_thread_new ("vmstate-worker", worker_main, &w);
  while (!g_atomic_int_get (&w.ready))
    g_main_context_iteration (NULL, TRUE);

  /* the main thread's context runs the client; the worker's the service */
  reply = service_bus_call (f, w.unique_name, "/org/qemu/VMState1", "org.qemu.VMState1", "Save", NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  reply = service_bus_call (f, w.unique_name, "/org/qemu/VMState1", "org.qemu.VMState1", "Load",
                g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "abc", 3, 1)),
                &error);
  g_assert_no_error (error);
  g_assert_true (w.service->save_thread == w.thread);
  g_assert_cmpuint (w.service->n_load, ==, 1);
  /* ::loaded comes right after the reply, which we may have seen first */
  g_mutex_lock (&loaded_lock);
  while (w.service->loaded_thread == NULL)
    g_assert_true (g_cond_wait_until (&loaded_cond, &loaded_lock,
                                      g_get_monotonic_time () + 20 * G_TIME_SPAN_SECOND));
  g_mutex_unlock (&loaded_lock);
  g_assert_true (w.service->loaded_thread == w.thread);

  g_main_context_invoke (w.context, worker_stop, &w);
  g_thread_join (w.thread);
  g_object_unref (w.service);
  g_main_context_unref (w.context);
  g_free (w.unique_name);
}

static void
test_load_false (ServiceBus *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GBytes) in = g_bytes_new_static ("x", 1);

  f->service->mode = TEST_SERVICE_NULL_NO_ERROR;
  reply = service_bus_call_helper (f, "Load",
                       g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "x", 1, 1)),
                       &error);
  g_assert_null (reply);
  g_test_message ("Load: %s", error->message);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED);
  g_assert_nonnull (strstr (error->message, "'svc'"));
  g_assert_nonnull (strstr (error->message, g_dbus_connection_get_unique_name (f->server)));
  g_assert_nonnull (strstr (error->message, "load"));
  g_assert_nonnull (strstr (error->message, "without setting an error"));
  g_clear_error (&error);

  /* the C entry point follows the GError rule too */
  g_assert_false (vmstate_service_load (VMSTATE_SERVICE (f->service), in, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED);
}

static void
test_not_implemented (void)
{
  /* The base class answers with NOT_SUPPORTED, not a crash. */
  g_autoptr(VmstateService) s = g_object_new (VMSTATE_TYPE_SERVICE, "id", "bare", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = vmstate_service_save (s, &error);
  g_autoptr(GBytes) in = g_bytes_new_static ("x", 1);

  g_assert_null (state);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_assert_false (vmstate_service_load (s, in, &error));
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_SUPPORTED);
  g_assert_cmpuint (vmstate_service_get_max_state_size (s), ==, 1048576);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, ServiceBus, NULL, service_bus_setup, func, service_bus_teardown)

  ADD ("/service/export", test_export);
  ADD ("/service/queued", test_queued);
  g_test_add_func ("/service/invalid-id", test_invalid_id);
  ADD ("/service/save", test_save);
  ADD ("/service/save/empty", test_save_empty);
  ADD ("/service/save/async", test_save_async);
  ADD ("/service/save/error", test_save_error);
  ADD ("/service/save/null-without-error", test_save_null);
  ADD ("/service/save/too-large", test_save_too_large);
  ADD ("/service/load", test_load);
  ADD ("/service/load/error", test_load_error);
  ADD ("/service/load/too-large", test_load_too_large);
  ADD ("/service/load/wrong-signature", test_load_wrong_signature);
  ADD ("/service/load/false-without-error", test_load_false);
  ADD ("/service/lifetime/export-keeps-alive", test_lifetime_export);
  ADD ("/service/lifetime/connection-closed", test_lifetime_connection_closed);
  ADD ("/service/export/async", test_export_async);
  ADD ("/service/export/cancelled", test_export_cancelled);
  ADD ("/service/export/already-owner", test_export_already_owner);
  ADD ("/service/cancel/unexport", test_cancel_on_unexport);
  ADD ("/service/cancel/caller-killed", test_cancel_caller_killed);
  ADD ("/service/thread-context", test_thread_context);
  g_test_add_func ("/service/not-implemented", test_not_implemented);

  return g_test_run ();
}
