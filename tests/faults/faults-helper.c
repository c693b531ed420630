/* faults-helper.c: helper processes for the fault-injection and soak tests
 *
 * One process can hold many helpers (--count N): each has its own
 * connection to the bus and its own VmstateService, so it is a separate
 * peer for the bus and the collector, as separate processes would be.
 * Helper i has the Id PREFIX (count 1) or PREFIX-NNN, and a state of
 * --state-size bytes made by vmstate-test-pattern.h with seed i.
 *
 * It prints "READY <unique-name-of-helper-0> <pid>" once every helper is
 * on the bus; with --report, "SAVE <id>" / "LOAD <id> <size>" each time a
 * vfunc runs (before --hang takes effect), so a test knows a helper is in
 * the middle of a call. --hang save|load never answers that call. It exits
 * when its stdin closes or when its bus connection closes.
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
static char *opt_id = "helper";
static int opt_count = 1;
static gint64 opt_state_size = 64;
static char *opt_hang;
static gboolean opt_report;
static char **opt_allow_uids;

static GOptionEntry entries[] = {
  { "address", 0, 0, G_OPTION_ARG_STRING, &opt_address, "Bus address", "ADDR" },
  { "id", 0, 0, G_OPTION_ARG_STRING, &opt_id, "Id (prefix, with --count)", "ID" },
  { "count", 0, 0, G_OPTION_ARG_INT, &opt_count, "Number of helpers in this process", "N" },
  { "state-size", 0, 0, G_OPTION_ARG_INT64, &opt_state_size, "Size of each state", "N" },
  { "hang", 0, 0, G_OPTION_ARG_STRING, &opt_hang, "Never answer this call (save or load)", "CALL" },
  { "report", 0, 0, G_OPTION_ARG_NONE, &opt_report, "Print SAVE/LOAD lines", NULL },
  { "allow-uid", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_allow_uids, "Set allowed-uids (repeat)", "UID" },
  { NULL }
};


#define FAULTS_TYPE_SERVICE (faults_service_get_type ())
G_DECLARE_FINAL_TYPE (FaultsService, faults_service, FAULTS, SERVICE, VmstateService)

struct _FaultsService
{
  VmstateService parent_instance;
  GBytes *state;
  GPtrArray *hung;   /* GTask*, kept so that they are never answered */
};

G_DEFINE_FINAL_TYPE (FaultsService, faults_service, VMSTATE_TYPE_SERVICE)

static void
faults_service_save_async (VmstateService *service, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  FaultsService *self = FAULTS_SERVICE (service);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  if (opt_report)
    {
      printf ("SAVE %s\n", vmstate_service_get_id (service));
      fflush (stdout);
    }
  if (g_strcmp0 (opt_hang, "save") == 0)
    {
      g_ptr_array_add (self->hung, task);
      return;
    }
  g_task_return_pointer (task, g_bytes_ref (self->state), (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

static GBytes *
faults_service_save_finish (VmstateService *service, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
faults_service_load_async (VmstateService *service, GBytes *state, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  FaultsService *self = FAULTS_SERVICE (service);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  if (opt_report)
    {
      g_autofree char *sum = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, state);

      printf ("LOAD %s %" G_GSIZE_FORMAT " %s\n", vmstate_service_get_id (service),
              g_bytes_get_size (state), sum);
      fflush (stdout);
    }
  if (g_strcmp0 (opt_hang, "load") == 0)
    {
      g_ptr_array_add (self->hung, task);
      return;
    }
  g_bytes_unref (self->state);
  self->state = g_bytes_ref (state);
  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static gboolean
faults_service_load_finish (VmstateService *service, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
faults_service_finalize (GObject *object)
{
  FaultsService *self = FAULTS_SERVICE (object);

  g_bytes_unref (self->state);
  g_ptr_array_unref (self->hung);
  G_OBJECT_CLASS (faults_service_parent_class)->finalize (object);
}

static void
faults_service_class_init (FaultsServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = faults_service_finalize;
  VMSTATE_SERVICE_CLASS (klass)->save_async = faults_service_save_async;
  VMSTATE_SERVICE_CLASS (klass)->save_finish = faults_service_save_finish;
  VMSTATE_SERVICE_CLASS (klass)->load_async = faults_service_load_async;
  VMSTATE_SERVICE_CLASS (klass)->load_finish = faults_service_load_finish;
}

static void
faults_service_init (FaultsService *self)
{
  self->hung = g_ptr_array_new_with_free_func (g_object_unref);
}

static GMainLoop *loop;

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

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- a libvmstate fault-injection helper");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) connections = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) services = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GArray) uids = g_array_new (FALSE, FALSE, sizeof (guint32));

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) || opt_address == NULL || opt_count < 1)
    {
      g_printerr ("%s\n", error ? error->message : "--address and --count >= 1 are needed");
      return 2;
    }
  for (guint i = 0; opt_allow_uids != NULL && opt_allow_uids[i] != NULL; i++)
    {
      guint32 uid = strtoul (opt_allow_uids[i], NULL, 10);
      g_array_append_val (uids, uid);
    }

  loop = g_main_loop_new (NULL, FALSE);
  for (int i = 0; i < opt_count; i++)
    {
      g_autofree char *id = opt_count == 1 ? g_strdup (opt_id) : g_strdup_printf ("%s-%03d", opt_id, i);
      GDBusConnection *connection;
      FaultsService *service;

      connection = g_dbus_connection_new_for_address_sync (opt_address,
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

      service = g_object_new (FAULTS_TYPE_SERVICE, "id", id,
                              "max-state-size", (guint) MAX (opt_state_size, 1024 * 1024), NULL);
      service->state = vmstate_test_pattern_new (opt_state_size, i);
      if (uids->len > 0)
        vmstate_service_set_allowed_uids (VMSTATE_SERVICE (service),
                                          g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32,
                                                                     uids->data, uids->len,
                                                                     sizeof (guint32)));
      g_ptr_array_add (services, service);
      if (!vmstate_service_export (VMSTATE_SERVICE (service), connection, &error))
        {
          g_printerr ("cannot export %s: %s\n", id, error->message);
          return 1;
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
