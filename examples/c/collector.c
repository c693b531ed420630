/* collector.c: save every helper on a VM's bus to a file, or load it back
 *
 * Usage: collector ADDRESS save FILE
 *        collector ADDRESS load FILE
 *        collector ADDRESS list
 *
 * FILE holds the blob in QEMU's dbus-vmstate format.
 *
 * Build: cc collector.c $(pkg-config --cflags --libs libvmstate-1.0)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <libvmstate/libvmstate.h>
#include <stdio.h>

static gboolean
run (const char *address, const char *command, const char *file, GError **error)
{
  g_autoptr(VmstateCollector) collector = NULL;

  collector = vmstate_collector_new_for_address_sync (address, NULL, error);
  if (collector == NULL)
    return FALSE;

  if (g_str_equal (command, "list"))
    {
      g_autoptr(GPtrArray) helpers = vmstate_collector_list_helpers_sync (collector, NULL, error);

      for (guint i = 0; helpers != NULL && i < helpers->len; i++)
        printf ("%s %s\n", vmstate_helper_get_id (helpers->pdata[i]),
                vmstate_helper_get_unique_name (helpers->pdata[i]));
      return helpers != NULL;
    }
  else if (g_str_equal (command, "save") && file != NULL)
    {
      g_autoptr(GBytes) blob = vmstate_collector_save_sync (collector, NULL, error);

      return blob != NULL &&
             g_file_set_contents (file, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), error);
    }
  else if (g_str_equal (command, "load") && file != NULL)
    {
      g_autoptr(GBytes) blob = NULL;
      char *data;
      gsize size;

      if (!g_file_get_contents (file, &data, &size, error))
        return FALSE;
      blob = g_bytes_new_take (data, size);
      return vmstate_collector_load_sync (collector, blob, NULL, error);
    }

  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_FAILED, "unknown command '%s'", command);
  return FALSE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;

  if (argc < 3)
    {
      fprintf (stderr, "usage: %s ADDRESS save|load FILE\n       %s ADDRESS list\n", argv[0], argv[0]);
      return 2;
    }
  if (!run (argv[1], argv[2], argc > 3 ? argv[3] : NULL, &error))
    {
      fprintf (stderr, "collector: %s\n", error->message);
      return 1;
    }
  return 0;
}
