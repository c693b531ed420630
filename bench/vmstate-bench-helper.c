/* vmstate-bench-helper.c: the helper process of the benchmark
 *
 * A VmstateService whose state is N bytes of a deterministic pattern
 * (tests/vmstate-test-pattern.h, as the test helpers) and whose
 * Save answers after a configurable delay. Load compares the state it is
 * given with its own and fails on a mismatch, so a benchmark run also
 * checks that every byte went through.
 *
 * It prints "READY <unique-name> <pid>" once it owns its place in the
 * queue of org.qemu.VMState1, and exits when its stdin closes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib-unix.h>
#include <libvmstate/libvmstate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "../tests/vmstate-test-pattern.h"

static char *opt_address;
static char *opt_id;
static gint64 opt_state_size = 16;
static int opt_state_seed;
static int opt_save_delay_ms;

static GOptionEntry entries[] = {
  { "address", 0, 0, G_OPTION_ARG_STRING, &opt_address, "Bus address", "ADDR" },
  { "id", 0, 0, G_OPTION_ARG_STRING, &opt_id, "Helper Id", "ID" },
  { "state-size", 0, 0, G_OPTION_ARG_INT64, &opt_state_size, "Size of the state in bytes", "N" },
  { "state-seed", 0, 0, G_OPTION_ARG_INT, &opt_state_seed, "Seed of the state pattern", "S" },
  { "save-delay-ms", 0, 0, G_OPTION_ARG_INT, &opt_save_delay_ms, "Answer Save after this long", "MS" },
  { NULL }
};


#define BENCH_TYPE_SERVICE (bench_service_get_type ())
G_DECLARE_FINAL_TYPE (BenchService, bench_service, BENCH, SERVICE, VmstateService)

struct _BenchService
{
  VmstateService parent_instance;
  GBytes *state;
};

G_DEFINE_FINAL_TYPE (BenchService, bench_service, VMSTATE_TYPE_SERVICE)

static gboolean
delayed_save (gpointer user_data)
{
  GTask *task = user_data;
  BenchService *self = g_task_get_source_object (task);

  g_task_return_pointer (task, g_bytes_ref (self->state), (GDestroyNotify) g_bytes_unref);
  return G_SOURCE_REMOVE;
}

static void
bench_service_save_async (VmstateService      *service,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  BenchService *self = BENCH_SERVICE (service);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  if (opt_save_delay_ms > 0)
    {
      g_timeout_add_full (G_PRIORITY_DEFAULT, opt_save_delay_ms, delayed_save, task, g_object_unref);
      return;
    }
  g_task_return_pointer (task, g_bytes_ref (self->state), (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

static GBytes *
bench_service_save_finish (VmstateService  *service,
                           GAsyncResult    *result,
                           GError         **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static gboolean
bench_service_load (VmstateService  *service,
                    GBytes          *state,
                    GError         **error)
{
  BenchService *self = BENCH_SERVICE (service);

  if (!g_bytes_equal (state, self->state))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "helper '%s' was loaded with %" G_GSIZE_FORMAT " bytes that differ "
                   "from the %" G_GSIZE_FORMAT " bytes it saved", opt_id,
                   g_bytes_get_size (state), g_bytes_get_size (self->state));
      return FALSE;
    }
  return TRUE;
}

static void
bench_service_finalize (GObject *object)
{
  g_bytes_unref (BENCH_SERVICE (object)->state);
  G_OBJECT_CLASS (bench_service_parent_class)->finalize (object);
}

static void
bench_service_class_init (BenchServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = bench_service_finalize;
  VMSTATE_SERVICE_CLASS (klass)->save_async = bench_service_save_async;
  VMSTATE_SERVICE_CLASS (klass)->save_finish = bench_service_save_finish;
  VMSTATE_SERVICE_CLASS (klass)->load = bench_service_load;
}

static void
bench_service_init (BenchService *self)
{
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

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- a libvmstate benchmark helper");
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(BenchService) service = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  if (opt_address == NULL || opt_id == NULL || opt_state_size < 0)
    {
      g_printerr ("--address and --id are required\n");
      return 2;
    }

  connection = g_dbus_connection_new_for_address_sync (opt_address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  if (connection == NULL)
    {
      g_printerr ("cannot connect: %s\n", error->message);
      return 1;
    }

  service = g_object_new (BENCH_TYPE_SERVICE, "id", opt_id, NULL);
  service->state = vmstate_test_pattern_new (opt_state_size, opt_state_seed);
  vmstate_service_set_max_state_size (VMSTATE_SERVICE (service),
                                      MAX (g_bytes_get_size (service->state), 1024 * 1024));
  /* Issue 13: envelopes, for bench/bench-envelope.py */
  if (g_getenv ("VMSTATE_BENCH_STATE_VERSION") != NULL)
    {
      g_object_set (service,
                    "state-version", (guint) atoi (g_getenv ("VMSTATE_BENCH_STATE_VERSION")),
                    "compress", g_getenv ("VMSTATE_BENCH_COMPRESS") != NULL,
                    NULL);
      vmstate_service_set_max_state_size (VMSTATE_SERVICE (service),
                                          MAX (g_bytes_get_size (service->state) + VMSTATE_ENVELOPE_HEADER_SIZE,
                                               1024 * 1024));
    }
  if (!vmstate_service_export (VMSTATE_SERVICE (service), connection, &error))
    {
      g_printerr ("cannot export: %s\n", error->message);
      return 1;
    }

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_fd_add (0, G_IO_IN | G_IO_HUP | G_IO_ERR, on_stdin, NULL);
  printf ("READY %s %d\n", g_dbus_connection_get_unique_name (connection), (int) getpid ());
  fflush (stdout);
  g_main_loop_run (loop);
  g_main_loop_unref (loop);
  return 0;
}
