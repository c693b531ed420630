/* vmstate-serve.c: vmstate serve, a helper whose state is a file's content
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <glib-unix.h>

#include "vmstate-tool.h"

/* ToolFileService: Save reads the file, Load replaces it atomically. */

#define TOOL_TYPE_FILE_SERVICE (tool_file_service_get_type ())
G_DECLARE_FINAL_TYPE (ToolFileService, tool_file_service, TOOL, FILE_SERVICE, VmstateService)

struct _ToolFileService
{
  VmstateService parent_instance;
  char          *path;
};

G_DEFINE_FINAL_TYPE (ToolFileService, tool_file_service, VMSTATE_TYPE_SERVICE)

static GBytes *
tool_file_service_save (VmstateService  *service,
                        GError         **error)
{
  ToolFileService *self = TOOL_FILE_SERVICE (service);
  g_autoptr(GError) local_error = NULL;
  char *contents;
  gsize length;

  if (!g_file_get_contents (self->path, &contents, &length, &local_error))
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                   "cannot read the state file: %s", local_error->message);
      tool_failure ("serve", "Save failed: %s", local_error->message);
      return NULL;
    }
  g_print ("SAVED %" G_GSIZE_FORMAT "\n", length);
  return g_bytes_new_take (contents, length);
}

static gboolean
tool_file_service_load (VmstateService  *service,
                        GBytes          *state,
                        GError         **error)
{
  ToolFileService *self = TOOL_FILE_SERVICE (service);
  g_autoptr(GError) local_error = NULL;
  g_autofree char *sha256 = NULL;
  gsize size;
  const char *data = g_bytes_get_data (state, &size);

  /* write to a temporary file, fsync, rename over the old one */
  if (!g_file_set_contents_full (self->path, data, size, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, &local_error))
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                   "cannot write the state file: %s", local_error->message);
      tool_failure ("serve", "Load failed: %s", local_error->message);
      return FALSE;
    }
  sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, state);
  g_print ("LOADED %" G_GSIZE_FORMAT " %s\n", size, sha256);
  return TRUE;
}

static void
tool_file_service_finalize (GObject *object)
{
  g_free (TOOL_FILE_SERVICE (object)->path);
  G_OBJECT_CLASS (tool_file_service_parent_class)->finalize (object);
}

static void
tool_file_service_class_init (ToolFileServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = tool_file_service_finalize;
  VMSTATE_SERVICE_CLASS (klass)->save = tool_file_service_save;
  VMSTATE_SERVICE_CLASS (klass)->load = tool_file_service_load;
}

static void
tool_file_service_init (ToolFileService *self)
{
}

/* the command */

static char *opt_address;
static char *opt_id;
static char *opt_state_file;
static char *opt_max_state_size;

static const GOptionEntry serve_entries[] = {
  { "address", 'a', 0, G_OPTION_ARG_STRING, &opt_address,
    "D-Bus address of the VM's private bus (required)", "ADDR" },
  { "id", 0, 0, G_OPTION_ARG_STRING, &opt_id,
    "The helper's Id, unique on the bus: 1 to 255 bytes (required)", "ID" },
  { "state-file", 'f', 0, G_OPTION_ARG_FILENAME, &opt_state_file,
    "The file holding the state (required; need not exist until Save)", "FILE" },
  { "max-state-size", 0, 0, G_OPTION_ARG_STRING, &opt_max_state_size,
    "Largest state sent or accepted (default 1M): " TOOL_SIZE_OPTION_HELP, "SIZE" },
  { NULL }
};

typedef struct
{
  GMainLoop *loop;
  int        status;
} ServeState;

static gboolean
on_signal (gpointer user_data)
{
  ServeState *state = user_data;

  state->status = TOOL_EXIT_OK;
  g_main_loop_quit (state->loop);
  return G_SOURCE_CONTINUE;
}

static void
on_closed (GDBusConnection *connection,
           gboolean         remote_peer_vanished,
           GError          *error,
           gpointer         user_data)
{
  ServeState *state = user_data;

  tool_failure ("serve", "the bus connection closed%s%s",
                error != NULL ? ": " : "", error != NULL ? error->message : "");
  state->status = TOOL_EXIT_FAILURE;
  g_main_loop_quit (state->loop);
}

static int
serve_run (const char *argument)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(ToolFileService) service = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autoptr(GError) error = NULL;
  ServeState state = { NULL, TOOL_EXIT_OK };
  int max_state_size;
  guint sigterm, sigint;

  if (opt_address == NULL || !g_dbus_is_address (opt_address))
    return tool_usage_error ("serve", opt_address ? "'%s' is not a D-Bus address"
                                                  : "--address is required%s", opt_address ? opt_address : "");
  if (opt_id == NULL)
    return tool_usage_error ("serve", "--id is required");
  /* the Id's contract (libvmstate's and QEMU's), checked before the bus
   * is reached */
  if (!vmstate_id_is_valid (opt_id, &error))
    {
      g_autofree char *shown = tool_abbreviate_id (opt_id);

      return tool_usage_error ("serve", "--id '%s': %s", shown, error->message);
    }
  if (opt_state_file == NULL)
    return tool_usage_error ("serve", "--state-file is required");
  if (!tool_parse_max_state_size (opt_max_state_size, &max_state_size, &error))
    return tool_usage_error ("serve", "%s", error->message);

  service = g_object_new (TOOL_TYPE_FILE_SERVICE, "id", opt_id, NULL);
  service->path = g_strdup (opt_state_file);
  if (max_state_size >= 0)
    vmstate_service_set_max_state_size (VMSTATE_SERVICE (service), max_state_size);

  connection = g_dbus_connection_new_for_address_sync (opt_address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  if (connection == NULL)
    return tool_failure ("serve", "cannot connect to the bus at %s: %s", opt_address, error->message);
  g_dbus_connection_set_exit_on_close (connection, FALSE);

  if (!vmstate_service_export (VMSTATE_SERVICE (service), connection, &error))
    return tool_failure ("serve", "%s", error->message);

  loop = g_main_loop_new (NULL, FALSE);
  state.loop = loop;
  sigterm = g_unix_signal_add (SIGTERM, on_signal, &state);
  sigint = g_unix_signal_add (SIGINT, on_signal, &state);
  g_signal_connect (connection, "closed", G_CALLBACK (on_closed), &state);

  setvbuf (stdout, NULL, _IOLBF, 0);
  g_print ("READY %s %d\n", g_dbus_connection_get_unique_name (connection), (int) getpid ());

  g_main_loop_run (loop);

  g_source_remove (sigterm);
  g_source_remove (sigint);
  g_signal_handlers_disconnect_by_data (connection, &state);
  vmstate_service_unexport (VMSTATE_SERVICE (service));
  if (!g_dbus_connection_is_closed (connection))
    g_dbus_connection_flush_sync (connection, NULL, NULL);
  return state.status;
}

const ToolCommand tool_command_serve = {
  "serve", NULL, "Run a helper whose state is a file's content",
  "Exports /org/qemu/VMState1 on the bus and queues for the name\n"
  "org.qemu.VMState1, like any dbus-vmstate helper. Save answers with the\n"
  "content of the state file; Load writes the state to a temporary file\n"
  "and renames it over the state file (mode 0600), so the file is always\n"
  "either the old or the new state.\n"
  "Prints 'READY UNIQUE-NAME PID' on standard output once on the bus,\n"
  "'SAVED SIZE' after each Save and 'LOADED SIZE SHA256' after each Load.\n"
  "Runs until SIGTERM or SIGINT (exit 0) or until the bus goes away (exit 1).",
  { serve_entries },
  serve_run,
};
