/* counter-helper.c: a libvmstate helper whose state is a counter
 *
 * Usage: counter-helper ADDRESS ID [COUNT]
 *
 * Connects to the VM's private bus at ADDRESS, exports a helper named ID
 * whose state is COUNT (default 0) as decimal text, prints "READY", and
 * prints "LOADED <count>" whenever a migration restores its counter. It
 * exits on SIGINT, SIGTERM, or when the bus goes away.
 *
 * Build: cc counter-helper.c $(pkg-config --cflags --libs libvmstate-1.0)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <glib-unix.h>
#include <libvmstate/libvmstate.h>
#include <stdio.h>
#include <string.h>

#define COUNTER_TYPE_SERVICE (counter_service_get_type ())
G_DECLARE_FINAL_TYPE (CounterService, counter_service, COUNTER, SERVICE, VmstateService)

struct _CounterService
{
  VmstateService parent_instance;
  guint64 count;
};

G_DEFINE_TYPE (CounterService, counter_service, VMSTATE_TYPE_SERVICE)

static GBytes *
counter_service_save (VmstateService *service, GError **error)
{
  CounterService *self = COUNTER_SERVICE (service);
  char *text = g_strdup_printf ("%" G_GUINT64_FORMAT, self->count);

  return g_bytes_new_take (text, strlen (text));
}

static gboolean
counter_service_load (VmstateService *service, GBytes *state, GError **error)
{
  CounterService *self = COUNTER_SERVICE (service);
  g_autofree char *text = g_strndup (g_bytes_get_data (state, NULL), g_bytes_get_size (state));

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, &self->count, error))
    return FALSE;
  printf ("LOADED %" G_GUINT64_FORMAT "\n", self->count);
  return TRUE;
}

static void
counter_service_class_init (CounterServiceClass *klass)
{
  VMSTATE_SERVICE_CLASS (klass)->save = counter_service_save;
  VMSTATE_SERVICE_CLASS (klass)->load = counter_service_load;
}

static void
counter_service_init (CounterService *self)
{
}

static gboolean
quit (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(CounterService) service = NULL;
  g_autoptr(GError) error = NULL;

  if (argc < 3)
    {
      fprintf (stderr, "usage: %s ADDRESS ID [COUNT]\n", argv[0]);
      return 2;
    }
  setvbuf (stdout, NULL, _IOLBF, 0);

  connection = g_dbus_connection_new_for_address_sync (argv[1],
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  service = g_object_new (COUNTER_TYPE_SERVICE, "id", argv[2], NULL);
  if (argc > 3)
    service->count = g_ascii_strtoull (argv[3], NULL, 10);
  /* The export takes a reference of its own: the service stays exported
   * until vmstate_service_unexport() or until the connection closes. */
  if (connection == NULL || !vmstate_service_export (VMSTATE_SERVICE (service), connection, &error))
    {
      fprintf (stderr, "counter-helper: %s\n", error->message);
      return 1;
    }
  printf ("READY\n");

  g_unix_signal_add (SIGINT, quit, loop);
  g_unix_signal_add (SIGTERM, quit, loop);
  g_signal_connect_swapped (connection, "closed", G_CALLBACK (g_main_loop_quit), loop);
  g_main_loop_run (loop);
  vmstate_service_unexport (VMSTATE_SERVICE (service));  /* leave the bus */
  return 0;
}
