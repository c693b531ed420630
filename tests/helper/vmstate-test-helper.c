/* vmstate-test-helper.c: the helper program of the tests, the fault
 * tests, the soak and the benchmark
 *
 * A VmstateService with a deterministic state (../vmstate-test-pattern.h)
 * and switches for every way a helper can misbehave, plus a "raw" mode
 * that speaks the protocol by hand so it can break the contract (bad Ids,
 * wrong reply types).
 *
 * One process can hold many helpers (--count N): each has its own
 * connection to the bus and its own service, so it is a separate peer for
 * the bus and the collector, as separate processes would be. Helper i has
 * the Id ID (count 1) or ID-NNN, and the state pattern of seed
 * --state-seed + i.
 *
 * It prints "READY <unique-name-of-helper-0> <pid>" once every helper is
 * on the bus, and "LOADED <size> <sha256>" after every successful Load
 * (not with --quiet); with --report, "SAVE <id>" / "LOAD <id> <size>
 * <sha256>" each time a call comes in (before --hang takes effect), so a
 * test knows a helper is in the middle of a call. --report-running prints
 * "RUNNING <n>" as each Save comes in: n counts the Saves this process
 * (all its --count helpers) has taken and not answered yet, this one
 * included, so a test sees how many ran at once. --hang save|load never
 * answers that call. --check-load (the benchmark's) fails a Load whose
 * state differs from the helper's own, so a run checks every byte went
 * through. It exits when its stdin closes, so a test that dies leaves no
 * helper behind, or when its bus connection closes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib-unix.h>
#include <libvmstate/libvmstate.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "../vmstate-test-pattern.h"

static char *opt_address;
static char *opt_id;
static gint64 opt_state_size = 16;
static int opt_state_seed;
static int opt_save_delay_ms;
static char *opt_save_error;
static gboolean opt_save_crash;
static gboolean opt_no_save;
static char *opt_load_error;
static gboolean opt_load_crash;
static gboolean opt_exit_on_id_read;
static int opt_max_state_size = -1;
static char *opt_barrier_dir;
static int opt_barrier_count;
static char *opt_raw_id_type;
static gboolean opt_raw_no_object;
static gboolean opt_raw_wrong_reply;
static int opt_raw_id_len = -1;
static int opt_count = 1;
static char *opt_hang;
static gboolean opt_report;
static gboolean opt_report_running;
static gboolean opt_quiet;
static char **opt_allow_uids;
static gboolean opt_check_load;
static gboolean opt_fit_max_state_size;
static int opt_state_version = -1;
static gboolean opt_compress;

static GOptionEntry entries[] = {
  { "address", 0, 0, G_OPTION_ARG_STRING, &opt_address, "Bus address (default: DBUS_SESSION_BUS_ADDRESS)", "ADDR" },
  { "id", 0, 0, G_OPTION_ARG_STRING, &opt_id, "Helper Id", "ID" },
  { "state-size", 0, 0, G_OPTION_ARG_INT64, &opt_state_size, "Size of the state", "N" },
  { "state-seed", 0, 0, G_OPTION_ARG_INT, &opt_state_seed, "Seed of the state pattern", "S" },
  { "save-delay-ms", 0, 0, G_OPTION_ARG_INT, &opt_save_delay_ms, "Answer Save after this long", "MS" },
  { "save-error", 0, 0, G_OPTION_ARG_STRING, &opt_save_error, "Answer Save with this error", "MSG" },
  { "save-crash", 0, 0, G_OPTION_ARG_NONE, &opt_save_crash, "Die in Save", NULL },
  { "no-save", 0, 0, G_OPTION_ARG_NONE, &opt_no_save, "Do not implement save (the base class answers NotSupported)", NULL },
  { "load-error", 0, 0, G_OPTION_ARG_STRING, &opt_load_error, "Answer Load with this error", "MSG" },
  { "load-crash", 0, 0, G_OPTION_ARG_NONE, &opt_load_crash, "Die in Load", NULL },
  { "exit-on-id-read", 0, 0, G_OPTION_ARG_NONE, &opt_exit_on_id_read, "Leave the bus once the Id was read", NULL },
  { "max-state-size", 0, 0, G_OPTION_ARG_INT, &opt_max_state_size, "The service's max-state-size", "N" },
  { "barrier-dir", 0, 0, G_OPTION_ARG_FILENAME, &opt_barrier_dir, "Save waits until barrier-count helpers are in Save", "DIR" },
  { "barrier-count", 0, 0, G_OPTION_ARG_INT, &opt_barrier_count, "See barrier-dir", "N" },
  { "raw-id-type", 0, 0, G_OPTION_ARG_STRING, &opt_raw_id_type, "Raw mode: Id of this GVariant type (s or i)", "TYPE" },
  { "raw-id-len", 0, 0, G_OPTION_ARG_INT, &opt_raw_id_len, "Raw mode: an Id of N 'x' bytes", "N" },
  { "raw-no-object", 0, 0, G_OPTION_ARG_NONE, &opt_raw_no_object, "Raw mode: own the name, export nothing", NULL },
  { "raw-wrong-reply", 0, 0, G_OPTION_ARG_NONE, &opt_raw_wrong_reply, "Raw mode: answer Save with (s)", NULL },
  { "count", 0, 0, G_OPTION_ARG_INT, &opt_count, "Number of helpers in this process (Ids ID-NNN)", "N" },
  { "hang", 0, 0, G_OPTION_ARG_STRING, &opt_hang, "Never answer this call (save or load)", "CALL" },
  { "report", 0, 0, G_OPTION_ARG_NONE, &opt_report, "Print SAVE/LOAD lines as calls come in", NULL },
  { "report-running", 0, 0, G_OPTION_ARG_NONE, &opt_report_running, "Print RUNNING <n> as a Save comes in: the Saves not answered yet", NULL },
  { "quiet", 0, 0, G_OPTION_ARG_NONE, &opt_quiet, "No LOADED lines", NULL },
  { "allow-uid", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_allow_uids, "Set allowed-uids (repeat)", "UID" },
  { "check-load", 0, 0, G_OPTION_ARG_NONE, &opt_check_load, "Fail a Load whose state differs from the helper's own, keep the state", NULL },
  { "fit-max-state-size", 0, 0, G_OPTION_ARG_NONE, &opt_fit_max_state_size, "max-state-size: the state's size (and envelope), at least 1 MiB", NULL },
  { "state-version", 0, 0, G_OPTION_ARG_INT, &opt_state_version, "Envelopes of this state-version (default: VMSTATE_BENCH_STATE_VERSION)", "N" },
  { "compress", 0, 0, G_OPTION_ARG_NONE, &opt_compress, "Compressed envelopes (default: VMSTATE_BENCH_COMPRESS set)", NULL },
  { NULL }
};

static GMainLoop *loop;


static void
leave_now (void)
{
  fflush (stdout);
  _exit (0);
}

/* The service */

#define TEST_TYPE_SERVICE (test_service_get_type ())
G_DECLARE_FINAL_TYPE (TestService, test_service, TEST, SERVICE, VmstateService)

struct _TestService
{
  VmstateService parent_instance;
  GBytes *state;
  GPtrArray *hung;   /* GTask*, kept so that they are never answered */
};

G_DEFINE_FINAL_TYPE (TestService, test_service, VMSTATE_TYPE_SERVICE)

/* The Saves of this process taken and not answered yet (--report-running) */
static int saves_running;

/* Every Save that is answered is answered here. */
static void
answer_save (GTask      *task,
             const char *error_message)
{
  TestService *self = g_task_get_source_object (task);

  saves_running--;
  if (error_message != NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", error_message);
  else
    g_task_return_pointer (task, g_bytes_ref (self->state), (GDestroyNotify) g_bytes_unref);
}

static gboolean
barrier_reached (void)
{
  g_autoptr(GDir) dir = g_dir_open (opt_barrier_dir, 0, NULL);
  int n = 0;

  while (dir != NULL && g_dir_read_name (dir) != NULL)
    n++;
  return n >= opt_barrier_count;
}

static gboolean
poll_barrier (gpointer user_data)
{
  if (!barrier_reached ())
    return G_SOURCE_CONTINUE;
  answer_save (user_data, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
delayed_save (gpointer user_data)
{
  answer_save (user_data, NULL);
  return G_SOURCE_REMOVE;
}

static void
test_service_save_async (VmstateService      *service,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  TestService *self = TEST_SERVICE (service);
  g_autoptr(GTask) task = NULL;

  if (opt_save_crash)
    leave_now ();

  if (opt_report)
    printf ("SAVE %s\n", vmstate_service_get_id (service));
  if (opt_report_running)
    printf ("RUNNING %d\n", saves_running + 1);
  fflush (stdout);

  if (opt_no_save)
    {
      VMSTATE_SERVICE_CLASS (test_service_parent_class)->save_async (service, cancellable, callback, user_data);
      return;
    }

  task = g_task_new (self, cancellable, callback, user_data);
  saves_running++;
  if (g_strcmp0 (opt_hang, "save") == 0)
    g_ptr_array_add (self->hung, g_steal_pointer (&task));
  else if (opt_save_error != NULL)
    answer_save (task, opt_save_error);
  else if (opt_barrier_dir != NULL)
    {
      g_autofree char *mark = g_build_filename (opt_barrier_dir, vmstate_service_get_id (service), NULL);

      g_file_set_contents (mark, "", 0, NULL);
      g_timeout_add_full (G_PRIORITY_DEFAULT, 5, poll_barrier, g_steal_pointer (&task), g_object_unref);
    }
  else if (opt_save_delay_ms > 0)
    g_timeout_add_full (G_PRIORITY_DEFAULT, opt_save_delay_ms, delayed_save, g_steal_pointer (&task),
                        g_object_unref);
  else
    answer_save (task, NULL);
}

static GBytes *
test_service_save_finish (VmstateService  *service,
                          GAsyncResult    *result,
                          GError         **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_service_load_async (VmstateService      *service,
                         GBytes              *state,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  TestService *self = TEST_SERVICE (service);
  GTask *task = NULL;
  g_autofree char *sum = NULL;

  if (opt_load_crash)
    leave_now ();

  task = g_task_new (self, cancellable, callback, user_data);
  if (opt_report || !opt_quiet)
    sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, state);
  if (opt_report)
    {
      printf ("LOAD %s %" G_GSIZE_FORMAT " %s\n", vmstate_service_get_id (service),
              g_bytes_get_size (state), sum);
      fflush (stdout);
    }

  if (g_strcmp0 (opt_hang, "load") == 0)
    {
      g_ptr_array_add (self->hung, task);
      return;
    }

  if (opt_load_error != NULL)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", opt_load_error);
  else if (opt_check_load && !g_bytes_equal (state, self->state))
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                             "helper '%s' was loaded with %" G_GSIZE_FORMAT " bytes that differ "
                             "from the %" G_GSIZE_FORMAT " bytes it saved",
                             vmstate_service_get_id (service),
                             g_bytes_get_size (state), g_bytes_get_size (self->state));
  else
    {
      g_bytes_unref (self->state);
      self->state = g_bytes_ref (state);
      if (!opt_quiet)
        {
          printf ("LOADED %" G_GSIZE_FORMAT " %s\n", g_bytes_get_size (state), sum);
          fflush (stdout);
        }
      g_task_return_boolean (task, TRUE);
    }
  g_object_unref (task);
}

static gboolean
test_service_load_finish (VmstateService  *service,
                          GAsyncResult    *result,
                          GError         **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_service_finalize (GObject *object)
{
  g_bytes_unref (TEST_SERVICE (object)->state);
  g_ptr_array_unref (TEST_SERVICE (object)->hung);
  G_OBJECT_CLASS (test_service_parent_class)->finalize (object);
}

static void
test_service_class_init (TestServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_service_finalize;
  VMSTATE_SERVICE_CLASS (klass)->save_async = test_service_save_async;
  VMSTATE_SERVICE_CLASS (klass)->save_finish = test_service_save_finish;
  VMSTATE_SERVICE_CLASS (klass)->load_async = test_service_load_async;
  VMSTATE_SERVICE_CLASS (klass)->load_finish = test_service_load_finish;
}

static void
test_service_init (TestService *self)
{
  self->hung = g_ptr_array_new_with_free_func (g_object_unref);
}

/* Raw mode: the protocol by hand, to break it */

static const char raw_xml[] =
  "<node><interface name='org.qemu.VMState1'>"
  "<method name='Save'><arg type='s' direction='out'/></method>"
  "<method name='Load'><arg type='ay' direction='in'/></method>"
  "</interface></node>";

/* At G_PRIORITY_HIGH: before any call that came meanwhile is dispatched
 * (a default-priority idle would wait behind them, and the helper would
 * answer a Save it must not). */
static gboolean
exit_soon (gpointer user_data)
{
  g_dbus_connection_flush_sync (user_data, NULL, NULL);
  leave_now ();
  return G_SOURCE_REMOVE;
}

static void
raw_method_call (GDBusConnection *connection, const char *sender, const char *path,
                 const char *iface, const char *method, GVariant *params,
                 GDBusMethodInvocation *invocation, gpointer user_data)
{
  if (g_str_equal (method, "Save"))
    g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", "not bytes"));
  else
    g_dbus_method_invocation_return_value (invocation, NULL);
}

static GVariant *
raw_get_property (GDBusConnection *connection, const char *sender, const char *path,
                  const char *iface, const char *prop, GError **error, gpointer user_data)
{
  if (opt_exit_on_id_read)
    g_idle_add_full (G_PRIORITY_HIGH, exit_soon, connection, NULL);

  if (g_strcmp0 (opt_raw_id_type, "i") == 0)
    return g_variant_new_int32 (42);
  if (opt_raw_id_len >= 0)
    {
      g_autofree char *id = g_strnfill (opt_raw_id_len, 'x');
      return g_variant_new_string (id);
    }
  return g_variant_new_string (opt_id ? opt_id : "");
}

static const GDBusInterfaceVTable raw_vtable = {
  .method_call = raw_method_call,
  .get_property = raw_get_property,
};

static gboolean
raw_mode (void)
{
  return opt_raw_id_type || opt_raw_no_object || opt_raw_wrong_reply || opt_raw_id_len >= 0;
}

static void
export_raw (GDBusConnection *connection)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  if (!opt_raw_no_object)
    {
      g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (raw_xml, &error);
      GDBusInterfaceInfo *iface;
      GDBusPropertyInfo *id_prop = g_new0 (GDBusPropertyInfo, 1);
      GDBusPropertyInfo **props = g_new0 (GDBusPropertyInfo *, 2);

      g_assert_no_error (error);
      iface = g_dbus_interface_info_ref (node->interfaces[0]);
      id_prop->ref_count = 1;
      id_prop->name = g_strdup ("Id");
      id_prop->signature = g_strdup (g_strcmp0 (opt_raw_id_type, "i") == 0 ? "i" : "s");
      id_prop->flags = G_DBUS_PROPERTY_INFO_FLAGS_READABLE;
      props[0] = id_prop;
      iface->properties = props;
      g_dbus_connection_register_object (connection, "/org/qemu/VMState1", iface,
                                         &raw_vtable, NULL, NULL, &error);
      g_assert_no_error (error);
    }

  reply = g_dbus_connection_call_sync (connection, "org.freedesktop.DBus",
                                       "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                       "RequestName", g_variant_new ("(su)", "org.qemu.VMState1", 0),
                                       NULL, G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
  g_assert_no_error (error);
}

/* --exit-on-id-read on a real service: once the answer to the Id query
 * goes out (the only method return this helper sends before Save), leave
 * the bus before any later call is dispatched. */
static gint id_was_read;

static GDBusMessage *
id_read_filter (GDBusConnection *connection, GDBusMessage *message,
                gboolean incoming, gpointer user_data)
{
  if (!incoming &&
      g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN &&
      g_atomic_int_compare_and_exchange (&id_was_read, FALSE, TRUE))
    g_idle_add_full (G_PRIORITY_HIGH, exit_soon, connection, NULL);
  /* A call that comes after the Id was read is never answered: the
   * helper is leaving, whatever the order its main loop sees things. */
  if (incoming && g_atomic_int_get (&id_was_read) &&
      g_dbus_message_get_message_type (message) == G_DBUS_MESSAGE_TYPE_METHOD_CALL)
    {
      g_object_unref (message);
      return NULL;
    }
  return message;
}

static gboolean
on_stdin (int fd, GIOCondition condition, gpointer user_data)
{
  char buf[64];

  if (read (fd, buf, sizeof buf) > 0)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
on_closed (GDBusConnection *connection, gboolean remote_peer_vanished,
           GError *error, gpointer user_data)
{
  /* the bus is gone: so is this helper */
  g_main_loop_quit (loop);
}

/* Helper @i of this process: its service, exported on @connection. */
static TestService *
export_service (GDBusConnection  *connection,
                int               i,
                GArray           *uids,
                GError          **error)
{
  g_autofree char *id = opt_count == 1 ? g_strdup (opt_id)
                                       : g_strdup_printf ("%s-%03d", opt_id ? opt_id : "helper", i);
  g_autoptr(TestService) service = g_object_new (TEST_TYPE_SERVICE, "id", id, NULL);
  VmstateService *base = VMSTATE_SERVICE (service);

  service->state = vmstate_test_pattern_new (opt_state_size, opt_state_seed + i);
  if (opt_state_version >= 0)
    g_object_set (service, "state-version", (guint) opt_state_version, "compress", opt_compress, NULL);
  if (opt_fit_max_state_size)
    vmstate_service_set_max_state_size (base, MAX (g_bytes_get_size (service->state) +
                                                   (opt_state_version >= 0 ? VMSTATE_ENVELOPE_HEADER_SIZE : 0),
                                                   1024 * 1024));
  if (opt_max_state_size >= 0)
    vmstate_service_set_max_state_size (base, opt_max_state_size);
  if (uids->len > 0)
    vmstate_service_set_allowed_uids (base, g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32,
                                                                       uids->data, uids->len,
                                                                       sizeof (guint32)));
  if (opt_exit_on_id_read)
    g_dbus_connection_add_filter (connection, id_read_filter, NULL, NULL);
  if (!vmstate_service_export (base, connection, error))
    return NULL;
  return g_steal_pointer (&service);
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- the libvmstate test and benchmark helper");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) connections = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) services = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  const char *address;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }

  address = opt_address ? opt_address : g_getenv ("DBUS_SESSION_BUS_ADDRESS");
  if (address == NULL || opt_count < 1 || opt_state_size < 0 || (raw_mode () && opt_count != 1))
    {
      g_printerr ("a bus address is needed, --count >= 1 (1 in raw mode), --state-size >= 0\n");
      return 2;
    }
  /* the benchmark's envelopes (bench/bench-envelope.py) */
  if (opt_state_version < 0 && g_getenv ("VMSTATE_BENCH_STATE_VERSION") != NULL)
    {
      opt_state_version = atoi (g_getenv ("VMSTATE_BENCH_STATE_VERSION"));
      opt_compress = opt_compress || g_getenv ("VMSTATE_BENCH_COMPRESS") != NULL;
    }
  for (guint i = 0; opt_allow_uids != NULL && opt_allow_uids[i] != NULL; i++)
    {
      guint32 uid = strtoul (opt_allow_uids[i], NULL, 10);
      g_array_append_val (uids, uid);
    }

  loop = g_main_loop_new (NULL, FALSE);
  for (int i = 0; i < opt_count; i++)
    {
      GDBusConnection *connection;

      connection = g_dbus_connection_new_for_address_sync (address,
                                                           G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                           G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                           NULL, NULL, &error);
      if (connection == NULL)
        {
          g_printerr ("helper %d cannot connect: %s\n", i, error->message);
          return 1;
        }
      g_signal_connect (connection, "closed", G_CALLBACK (on_closed), NULL);
      g_ptr_array_add (connections, connection);

      if (raw_mode ())
        export_raw (connection);
      else
        {
          TestService *service = export_service (connection, i, uids, &error);

          if (service == NULL)
            {
              g_printerr ("cannot export helper %d: %s\n", i, error->message);
              return 1;
            }
          g_ptr_array_add (services, service);
        }
    }

  g_unix_fd_add (0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
  printf ("READY %s %d\n", g_dbus_connection_get_unique_name (g_ptr_array_index (connections, 0)),
          (int) getpid ());
  fflush (stdout);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  g_strfreev (opt_allow_uids);
  return 0;
}
