/* counter-helper.c: a libvmstate helper whose state is a counter
 *
 * Usage: counter-helper --dbus-address=ADDRESS [--dbus-id=ID] [--count=COUNT]
 *
 * Joins the VM's private bus at ADDRESS as a helper named ID (default
 * "counter") whose state is COUNT (default 0) as decimal text, prints
 * "READY", and prints "LOADED <count>" whenever a migration restores its
 * counter. vmstate_service_run() gives it libvirt's command line (see
 * --help); it exits on SIGINT, SIGTERM, or when the bus goes away.
 *
 * Build: cc counter-helper.c $(pkg-config --cflags --libs libvmstate-1.0)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

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

static void
on_ready (VmstateService *service)
{
  printf ("READY\n");
}

int
main (int argc, char **argv)
{
  g_autoptr(CounterService) service = g_object_new (COUNTER_TYPE_SERVICE, "id", "counter", NULL);
  const GOptionEntry entries[] = {
    { "count", 0, 0, G_OPTION_ARG_INT64, &service->count, "The counter's start", "COUNT" },
    G_OPTION_ENTRY_NULL
  };
  GOptionGroup *group = g_option_group_new ("counter", "Counter options", "Show counter options", NULL, NULL);

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_group_add_entries (group, entries);
  vmstate_service_add_option_group (VMSTATE_SERVICE (service), group);
  g_signal_connect (service, "ready", G_CALLBACK (on_ready), NULL);
  /* parses the command line, joins the bus, serves until SIGTERM */
  return vmstate_service_run (VMSTATE_SERVICE (service), argc, argv);
}
