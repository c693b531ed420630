/* vmstate.c: the vmstate command-line tool: main, list, save, load
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmstate-json.h"
#include "vmstate-tool.h"

static const ToolCommand *commands[] = {
  &tool_command_list,
  &tool_command_save,
  &tool_command_load,
  &tool_command_inspect,
  &tool_command_serve,
  &tool_command_bus,
};

/* common helpers */

/* Prints "vmstate[ CMD]: MESSAGE" on stderr, MESSAGE escaped for the
 * terminal (it may hold Ids, section names, paths), then @hint. */
static void
print_message (const char *command,
               const char *hint,
               const char *format,
               va_list     args)
{
  g_autofree char *message = g_strdup_vprintf (format, args);
  g_autofree char *escaped = tool_escape_text (message);

  g_printerr ("vmstate%s%s: %s\n%s", command ? " " : "", command ? command : "", escaped, hint);
}

int
tool_usage_error (const char *command,
                  const char *format,
                  ...)
{
  g_autofree char *hint = g_strdup_printf ("Try 'vmstate%s%s --help' for more information.\n",
                                           command ? " " : "", command ? command : "");
  va_list args;

  va_start (args, format);
  print_message (command, hint, format, args);
  va_end (args);
  return TOOL_EXIT_USAGE;
}

int
tool_failure (const char *command,
              const char *format,
              ...)
{
  va_list args;

  va_start (args, format);
  print_message (command, "", format, args);
  va_end (args);
  return TOOL_EXIT_FAILURE;
}

char *
tool_abbreviate_id (const char *id)
{
  g_autofree char *valid = tool_escape_text (id);

  if (g_utf8_strlen (valid, -1) <= TOOL_ID_SHOWN_CHARS)
    return g_steal_pointer (&valid);
  return g_strdup_printf ("%.*s…", (int) (g_utf8_offset_to_pointer (valid, TOOL_ID_SHOWN_CHARS) - valid),
                          valid);
}

gboolean
tool_parse_max_state_size (const char  *value,
                           int         *size_out,
                           GError     **error)
{
  static const struct { const char *suffix; guint64 factor; } units[] = {
    { "", 1 }, { "K", 1024 }, { "KiB", 1024 }, { "M", 1024 * 1024 }, { "MiB", 1024 * 1024 },
  };
  const char *end = value;
  g_autofree char *digits = NULL;
  guint64 number;

  *size_out = -1;
  if (value == NULL)
    return TRUE;
  while (g_ascii_isdigit (*end))
    end++;
  digits = g_strndup (value, end - value);
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      if (strcmp (end, units[i].suffix) != 0)
        continue;
      if (!g_ascii_string_to_unsigned (digits, 10, 0, TOOL_MAX_STATE_SIZE / units[i].factor,
                                       &number, NULL))
        break;
      *size_out = number * units[i].factor;
      return TRUE;
    }
  g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
               "--max-state-size '%s' is not a size of 0 to 64M (67108864 bytes): "
               "give bytes, or a number with the suffix K, KiB, M or MiB, "
               "such as 65536, 64K or 1MiB", value);
  return FALSE;
}

gboolean
tool_parse_ids (char   **values,
                char  ***ids_out,
                GError **error)
{
  g_autoptr(GPtrArray) ids = NULL;

  *ids_out = NULL;
  if (values == NULL || values[0] == NULL)
    return TRUE;

  ids = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; values[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (values[i], ",", -1);

      for (guint j = 0; parts[j] != NULL; j++)
        {
          if (parts[j][0] == '\0')
            {
              g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--ids '%s' holds an empty Id", values[i]);
              return FALSE;
            }
          if (!g_ptr_array_find_with_equal_func (ids, parts[j], g_str_equal, NULL))
            g_ptr_array_add (ids, g_strdup (parts[j]));
        }
    }
  g_ptr_array_add (ids, NULL);
  *ids_out = (char **) g_ptr_array_free (g_steal_pointer (&ids), FALSE);
  return TRUE;
}

/* options shared by list, save and load */

static char *opt_address;
static int opt_timeout_msec;
static char *opt_max_state_size;
static char **opt_ids;
static gboolean opt_json;
static gboolean opt_quiet;
static char *opt_output;

static const GOptionEntry address_entries[] = {
  { "address", 'a', 0, G_OPTION_ARG_STRING, &opt_address,
    "D-Bus address of the VM's private bus (required), e.g. unix:path=/run/vm1/bus", "ADDR" },
  { "timeout", 't', 0, G_OPTION_ARG_INT, &opt_timeout_msec,
    "Per-helper call timeout in milliseconds (default: the library's)", "MS" },
  { NULL }
};

static const GOptionEntry ids_entries[] = {
  { "ids", 'i', 0, G_OPTION_ARG_STRING_ARRAY, &opt_ids,
    "Only these helper Ids, comma-separated (repeatable); each must be present", "ID,..." },
  { "max-state-size", 0, 0, G_OPTION_ARG_STRING, &opt_max_state_size,
    "Largest state accepted (default 1M, QEMU's limit): " TOOL_SIZE_OPTION_HELP, "SIZE" },
  { "quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
    "No progress line, even on a terminal", NULL },
  { NULL }
};

static int max_state_size = -1;

static int
check_address (const char *command)
{
  g_autoptr(GError) error = NULL;

  if (opt_address == NULL || opt_address[0] == '\0')
    return tool_usage_error (command, "--address is required");
  if (!g_dbus_is_address (opt_address))
    return tool_usage_error (command, "'%s' is not a D-Bus address "
                             "(such as unix:path=/run/vm1/bus)", opt_address);
  if (opt_timeout_msec < 0)
    return tool_usage_error (command, "--timeout must be positive");
  if (!tool_parse_max_state_size (opt_max_state_size, &max_state_size, &error))
    return tool_usage_error (command, "%s", error->message);
  return TOOL_EXIT_OK;
}

/* The collector of list, save and load: connected to --address, with
 * their options and @ids (NULL: every helper on the bus). On failure it
 * says so for @command and returns NULL. */
static VmstateCollector *
connect_collector (const char  *command,
                   char       **ids)
{
  g_autoptr(VmstateCollector) collector = NULL;
  g_autoptr(GError) error = NULL;

  /* its error names the address */
  collector = vmstate_collector_new_for_address_sync (opt_address, NULL, &error);
  if (collector == NULL)
    {
      tool_failure (command, "%s", error->message);
      return NULL;
    }
  if (opt_timeout_msec > 0)
    vmstate_collector_set_timeout_msec (collector, opt_timeout_msec);
  if (max_state_size >= 0)
    vmstate_collector_set_max_state_size (collector, max_state_size);
  vmstate_collector_set_required_ids (collector, (const char * const *) ids);
  return g_steal_pointer (&collector);
}

static gboolean
show_progress (void)
{
  return !opt_quiet && isatty (STDERR_FILENO);
}

/* Waits for an async operation of the collector. On a terminal (and
 * without --quiet) it shows "vmstate save: saving N helpers… 1.2 s" on
 * stderr while the operation runs, and waiter_report() a last line. */
typedef struct
{
  GMainLoop    *loop;
  GAsyncResult *result;
  char         *progress;  /* NULL: silent */
  gint64        start;
} Waiter;

static void
waiter_clear (Waiter *waiter)
{
  g_clear_pointer (&waiter->loop, g_main_loop_unref);
  g_clear_object (&waiter->result);
  g_clear_pointer (&waiter->progress, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Waiter, waiter_clear)

/* @doing: "vmstate save: saving" */
static void
waiter_init (Waiter     *waiter,
             const char *doing,
             guint       n_helpers)
{
  waiter->loop = g_main_loop_new (NULL, FALSE);
  if (show_progress ())
    waiter->progress = g_strdup_printf ("%s %u helper%s…", doing, n_helpers, n_helpers == 1 ? "" : "s");
}

static void
waiter_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Waiter *waiter = user_data;

  waiter->result = g_object_ref (result);
  g_main_loop_quit (waiter->loop);
}

static void
waiter_print (Waiter *waiter)
{
  double elapsed = (g_get_monotonic_time () - waiter->start) / 1e6;

  g_printerr ("\r\033[K%s %.1f s", waiter->progress, elapsed);
}

static gboolean
waiter_tick (gpointer user_data)
{
  waiter_print (user_data);
  return G_SOURCE_CONTINUE;
}

static void
waiter_run (Waiter *waiter)
{
  guint tick = 0;

  waiter->start = g_get_monotonic_time ();
  if (waiter->progress != NULL)
    {
      waiter_print (waiter);
      tick = g_timeout_add (100, waiter_tick, waiter);
    }
  while (waiter->result == NULL)
    g_main_loop_run (waiter->loop);
  if (tick != 0)
    {
      g_source_remove (tick);
      g_printerr ("\r\033[K");
    }
}

/* "DONE N helpers WHERE in 12.3 ms" (@where escaped), when the progress
 * was shown. */
static void
waiter_report (Waiter     *waiter,
               const char *done,
               guint       n_helpers,
               const char *where)
{
  g_autofree char *escaped = NULL;

  if (waiter->progress == NULL)
    return;
  escaped = tool_escape_text (where);
  g_printerr ("%s %u helper%s %s in %.1f ms\n", done, n_helpers, n_helpers == 1 ? "" : "s",
              escaped, (g_get_monotonic_time () - waiter->start) / 1000.0);
}

/* list */

static const GOptionEntry list_entries[] = {
  { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "Print JSON", NULL },
  { NULL }
};

static int
list_run (const char *argument)
{
  g_autoptr(VmstateCollector) collector = NULL;
  g_autoptr(GPtrArray) helpers = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gboolean *duplicate = NULL;
  int status;

  if ((status = check_address ("list")) != TOOL_EXIT_OK)
    return status;

  collector = connect_collector ("list", NULL);
  if (collector == NULL)
    return TOOL_EXIT_FAILURE;

  helpers = vmstate_collector_list_helpers_sync (collector, NULL, &error);
  if (helpers == NULL)
    return tool_failure ("list", "%s", error->message);

  /* The helpers come sorted by Id: those sharing one are neighbours. */
  duplicate = g_new0 (gboolean, helpers->len + 1);
  for (guint i = 1; i < helpers->len; i++)
    if (g_str_equal (vmstate_helper_get_id (helpers->pdata[i - 1]),
                     vmstate_helper_get_id (helpers->pdata[i])))
      duplicate[i - 1] = duplicate[i] = TRUE;

  if (opt_json)
    {
      g_autoptr(GString) out = g_string_new ("[");

      for (guint i = 0; i < helpers->len; i++)
        {
          VmstateHelper *helper = g_ptr_array_index (helpers, i);

          g_string_append (out, i ? ",\n {\"id\": " : "\n {\"id\": ");
          tool_json_append_string (out, vmstate_helper_get_id (helper));
          g_string_append (out, ", \"unique_name\": ");
          tool_json_append_string (out, vmstate_helper_get_unique_name (helper));
          g_string_append_printf (out, ", \"pid\": %u, \"duplicate\": %s}",
                                  vmstate_helper_get_pid (helper),
                                  duplicate[i] ? "true" : "false");
        }
      g_string_append (out, helpers->len ? "\n]\n" : "]\n");
      fputs (out->str, stdout);
    }
  else
    {
      /* Ids come from the helpers: escaped, like every text output */
      g_autoptr(GPtrArray) shown_ids = g_ptr_array_new_with_free_func (g_free);
      int id_width = 2, name_width = 11;

      for (guint i = 0; i < helpers->len; i++)
        {
          VmstateHelper *helper = g_ptr_array_index (helpers, i);
          char *id = tool_escape_text (vmstate_helper_get_id (helper));

          g_ptr_array_add (shown_ids, id);
          id_width = MAX (id_width, (int) strlen (id));
          name_width = MAX (name_width, (int) strlen (vmstate_helper_get_unique_name (helper)));
        }
      if (helpers->len == 0)
        g_printerr ("vmstate list: no helper on the bus\n");
      else
        g_print ("%-*s  %-*s  %s\n", id_width, "ID", name_width, "UNIQUE-NAME", "PID");
      for (guint i = 0; i < helpers->len; i++)
        {
          VmstateHelper *helper = g_ptr_array_index (helpers, i);

          g_print ("%-*s  %-*s  %u%s\n", id_width, (char *) g_ptr_array_index (shown_ids, i),
                   name_width, vmstate_helper_get_unique_name (helper),
                   vmstate_helper_get_pid (helper), duplicate[i] ? "  duplicate" : "");
        }
    }

  for (guint i = 0; i < helpers->len; i++)
    if (duplicate[i] && (i == 0 || !g_str_equal (vmstate_helper_get_id (helpers->pdata[i - 1]),
                                                 vmstate_helper_get_id (helpers->pdata[i]))))
      {
        g_autofree char *id = tool_abbreviate_id (vmstate_helper_get_id (helpers->pdata[i]));

        g_printerr ("vmstate list: several helpers have the Id '%s'; a save or load "
                    "of it fails until all but one leave the bus\n", id);
        status = TOOL_EXIT_FAILURE;
      }
  return status;
}

const ToolCommand tool_command_list = {
  "list", NULL, "List the helpers on a VM's bus",
  "Prints each helper on the bus: its Id, D-Bus unique name and process id\n"
  "(0 when the bus does not tell), sorted by Id. Helpers that share an Id\n"
  "are all listed and flagged \"duplicate\", and the exit status is then 1:\n"
  "a save or load of that Id fails until all but one leave the bus. With\n"
  "--json, an array of objects {\"id\", \"unique_name\", \"pid\", \"duplicate\"}.",
  { address_entries, list_entries },
  list_run,
};

/* save */

static const GOptionEntry save_entries[] = {
  { "output", 'o', 0, G_OPTION_ARG_FILENAME, &opt_output,
    "Write the blob to FILE (required; - for standard output)", "FILE" },
  { NULL }
};

static gboolean
write_output (const char  *path,
              GBytes      *data,
              GError     **error)
{
  gsize size;
  const char *buf = g_bytes_get_data (data, &size);

  if (g_str_equal (path, "-"))
    {
      if (fwrite (buf, 1, size, stdout) != size || fflush (stdout) != 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "cannot write to standard output: %s", g_strerror (saved_errno));
          return FALSE;
        }
      return TRUE;
    }
  return g_file_set_contents_full (path, buf, size, G_FILE_SET_CONTENTS_CONSISTENT,
                                   0600, error);
}

static int
save_run (const char *argument)
{
  g_autoptr(VmstateCollector) collector = NULL;
  g_autoptr(GBytes) blob = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;
  g_auto(Waiter) waiter = { 0 };
  g_autofree char *where = NULL;
  guint n_helpers = 0;
  int status;

  if ((status = check_address ("save")) != TOOL_EXIT_OK)
    return status;
  if (opt_output == NULL || opt_output[0] == '\0')
    return tool_usage_error ("save", "-o/--output FILE is required");
  if (!tool_parse_ids (opt_ids, &ids, &error))
    return tool_usage_error ("save", "%s", error->message);

  collector = connect_collector ("save", ids);
  if (collector == NULL)
    return TOOL_EXIT_FAILURE;

  if (show_progress ())
    {
      if (ids != NULL)
        n_helpers = g_strv_length (ids);
      else
        {
          g_autoptr(GPtrArray) helpers = vmstate_collector_list_helpers_sync (collector, NULL, &error);

          if (helpers == NULL)
            return tool_failure ("save", "%s", error->message);
          n_helpers = helpers->len;
        }
    }

  waiter_init (&waiter, "vmstate save: saving", n_helpers);
  vmstate_collector_save_async (collector, NULL, waiter_done, &waiter);
  waiter_run (&waiter);
  blob = vmstate_collector_save_finish (collector, waiter.result, &error);
  if (blob == NULL)
    return tool_failure ("save", "%s; nothing was written", error->message);

  if (!write_output (opt_output, blob, &error))
    return tool_failure ("save", "%s", error->message);

  where = g_strdup_printf ("(%" G_GSIZE_FORMAT " bytes) to %s", g_bytes_get_size (blob), opt_output);
  waiter_report (&waiter, "vmstate save: saved", n_helpers, where);
  return TOOL_EXIT_OK;
}

const ToolCommand tool_command_save = {
  "save", NULL, "Save the helpers' states into a blob file",
  "Calls Save on every helper on the bus (or on those of --ids)\n"
  "concurrently and writes their states into one blob file in QEMU's\n"
  "dbus-vmstate format. The save fails as a whole, and no file is written,\n"
  "when any helper fails, times out or leaves the bus. The file is\n"
  "replaced atomically and created with mode 0600.",
  { address_entries, ids_entries, save_entries },
  save_run,
};

/* load */

static char *
join_strv (char **strv)
{
  if (strv == NULL || strv[0] == NULL)
    return g_strdup ("none");
  return g_strjoinv (", ", strv);
}

static int
load_run (const char *input_path)
{
  g_autoptr(VmstateCollector) collector = NULL;
  g_autoptr(ToolInput) input = NULL;
  g_autoptr(VmstateBlob) blob = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;
  g_auto(Waiter) waiter = { 0 };
  g_autofree char *where = NULL;
  const char *path;
  guint n_entries;
  int status;

  path = tool_input_shown_name (input_path);
  if ((status = check_address ("load")) != TOOL_EXIT_OK)
    return status;
  if (!tool_parse_ids (opt_ids, &ids, &error))
    return tool_usage_error ("load", "%s", error->message);

  input = tool_input_read (input_path, &error);
  if (input == NULL)
    return tool_failure ("load", "%s", error->message);
  if (input->payload == NULL)
    return tool_failure ("load", "%s: the migration stream holds %u dbus-vmstate "
                         "sections; nothing to load from", path, input->payloads->len);

  blob = vmstate_blob_new_from_bytes (input->payload, &error);
  if (blob == NULL)
    return tool_failure ("load", "%s: not a valid dbus-vmstate blob: %s", path, error->message);

  if (ids != NULL)
    {
      g_autoptr(VmstateBlob) subset = vmstate_blob_new ();

      for (guint i = 0; ids[i] != NULL; i++)
        {
          GBytes *state = vmstate_blob_get_state (blob, ids[i]);

          if (state == NULL)
            {
              g_auto(GStrv) present = vmstate_blob_get_ids (blob);
              g_autofree char *joined = join_strv (present);
              g_autofree char *id = tool_abbreviate_id (ids[i]);

              return tool_failure ("load", "%s holds no state for the Id '%s' (it holds: %s); "
                                   "no helper was loaded", path, id, joined);
            }
          if (!vmstate_blob_add (subset, ids[i], state, &error))
            return tool_failure ("load", "%s", error->message);
        }
      g_set_object (&blob, subset);
    }
  payload = vmstate_blob_to_bytes (blob);
  n_entries = vmstate_blob_get_n_entries (blob);

  collector = connect_collector ("load", ids);
  if (collector == NULL)
    return TOOL_EXIT_FAILURE;

  waiter_init (&waiter, "vmstate load: loading", n_entries);
  vmstate_collector_load_async (collector, payload, NULL, waiter_done, &waiter);
  waiter_run (&waiter);
  if (!vmstate_collector_load_finish (collector, waiter.result, &error))
    return tool_failure ("load", "%s", error->message);

  where = g_strdup_printf ("from %s", path);
  waiter_report (&waiter, "vmstate load: loaded", n_entries, where);
  return TOOL_EXIT_OK;
}

const ToolCommand tool_command_load = {
  "load", "FILE", "Load a blob file (or a QEMU migration stream) into the helpers",
  "Loads FILE into the helpers on the bus. FILE is a blob that\n"
  "'vmstate save' wrote, or a QEMU migration stream holding one\n"
  "dbus-vmstate section; - reads it from standard input. The whole file\n"
  "is validated, and every entry matched to a helper on the bus, before\n"
  "the first Load call. With --ids, only the entries of those Ids are\n"
  "loaded, and each must be in FILE and on the bus.",
  { address_entries, ids_entries },
  load_run,
};

/* main */

static GOptionContext *
command_context (const ToolCommand *command)
{
  g_autofree char *parameter = NULL;
  GOptionContext *context;

  parameter = g_strdup_printf ("%s%s- %s", command->parameter_string ? command->parameter_string : "",
                               command->parameter_string ? " " : "", command->summary);
  context = g_option_context_new (parameter);
  for (guint i = 0; i < G_N_ELEMENTS (command->entries) && command->entries[i] != NULL; i++)
    g_option_context_add_main_entries (context, command->entries[i], NULL);
  g_option_context_set_description (context, command->description);
  return context;
}

static const ToolCommand *
find_command (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (commands[i]->name, name))
      return commands[i];
  return NULL;
}

/* GOption prints "Usage: vmstate save ..." with this (g_set_prgname()
 * keeps a copy). */
static void
set_command_prgname (const ToolCommand *command)
{
  g_autofree char *prgname = g_strdup_printf ("vmstate %s", command->name);

  g_set_prgname (prgname);
}

static void
print_command_help (const ToolCommand *command)
{
  g_autoptr(GOptionContext) context = command_context (command);
  g_autofree char *help = NULL;

  set_command_prgname (command);
  help = g_option_context_get_help (context, TRUE, NULL);

  g_print ("%s", help);
  g_set_prgname ("vmstate");
}

static void
print_main_help (gboolean all)
{
  g_print ("Usage:\n  vmstate COMMAND [OPTION…]\n\n"
           "Inspect and drive the helpers of QEMU's dbus-vmstate protocol.\n\n"
           "Options:\n"
           "  -h, --help        Show this help\n"
           "  --help-all        Show the help of every command\n"
           "  --version         Show the version\n\n"
           "Commands:\n");
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_print ("  %-10s%s\n", commands[i]->name, commands[i]->summary);
  g_print ("\n"
           "Run 'vmstate COMMAND --help' for the options of a command.\n"
           "Exit status: 0 on success, 1 on failure, 2 on a usage error.\n");

  if (!all)
    return;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      g_print ("\n");
      print_command_help (commands[i]);
    }
}

/* Parses the options of @command from argv[1..] (argv[1] is its name)
 * and checks its positional arguments. */
static int
run_command (const ToolCommand *command,
             int                argc,
             char             **argv)
{
  g_autoptr(GOptionContext) context = command_context (command);
  g_autofree char *prgname = NULL;
  g_autoptr(GError) error = NULL;
  int n_arguments = command->parameter_string != NULL ? 1 : 0;

  set_command_prgname (command);
  prgname = g_strdup (g_get_prgname ());
  argv[1] = prgname;
  argc--;
  argv++;
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return tool_usage_error (command->name, "%s", error->message);
  if (argc < 1 + n_arguments)
    return tool_usage_error (command->name, "%s is required", command->parameter_string);
  if (argc > 1 + n_arguments)
    return tool_usage_error (command->name, "unexpected argument '%s'", argv[1 + n_arguments]);

  return command->run (n_arguments ? argv[1] : NULL);
}

int
main (int    argc,
      char **argv)
{
  const ToolCommand *command;
  const char *name;

  setlocale (LC_ALL, "");
  g_set_prgname ("vmstate");

  if (argc < 2)
    return tool_usage_error (NULL, "a COMMAND is required");

  name = argv[1];
  if (g_str_equal (name, "--help") || g_str_equal (name, "-h")
      || (g_str_equal (name, "help") && argc == 2))
    {
      print_main_help (FALSE);
      return TOOL_EXIT_OK;
    }
  if (g_str_equal (name, "--help-all"))
    {
      print_main_help (TRUE);
      return TOOL_EXIT_OK;
    }
  if (g_str_equal (name, "--version"))
    {
      g_print ("vmstate (libvmstate) %s\n", VMSTATE_VERSION_S);
      return TOOL_EXIT_OK;
    }
  if (g_str_equal (name, "help"))
    {
      command = find_command (argv[2]);
      if (command == NULL)
        return tool_usage_error (NULL, "unknown command '%s'", argv[2]);
      print_command_help (command);
      return TOOL_EXIT_OK;
    }

  command = find_command (name);
  if (command == NULL)
    return tool_usage_error (NULL, name[0] == '-' ? "unknown option '%s'" : "unknown command '%s'",
                             name);
  return run_command (command, argc, argv);
}
