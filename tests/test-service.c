/* test-service.c: VmstateService in-process, called over a real private
 * dbus-daemon (GTestDBus) from a second connection
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <string.h>

#include "vmstate-test-util.h"

/* A service whose behaviour each test sets. */
#define TEST_TYPE_SERVICE (test_service_get_type ())
G_DECLARE_FINAL_TYPE (TestService, test_service, TEST, SERVICE, VmstateService)

typedef enum { MODE_OK, MODE_ERROR, MODE_NULL_NO_ERROR, MODE_ASYNC, MODE_WAIT } Mode;

struct _TestService
{
  VmstateService parent_instance;
  Mode           mode;
  GBytes        *state;
  guint          n_save;
  guint          n_load;
  GBytes        *loaded;
  /* MODE_WAIT: a Save is waiting on its cancellable; it was cancelled */
  gboolean       waiting;
  gboolean       cancelled;
  /* the threads the vfuncs and ::loaded ran in */
  GThread       *save_thread;
  GThread       *loaded_thread;
};

G_DEFINE_FINAL_TYPE (TestService, test_service, VMSTATE_TYPE_SERVICE)

static GBytes *
test_service_save (VmstateService *service, GError **error)
{
  TestService *self = TEST_SERVICE (service);

  self->n_save++;
  self->save_thread = g_thread_self ();
  switch (self->mode)
    {
    case MODE_ERROR:
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "no access to the table");
      return NULL;
    case MODE_NULL_NO_ERROR:
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
  if (self->mode == MODE_ERROR)
    {
      g_set_error_literal (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB, "version 3 unknown");
      return FALSE;
    }
  if (self->mode == MODE_NULL_NO_ERROR)
    return FALSE;
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

  if (self->mode == MODE_WAIT)
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
  if (self->mode != MODE_ASYNC)
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

  if (self->mode != MODE_ASYNC && self->mode != MODE_WAIT)
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

typedef struct
{
  GTestDBus       *bus;
  GDBusConnection *server;
  GDBusConnection *client;
  TestService     *service;
} Fixture;

static GDBusConnection *
connect_bus (Fixture *f)
{
  return test_bus_connect (g_test_dbus_get_bus_address (f->bus));
}

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (f->bus);
  f->server = connect_bus (f);
  f->client = connect_bus (f);
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

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  /* an exported service keeps itself alive: unexport is what ends it */
  g_object_add_weak_pointer (G_OBJECT (f->service), (gpointer *) &f->service);
  vmstate_service_unexport (VMSTATE_SERVICE (f->service));
  g_object_unref (f->service);
  /* a call cancelled by unexport may still be finishing */
  if (f->service != NULL)
    {
      guint dog = g_timeout_add_seconds (20, watchdog, (gpointer) "releasing the service");

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

static void
on_reply (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
}

/* A call from the client connection, iterating the main context that
 * dispatches the in-process service. */
static GVariant *
call (Fixture *f, const char *dest, const char *path, const char *iface,
      const char *method, GVariant *params, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_connection_call (f->client, dest, path, iface, method, params, NULL,
                          G_DBUS_CALL_FLAGS_NONE, 10000, NULL, on_reply, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return g_dbus_connection_call_finish (f->client, result, error);
}

static GVariant *
call_helper (Fixture *f, const char *method, GVariant *params, GError **error)
{
  return call (f, g_dbus_connection_get_unique_name (f->server), "/org/qemu/VMState1",
               "org.qemu.VMState1", method, params, error);
}

static char **
queued_owners (Fixture *f)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call (f, "org.freedesktop.DBus", "/org/freedesktop/DBus",
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
is_queued (Fixture *f, GDBusConnection *c)
{
  g_auto(GStrv) owners = NULL;

  bus_roundtrip (c);
  owners = queued_owners (f);
  return g_strv_contains ((const char * const *) owners, g_dbus_connection_get_unique_name (c));
}

static void
test_export (Fixture *f, gconstpointer data)
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
  all = call (f, g_dbus_connection_get_unique_name (f->server), "/org/qemu/VMState1",
              "org.freedesktop.DBus.Properties", "GetAll",
              g_variant_new ("(s)", "org.qemu.VMState1"), &error);
  g_assert_no_error (error);
  {
    g_autoptr(GVariant) props = g_variant_get_child_value (all, 0);
    g_assert_true (g_variant_lookup (props, "Id", "&s", &id));
    g_assert_cmpstr (id, ==, "svc");
  }

  xml = call (f, g_dbus_connection_get_unique_name (f->server), "/org/qemu/VMState1",
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
test_queued (Fixture *f, gconstpointer data)
{
  /* A second helper on another connection queues for the name. */
  g_autoptr(GDBusConnection) c2 = connect_bus (f);
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
test_save (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call_helper (f, "Save", NULL, &error);
  g_autoptr(GVariant) bytes = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (g_variant_get_type_string (reply), ==, "(ay)");
  bytes = g_variant_get_child_value (reply, 0);
  g_assert_cmpmem (g_variant_get_data (bytes), g_variant_get_size (bytes), "state!", 6);
  g_assert_cmpuint (f->service->n_save, ==, 1);
}

static void
test_save_empty (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) bytes = NULL;

  g_bytes_unref (f->service->state);
  f->service->state = g_bytes_new (NULL, 0);
  reply = call_helper (f, "Save", NULL, &error);
  g_assert_no_error (error);
  bytes = g_variant_get_child_value (reply, 0);
  g_assert_cmpuint (g_variant_get_size (bytes), ==, 0);
}

static void
test_save_async (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  f->service->mode = MODE_ASYNC;
  reply = call_helper (f, "Save", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->service->n_save, ==, 1);
}

static void
test_save_error (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  f->service->mode = MODE_ERROR;
  reply = call_helper (f, "Save", NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_assert_nonnull (strstr (error->message, "no access to the table"));
}

static void
test_save_null (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  f->service->mode = MODE_NULL_NO_ERROR;
  reply = call_helper (f, "Save", NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED);
  g_assert_nonnull (strstr (error->message, "without setting an error"));
  g_assert_nonnull (strstr (error->message, "'svc'"));
  g_assert_nonnull (strstr (error->message, g_dbus_connection_get_unique_name (f->server)));
}

static void
test_save_too_large (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  vmstate_service_set_max_state_size (VMSTATE_SERVICE (f->service), 5);
  reply = call_helper (f, "Save", NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "'svc'"));
  /* which limit, and how to raise it */
  g_assert_nonnull (strstr (error->message, "max-state-size of 5 bytes"));
  g_assert_nonnull (strstr (error->message, "vmstate_service_set_max_state_size()"));
}

static void
on_loaded (VmstateService *service, gpointer user_data)
{
  guint *n = user_data;
  (*n)++;
}

static void
test_load (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint n_loaded = 0;

  g_signal_connect (f->service, "loaded", G_CALLBACK (on_loaded), &n_loaded);
  reply = call_helper (f, "Load",
                       g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "abc", 3, 1)),
                       &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->service->n_load, ==, 1);
  g_assert_cmpmem (g_bytes_get_data (f->service->loaded, NULL), g_bytes_get_size (f->service->loaded), "abc", 3);
  g_assert_cmpuint (n_loaded, ==, 1);

  /* an empty state is legal */
  g_clear_pointer (&reply, g_variant_unref);
  reply = call_helper (f, "Load",
                       g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, NULL, 0, 1)),
                       &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (f->service->loaded), ==, 0);
  g_assert_cmpuint (n_loaded, ==, 2);
}

static void
test_load_error (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint n_loaded = 0;

  g_signal_connect (f->service, "loaded", G_CALLBACK (on_loaded), &n_loaded);
  f->service->mode = MODE_ERROR;
  reply = call_helper (f, "Load",
                       g_variant_new ("(@ay)", g_variant_new_fixed_array (G_VARIANT_TYPE_BYTE, "abc", 3, 1)),
                       &error);
  g_assert_null (reply);
  /* our own codes survive the bus */
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB);
  g_assert_nonnull (strstr (error->message, "version 3 unknown"));
  g_assert_cmpuint (n_loaded, ==, 0);
}

static void
test_load_too_large (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree guint8 *big = g_malloc0 (1048577);

  reply = call_helper (f, "Load",
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
test_load_wrong_signature (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = call_helper (f, "Load", g_variant_new ("(s)", "abc"), &error);

  g_assert_null (reply);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_INVALID_ARGS);
  g_assert_cmpuint (f->service->n_load, ==, 0);
}

/* Lifetime */

static void
test_lifetime_export (Fixture *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = connect_bus (f);
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
  reply = call (f, g_dbus_connection_get_unique_name (c), "/org/qemu/VMState1",
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
test_lifetime_connection_closed (Fixture *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = connect_bus (f);
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

static void
on_exported (GObject *source, GAsyncResult *result, gpointer user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
export_async_wait (VmstateService *service, GDBusConnection *c,
                   GCancellable *cancellable, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  vmstate_service_export_async (service, c, cancellable, on_exported, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  return vmstate_service_export_finish (service, result, error);
}

static void
test_export_async (Fixture *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = connect_bus (f);
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
test_export_cancelled (Fixture *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = connect_bus (f);
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
test_export_already_owner (Fixture *f, gconstpointer data)
{
  g_autoptr(GDBusConnection) c = connect_bus (f);
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
test_cancel_on_unexport (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->service->mode = MODE_WAIT;
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
test_cancel_caller_killed (Fixture *f, gconstpointer data)
{
  g_autoptr(GSubprocess) collector = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tool = g_build_filename (g_getenv ("VMSTATE_BUILD_ROOT"), "tools", "vmstate", NULL);
  g_autofree char *blob = g_build_filename (g_get_tmp_dir (), "vmstate-test-killed.blob", NULL);
  guint dog;

  /* a real collector process, killed while the helper's Save waits */
  f->service->mode = MODE_WAIT;
  collector = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, tool, "save", "--quiet",
                                "--address", g_test_dbus_get_bus_address (f->bus), "--output", blob, NULL);
  g_assert_no_error (error);
  dog = g_timeout_add_seconds (20, watchdog, (gpointer) "the collector's Save");
  while (!f->service->waiting)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (dog);
  g_assert_false (f->service->cancelled);

  g_subprocess_force_exit (collector);
  dog = g_timeout_add_seconds (20, watchdog, (gpointer) "cancelling the Save of a dead collector");
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
test_thread_context (Fixture *f, gconstpointer data)
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
  reply = call (f, w.unique_name, "/org/qemu/VMState1", "org.qemu.VMState1", "Save", NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, w.unique_name, "/org/qemu/VMState1", "org.qemu.VMState1", "Load",
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
test_load_false (Fixture *f, gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GBytes) in = g_bytes_new_static ("x", 1);

  f->service->mode = MODE_NULL_NO_ERROR;
  reply = call_helper (f, "Load",
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
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

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
