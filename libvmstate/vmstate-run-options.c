/* vmstate-run-options.c: the helper runtime's command line
 *
 * The built-in options (--dbus-address, --dbus-id, --dbus-incoming,
 * --exit-with-parent, --print-capabilities), the helper's own (option
 * groups, and main options that land in a GVariantDict), the usage
 * errors, and the features --print-capabilities prints.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "vmstate-run-private.h"
#include "vmstate-util-private.h"

/* What every helper run by vmstate_service_run() can do. */
static const char * const builtin_features[] = {
  "dbus-address", "migrate", "exit-with-parent", "notify-socket", NULL
};

/* An option added with vmstate_service_add_main_option(). */
typedef struct
{
  char        *long_name;
  char         short_name;
  GOptionFlags flags;
  GOptionArg   arg;
  char        *description;
  char        *arg_description;
} MainOption;

void
_vmstate_run_main_option_free (gpointer data)
{
  MainOption *option = data;

  g_free (option->long_name);
  g_free (option->description);
  g_free (option->arg_description);
  g_free (option);
}

/* Features */

static gboolean
has_feature (RunData    *run,
             const char *feature)
{
  return g_strv_contains (builtin_features, feature) ||
         g_ptr_array_find_with_equal_func (run->features, feature, g_str_equal, NULL);
}

/**
 * vmstate_service_add_feature:
 * @self: a #VmstateService
 * @feature: a feature name, such as `ipv4`
 *
 * Adds @feature to those `--print-capabilities` prints. Every helper run
 * by [method@Vmstate.Service.run] has `dbus-address`, `migrate`,
 * `exit-with-parent` and `notify-socket`; a helper adds what it does
 * itself (libvirt knows `ipv4 ipv6 tftp dbus-p2p restrict` besides).
 * Adding a feature twice adds it once.
 *
 * Since: 1.0
 */
void
vmstate_service_add_feature (VmstateService *self,
                             const char     *feature)
{
  RunData *run;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (feature != NULL && *feature != '\0');
  g_return_if_fail (g_utf8_validate (feature, -1, NULL));

  run = _vmstate_run_data_get (self);
  if (!has_feature (run, feature))
    g_ptr_array_add (run->features, g_strdup (feature));
}

/**
 * vmstate_service_dup_features:
 * @self: a #VmstateService
 *
 * Gets the features `--print-capabilities` prints: the runtime's, then
 * those added with [method@Vmstate.Service.add_feature].
 *
 * Returns: (transfer full) (array zero-terminated=1): the features
 *
 * Since: 1.0
 */
char **
vmstate_service_dup_features (VmstateService *self)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  RunData *run;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);

  run = _vmstate_run_data_get (self);
  builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **) builtin_features);
  for (guint i = 0; i < run->features->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (run->features, i));
  return g_strv_builder_end (builder);
}

/* The helper's own options */

/**
 * vmstate_service_add_option_group:
 * @self: a #VmstateService
 * @group: (transfer full): a #GOptionGroup
 *
 * Adds the helper's own options to those [method@Vmstate.Service.run]
 * parses, as g_application_add_option_group() does: they are parsed
 * into @group's variables (or through its callbacks) before the service
 * touches the bus. For C and Vala; from languages that cannot point at
 * variables, use [method@Vmstate.Service.add_main_option].
 *
 * Since: 1.0
 */
void
vmstate_service_add_option_group (VmstateService *self,
                                  GOptionGroup   *group)
{
  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (group != NULL);

  g_ptr_array_add (_vmstate_run_data_get (self)->groups, group);
}

/**
 * vmstate_service_add_main_option:
 * @self: a #VmstateService
 * @long_name: the option's long name, without the leading `--`
 * @short_name: its one-letter name, or 0
 * @flags: #GOptionFlags
 * @arg: the kind of value: %G_OPTION_ARG_NONE, %G_OPTION_ARG_STRING,
 *   %G_OPTION_ARG_FILENAME, %G_OPTION_ARG_INT, %G_OPTION_ARG_INT64,
 *   %G_OPTION_ARG_DOUBLE, %G_OPTION_ARG_STRING_ARRAY or
 *   %G_OPTION_ARG_FILENAME_ARRAY
 * @description: the option's line in `--help`
 * @arg_description: (nullable): the name of its value in `--help`
 *
 * Adds an option of the helper's own to those
 * [method@Vmstate.Service.run] parses, as
 * g_application_add_main_option() does. Once the command line is parsed,
 * the options given are in [method@Vmstate.Service.get_options] under
 * their long name: `b` (%TRUE) for %G_OPTION_ARG_NONE, `s`, `ay`
 * (a bytestring), `i`, `x`, `d`, `as` or `aay`.
 *
 * Since: 1.0
 */
void
vmstate_service_add_main_option (VmstateService *self,
                                 const char     *long_name,
                                 char            short_name,
                                 GOptionFlags    flags,
                                 GOptionArg      arg,
                                 const char     *description,
                                 const char     *arg_description)
{
  MainOption *option;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (long_name != NULL && *long_name != '\0');
  g_return_if_fail (g_ascii_isalpha (short_name) || short_name == 0);
  g_return_if_fail (arg == G_OPTION_ARG_NONE || arg == G_OPTION_ARG_STRING ||
                    arg == G_OPTION_ARG_FILENAME || arg == G_OPTION_ARG_INT ||
                    arg == G_OPTION_ARG_INT64 || arg == G_OPTION_ARG_DOUBLE ||
                    arg == G_OPTION_ARG_STRING_ARRAY || arg == G_OPTION_ARG_FILENAME_ARRAY);

  option = g_new0 (MainOption, 1);
  option->long_name = g_strdup (long_name);
  option->short_name = short_name;
  option->flags = flags;
  option->arg = arg;
  option->description = g_strdup (description);
  option->arg_description = g_strdup (arg_description);
  g_ptr_array_add (_vmstate_run_data_get (self)->main_options, option);
}

/**
 * vmstate_service_get_options:
 * @self: a #VmstateService
 *
 * Gets the options added with [method@Vmstate.Service.add_main_option]
 * that the command line gave, keyed by long name, once
 * [method@Vmstate.Service.run] has parsed it (from
 * [signal@Vmstate.Service::handle-options] on).
 *
 * Returns: (transfer none) (nullable): the options, or %NULL before
 *   run() parsed a command line
 *
 * Since: 1.0
 */
GVariantDict *
vmstate_service_get_options (VmstateService *self)
{
  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);

  return _vmstate_run_data_get (self)->options;
}

/* Parsing */

void
_vmstate_run_builtin_options_clear (BuiltinOptions *options)
{
  g_free (options->address);
  g_free (options->id);
  g_free (options->program);
}

static MainOption *
find_main_option (RunData    *run,
                  const char *option_name)
{
  for (guint i = 0; i < run->main_options->len; i++)
    {
      MainOption *option = g_ptr_array_index (run->main_options, i);

      if (g_str_has_prefix (option_name, "--") ?
          strcmp (option_name + 2, option->long_name) == 0 :
          option_name[0] == '-' && option_name[1] == option->short_name && option_name[2] == '\0')
        return option;
    }
  return NULL;
}

/* Appends @item to the array under @key in @dict. */
static void
dict_append (GVariantDict       *dict,
             const char         *key,
             const GVariantType *array_type,
             GVariant           *item)
{
  g_autoptr(GVariant) old = g_variant_dict_lookup_value (dict, key, array_type);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, array_type);
  if (old != NULL)
    {
      GVariantIter iter;
      GVariant *child;

      g_variant_iter_init (&iter, old);
      while ((child = g_variant_iter_next_value (&iter)) != NULL)
        {
          g_variant_builder_add_value (&builder, child);
          g_variant_unref (child);
        }
    }
  g_variant_builder_add_value (&builder, item);
  g_variant_dict_insert_value (dict, key, g_variant_builder_end (&builder));
}

static gboolean
on_main_option (const char  *option_name,
                const char  *value,
                gpointer     data,
                GError     **error)
{
  RunData *run = data;
  MainOption *option = find_main_option (run, option_name);
  const char *key;

  g_return_val_if_fail (option != NULL, FALSE);
  key = option->long_name;

  switch (option->arg)
    {
    case G_OPTION_ARG_NONE:
      g_variant_dict_insert (run->options, key, "b", TRUE);
      break;
    case G_OPTION_ARG_STRING:
      g_variant_dict_insert (run->options, key, "s", value);
      break;
    case G_OPTION_ARG_FILENAME:
      g_variant_dict_insert (run->options, key, "^ay", value);
      break;
    case G_OPTION_ARG_STRING_ARRAY:
      dict_append (run->options, key, G_VARIANT_TYPE ("as"), g_variant_new_string (value));
      break;
    case G_OPTION_ARG_FILENAME_ARRAY:
      dict_append (run->options, key, G_VARIANT_TYPE ("aay"), g_variant_new_bytestring (value));
      break;
    case G_OPTION_ARG_INT:
    case G_OPTION_ARG_INT64:
      {
        gboolean is_int = option->arg == G_OPTION_ARG_INT;
        gint64 number;

        if (!g_ascii_string_to_signed (value, 10,
                                       is_int ? G_MININT32 : G_MININT64,
                                       is_int ? G_MAXINT32 : G_MAXINT64,
                                       &number, NULL))
          {
            g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "%s needs an integer, not \"%s\"", option_name, value);
            return FALSE;
          }
        if (is_int)
          g_variant_dict_insert (run->options, key, "i", (gint32) number);
        else
          g_variant_dict_insert (run->options, key, "x", number);
        break;
      }
    case G_OPTION_ARG_DOUBLE:
      {
        char *end = NULL;
        double number = g_ascii_strtod (value, &end);

        if (*value == '\0' || *end != '\0')
          {
            g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                         "%s needs a number, not \"%s\"", option_name, value);
            return FALSE;
          }
        g_variant_dict_insert (run->options, key, "d", number);
        break;
      }
    case G_OPTION_ARG_CALLBACK:
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

static int
usage_error (const BuiltinOptions *builtin,
             const char           *message)
{
  g_printerr ("%s: %s\nTry \"%s --help\" for more information.\n",
              builtin->program, message, builtin->program);
  return 2;
}

int
_vmstate_run_parse_options (VmstateService  *self,
                            int              argc,
                            char           **argv,
                            BuiltinOptions  *builtin)
{
  const GOptionEntry builtin_entries[] = {
    { "dbus-address", 0, 0, G_OPTION_ARG_STRING, &builtin->address,
      "Join the VM's private message bus at ADDRESS (required)", "ADDRESS" },
    { "dbus-id", 0, 0, G_OPTION_ARG_STRING, &builtin->id,
      "The helper's Id on the bus, instead of the one it sets itself", "ID" },
    { "dbus-incoming", 0, 0, G_OPTION_ARG_NONE, &builtin->incoming,
      "Start as the destination of a migration: wait for the state to Load", NULL },
    { "exit-with-parent", 0, 0, G_OPTION_ARG_NONE, &builtin->exit_with_parent,
      "Exit when the parent process exits", NULL },
    { "print-capabilities", 0, 0, G_OPTION_ARG_NONE, &builtin->print_capabilities,
      "Print the helper's type and features as JSON, and exit", NULL },
    G_OPTION_ENTRY_NULL
  };
  RunData *run = _vmstate_run_data_get (self);
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = NULL;
  GOptionGroup *main_group;

  /* A copy, which parsing modifies, that has a program name. */
  args = g_new0 (char *, MAX (argc, 1) + 1);
  for (int i = 0; i < argc; i++)
    args[i] = g_strdup (argv[i]);
  if (argc == 0)
    args[0] = g_strdup (g_get_prgname () ? g_get_prgname () : "vmstate-helper");
  builtin->program = g_path_get_basename (args[0]);

  context = g_option_context_new (NULL);
  g_option_context_set_summary (context,
                                "A libvmstate helper: its state migrates with the VM "
                                "over QEMU's dbus-vmstate.");
  main_group = g_option_group_new (NULL, NULL, NULL, run, NULL);
  g_option_group_add_entries (main_group, builtin_entries);

  entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  for (guint i = 0; i < run->main_options->len; i++)
    {
      MainOption *option = g_ptr_array_index (run->main_options, i);
      GOptionEntry entry = {
        option->long_name, option->short_name, option->flags,
        G_OPTION_ARG_CALLBACK, (gpointer) on_main_option,
        option->description, option->arg_description
      };

      if (option->arg == G_OPTION_ARG_NONE)
        entry.flags |= G_OPTION_FLAG_NO_ARG;
      else if (option->arg == G_OPTION_ARG_FILENAME || option->arg == G_OPTION_ARG_FILENAME_ARRAY)
        entry.flags |= G_OPTION_FLAG_FILENAME;
      g_array_append_val (entries, entry);
    }
  g_option_group_add_entries (main_group, (const GOptionEntry *) entries->data);
  g_option_context_set_main_group (context, main_group);
  for (guint i = 0; i < run->groups->len; i++)
    g_option_context_add_group (context, g_option_group_ref (g_ptr_array_index (run->groups, i)));

  g_clear_pointer (&run->options, g_variant_dict_unref);
  run->options = g_variant_dict_new (NULL);

  if (!g_option_context_parse_strv (context, &args, &error))
    return usage_error (builtin, error->message);
  if (args[0] != NULL && args[1] != NULL)
    {
      g_autofree char *message = g_strdup_printf ("unexpected argument \"%s\"", args[1]);

      return usage_error (builtin, message);
    }
  return -1;
}

int
_vmstate_run_check_options (VmstateService       *self,
                            const BuiltinOptions *builtin)
{
  g_autoptr(GError) error = NULL;
  const char *id;

  if (builtin->id != NULL)
    vmstate_service_set_id (self, builtin->id);
  id = vmstate_service_get_id (self);
  if (id == NULL)
    return usage_error (builtin, "no Id: the helper sets none, and --dbus-id is not given");
  if (!_vmstate_check_id (id, strlen (id), &error))
    {
      g_autofree char *shown = _vmstate_abbreviate_id (id);
      g_autofree char *message = g_strdup_printf ("invalid Id \"%s\": %s", shown, error->message);

      return usage_error (builtin, message);
    }
  if (builtin->address == NULL)
    return usage_error (builtin, "--dbus-address is required");
  return -1;
}

/* --print-capabilities */

static void
append_json_string (GString    *out,
                    const char *s)
{
  g_string_append_c (out, '"');
  for (; *s != '\0'; s++)
    {
      guchar c = (guchar) *s;

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", c);
      else if (c < 0x20)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_c (out, c);
    }
  g_string_append_c (out, '"');
}

int
_vmstate_run_print_capabilities (VmstateService *self)
{
  g_autoptr(GString) out = g_string_new ("{\"type\": ");
  g_auto(GStrv) features = vmstate_service_dup_features (self);

  append_json_string (out, vmstate_service_get_helper_type (self));
  g_string_append (out, ", \"features\": [");
  for (guint i = 0; features[i] != NULL; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      append_json_string (out, features[i]);
    }
  g_string_append (out, "]}\n");
  if (fwrite (out->str, 1, out->len, stdout) != out->len || fflush (stdout) != 0)
    return 1;
  return 0;
}
