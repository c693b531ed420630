/* test-access.c: who may call a helper's Save and Load
 *
 * A helper answers Save and Load only from its own uid and root by
 * default, or from the uids of its allowed-uids. Checked with a second
 * real uid: `gdbus call` run as nobody (65534) on a private dbus-daemon
 * that lets every uid connect. Also checked on a peer-to-peer connection,
 * where the uid comes from the socket's credentials.
 *
 * The test must run as root (CI does) to switch to another uid.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <grp.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "faults-bus.h"

#define NOBODY 65534
#define ALLOW_EVERY_UID "<allow user=\"*\"/>"

static void
become_nobody (gpointer user_data)
{
  /* in the child, between fork and exec */
  if (setgroups (0, NULL) != 0 || setgid (NOBODY) != 0 || setuid (NOBODY) != 0)
    _exit (125);
}

/* Runs `gdbus call` as nobody; returns its exit status. */
static int
gdbus_call_as_nobody (FaultsBus   *bus,
                      const char  *dest,
                      const char  *method,
                      const char  *arg1,
                      const char  *arg2,
                      char       **out,
                      char       **err)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  const char *argv[] = { "gdbus", "call", "--address", bus->address, "--dest", dest,
                         "--object-path", "/org/qemu/VMState1", "--method", method,
                         arg1, arg2, NULL };

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_set_child_setup (launcher, become_nobody, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  /* iterate this thread's context meanwhile: the helper may be an
   * in-process service */
  g_subprocess_communicate_utf8_async (process, NULL, NULL, test_store_result, &result);
  g_subprocess_communicate_utf8_finish (process, test_wait_result (&result), out, err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), !=, 125);
  g_test_message ("gdbus call %s as nobody: exit %d, out '%s', err '%s'", method,
                  g_subprocess_get_exit_status (process), *out, *err);
  return g_subprocess_get_exit_status (process);
}

static void
require_root (void)
{
  /* CI runs as root; elsewhere this test cannot switch uids. It fails
   * rather than skips, so that a CI that lost root does not pass. */
  if (geteuid () != 0)
    g_error ("test-access must run as root, to run a client as uid %d", NOBODY);
}

static void
test_default_denies_other_uid (void)
{
  g_autoptr(FaultsBus) bus = faults_bus_new (ALLOW_EVERY_UID, NULL);
  g_autoptr(TestHelper) helper = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "fw", "--report", NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GBytes) state = test_make_state (7, 9);
  g_autoptr(GBytes) bytes = test_blob_of ("fw", g_bytes_ref (state), NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;

  require_root ();

  /* nobody may read the Id: that is how helpers are found */
  g_assert_cmpint (gdbus_call_as_nobody (bus, helper->unique_name,
                                         "org.freedesktop.DBus.Properties.Get",
                                         "org.qemu.VMState1", "Id", &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "'fw'"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* ...but not call Save or Load */
  g_assert_cmpint (gdbus_call_as_nobody (bus, helper->unique_name, "org.qemu.VMState1.Save",
                                         NULL, NULL, &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "org.freedesktop.DBus.Error.AccessDenied"));
  g_assert_nonnull (strstr (err, "uid 65534 is not allowed"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (gdbus_call_as_nobody (bus, helper->unique_name, "org.qemu.VMState1.Load",
                                         "@ay [1, 2, 3]", NULL, &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "org.freedesktop.DBus.Error.AccessDenied"));

  /* root may; and the first vfunc call the helper reports is root's
   * Load: the refused calls never reached a vfunc. */
  g_assert_true (vmstate_collector_load_sync (collector, bytes, NULL, &error));
  g_assert_no_error (error);
  test_helper_expect_state_line (helper, "LOAD fw", state);
}

static void
test_allowed_uids (void)
{
  g_autoptr(FaultsBus) bus = faults_bus_new (ALLOW_EVERY_UID, NULL);
  g_autoptr(TestHelper) helper = test_helper_spawn (FAULTS_HELPER_ON (bus), "--id", "slirp",
                                                    "--state-size", "4",
                                                    "--allow-uid", G_STRINGIFY (NOBODY), NULL);
  g_autoptr(VmstateCollector) collector = faults_collector_new (bus);
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;

  require_root ();

  /* nobody is now allowed... */
  g_assert_cmpint (gdbus_call_as_nobody (bus, helper->unique_name, "org.qemu.VMState1.Save",
                                         NULL, NULL, &out, &err), ==, 0);
  g_assert_true (g_str_has_prefix (out, "("));

  /* ...and the list replaced the default: root is not */
  blob = vmstate_collector_save_sync (collector,
                                      NULL, &error);
  g_assert_null (blob);
  g_test_message ("root's save: %s", error->message);
  g_assert_error (error, VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED);
  g_assert_nonnull (strstr (error->message, "AccessDenied"));
  g_assert_nonnull (strstr (error->message, "'slirp'"));
}

/* Peer to peer */

#define COUNTING_TYPE_SERVICE (counting_service_get_type ())
G_DECLARE_FINAL_TYPE (CountingService, counting_service, COUNTING, SERVICE, VmstateService)

struct _CountingService
{
  VmstateService parent_instance;
  guint n_saves;
};

G_DEFINE_FINAL_TYPE (CountingService, counting_service, VMSTATE_TYPE_SERVICE)

static GBytes *
counting_service_save (VmstateService *service, GError **error)
{
  COUNTING_SERVICE (service)->n_saves++;
  return g_bytes_new_static ("p2p", 3);
}

static void
counting_service_class_init (CountingServiceClass *klass)
{
  VMSTATE_SERVICE_CLASS (klass)->save = counting_service_save;
}

static void
counting_service_init (CountingService *self)
{
}

static void
on_connection (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  *(GDBusConnection **) user_data = g_dbus_connection_new_finish (result, &error);
  g_assert_no_error (error);
}

/* Save of the service at @dest (NULL on a peer-to-peer connection) */
static GVariant *
call_save (GDBusConnection *client, const char *dest, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  g_dbus_connection_call (client, dest, "/org/qemu/VMState1", "org.qemu.VMState1", "Save",
                          NULL, G_VARIANT_TYPE ("(ay)"), G_DBUS_CALL_FLAGS_NONE, 10000, NULL,
                          test_store_result, &result);
  return g_dbus_connection_call_finish (client, test_wait_result (&result), error);
}

static GSocketConnection *
stream_for_fd (int fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return g_socket_connection_factory_create_connection (socket);
}

static void
test_peer_to_peer (void)
{
  g_autoptr(GSocketConnection) server_stream = NULL;
  g_autoptr(GSocketConnection) client_stream = NULL;
  g_autoptr(GDBusConnection) server = NULL;
  g_autoptr(GDBusConnection) client = NULL;
  g_autoptr(CountingService) service = g_object_new (COUNTING_TYPE_SERVICE, "id", "p2p", NULL);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *guid = g_dbus_generate_guid ();
  const guint32 someone_else = 12345;
  const guint32 *uids;
  gsize n_uids;
  int fds[2];

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  server_stream = stream_for_fd (fds[0]);
  client_stream = stream_for_fd (fds[1]);
  g_dbus_connection_new (G_IO_STREAM (server_stream), guid,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER, NULL, NULL,
                         on_connection, &server);
  g_dbus_connection_new (G_IO_STREAM (client_stream), NULL,
                         G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT, NULL, NULL,
                         on_connection, &client);
  while (server == NULL || client == NULL)
    g_main_context_iteration (NULL, TRUE);

  /* no bus: only the object is exported */
  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (service), server, &error));
  g_assert_no_error (error);

  /* the default: this process's own uid (and root) */
  uids = g_variant_get_fixed_array (vmstate_service_get_allowed_uids (VMSTATE_SERVICE (service)),
                                    &n_uids, sizeof (guint32));
  g_assert_cmpuint (n_uids, >=, 1);
  g_assert_cmpuint (uids[0], ==, geteuid ());
  reply = call_save (client, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (service->n_saves, ==, 1);
  g_clear_pointer (&reply, g_variant_unref);

  /* someone else only: refused, and the vfunc is not called */
  vmstate_service_set_allowed_uids (VMSTATE_SERVICE (service),
                                    g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32,
                                                               &someone_else, 1, sizeof (guint32)));
  reply = call_save (client, NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED);
  g_test_message ("refused: %s", error->message);
  g_assert_cmpuint (service->n_saves, ==, 1);
  g_clear_error (&error);

  /* the property, as bindings see it */
  {
    g_autoptr(GVariant) value = NULL;

    g_object_get (service, "allowed-uids", &value, NULL);
    g_assert_cmpstr (g_variant_get_type_string (value), ==, "au");
    g_assert_cmpuint (g_variant_n_children (value), ==, 1);
    g_object_set (service, "allowed-uids", NULL, NULL);  /* back to the default */
  }
  reply = call_save (client, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (service->n_saves, ==, 2);

  vmstate_service_unexport (VMSTATE_SERVICE (service));
  g_dbus_connection_close_sync (client, NULL, NULL);
}

/* A unique name that comes back on another bus */

static void
test_reused_unique_name (void)
{
  g_autoptr(FaultsBus) bus_a = faults_bus_new (ALLOW_EVERY_UID, NULL);
  g_autoptr(FaultsBus) bus_b = faults_bus_new (ALLOW_EVERY_UID, NULL);
  g_autoptr(CountingService) service = g_object_new (COUNTING_TYPE_SERVICE, "id", "fw", NULL);
  g_autoptr(GDBusConnection) service_a = NULL;
  g_autoptr(GDBusConnection) root_a = NULL;
  g_autoptr(GDBusConnection) service_b = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL, *refusal = NULL;

  require_root ();

  /* 1. exported on bus A; root calls Save as the bus's second peer */
  service_a = test_bus_connect (bus_a->address);
  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (service), service_a, &error));
  g_assert_no_error (error);
  root_a = test_bus_connect (bus_a->address);
  reply = call_save (root_a, g_dbus_connection_get_unique_name (service_a), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (service->n_saves, ==, 1);

  /* 2. re-exported on bus B, where the service is again the first peer */
  vmstate_service_unexport (VMSTATE_SERVICE (service));
  service_b = test_bus_connect (bus_b->address);
  g_assert_cmpstr (g_dbus_connection_get_unique_name (service_b), ==,
                   g_dbus_connection_get_unique_name (service_a));
  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (service), service_b, &error));
  g_assert_no_error (error);

  /* 3. nobody, the second peer on bus B, has root's unique name from
   * bus A: refused, and the vfunc is not called */
  g_assert_cmpint (gdbus_call_as_nobody (bus_b, g_dbus_connection_get_unique_name (service_b),
                                         "org.qemu.VMState1.Save", NULL, NULL, &out, &err), !=, 0);
  g_assert_nonnull (strstr (err, "org.freedesktop.DBus.Error.AccessDenied"));
  refusal = g_strdup_printf ("from %s: its uid 65534 is not allowed",
                             g_dbus_connection_get_unique_name (root_a));
  g_assert_nonnull (strstr (err, refusal));
  g_assert_cmpuint (service->n_saves, ==, 1);

  vmstate_service_unexport (VMSTATE_SERVICE (service));
  g_dbus_connection_close_sync (root_a, NULL, NULL);
  g_dbus_connection_close_sync (service_a, NULL, NULL);
  g_dbus_connection_close_sync (service_b, NULL, NULL);
}

/* Drops the bus daemon's answer to the service's GetConnectionUnixUser,
 * so that the caller's uid stays unknown: runs in GDBus's worker thread. */
typedef struct
{
  gint    asked;      /* the question went out */
  guint32 serial;     /* its serial */
  gint    dropped;    /* its answer came back and was dropped */
} UidQuestion;

static GDBusMessage *
drop_uid_answer (GDBusConnection *connection,
                 GDBusMessage    *message,
                 gboolean         incoming,
                 gpointer         user_data)
{
  UidQuestion *question = user_data;

  if (!incoming && g_strcmp0 (g_dbus_message_get_member (message), "GetConnectionUnixUser") == 0)
    {
      question->serial = g_dbus_message_get_serial (message);
      g_atomic_int_set (&question->asked, 1);
    }
  else if (incoming && g_atomic_int_get (&question->asked) &&
           g_dbus_message_get_reply_serial (message) == question->serial)
    {
      g_atomic_int_set (&question->dropped, 1);
      g_main_context_wakeup (NULL);
      g_object_unref (message);
      return NULL;
    }
  return message;
}

/* A call still waiting for its caller's uid when the service is
 * unexported is answered "unexported" at once (not when the caller's
 * timeout runs out), and never reaches the vfunc. */
static void
test_unexport_while_asking_uid (void)
{
  g_autoptr(FaultsBus) bus = faults_bus_new (NULL, NULL);
  g_autoptr(CountingService) service = g_object_new (COUNTING_TYPE_SERVICE, "id", "fw", NULL);
  g_autoptr(GDBusConnection) server = test_bus_connect (bus->address);
  g_autoptr(GDBusConnection) client = test_bus_connect (bus->address);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  UidQuestion question = { 0 };
  guint filter_id;
  gint64 start;

  filter_id = g_dbus_connection_add_filter (server, drop_uid_answer, &question, NULL);
  g_assert_true (vmstate_service_export (VMSTATE_SERVICE (service), server, &error));
  g_assert_no_error (error);
  g_dbus_connection_call (client, g_dbus_connection_get_unique_name (server), "/org/qemu/VMState1",
                          "org.qemu.VMState1", "Save", NULL, G_VARIANT_TYPE ("(ay)"),
                          G_DBUS_CALL_FLAGS_NONE, 30000, NULL, test_store_result, &result);
  while (!g_atomic_int_get (&question.dropped))
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (result);

  start = g_get_monotonic_time ();
  vmstate_service_unexport (VMSTATE_SERVICE (service));
  reply = g_dbus_connection_call_finish (client, test_wait_result (&result), &error);
  g_assert_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT);
  test_assert_message_has (error, "helper 'fw' was unexported before it answered Save", NULL);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);
  g_assert_cmpuint (service->n_saves, ==, 0);

  g_dbus_connection_remove_filter (server, filter_id);
  g_dbus_connection_close_sync (client, NULL, NULL);
  g_dbus_connection_close_sync (server, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  signal (SIGPIPE, SIG_IGN);

  g_test_add_func ("/access/default-denies-other-uid", test_default_denies_other_uid);
  g_test_add_func ("/access/allowed-uids", test_allowed_uids);
  g_test_add_func ("/access/peer-to-peer", test_peer_to_peer);
  g_test_add_func ("/access/reused-unique-name", test_reused_unique_name);
  g_test_add_func ("/access/unexport-while-asking-uid", test_unexport_while_asking_uid);
  return g_test_run ();
}
