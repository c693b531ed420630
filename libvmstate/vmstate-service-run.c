/* vmstate-service-run.c: the helper runtime, vmstate_service_run()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib-unix.h>

#include "vmstate-service.h"
#include "vmstate-service-private.h"
#include "vmstate-util-private.h"

#define DEFAULT_HELPER_TYPE           "vmstate-helper"
/* A live migration copies the guest's RAM before the helpers' Load comes:
 * minutes for a large guest. */
#define DEFAULT_INCOMING_TIMEOUT_MSEC (5 * 60 * 1000)

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

/* The runtime's data, on the service as qdata. */
typedef struct
{
  char          *helper_type;
  GPtrArray     *features;      /* char *, the helper's own */
  GPtrArray     *groups;        /* GOptionGroup * */
  GPtrArray     *main_options;  /* MainOption * */
  GVariantDict  *options;       /* the parsed main options, once parsed */
  gboolean       incoming;
  guint          incoming_timeout_msec;

  /* while vmstate_service_run() runs */
  gboolean       running;
  gboolean       quitting;
  int            exit_status;
  GMainLoop     *loop;
  pid_t          parent_pid;    /* 0 without --exit-with-parent */
  GSource       *incoming_timeout;
  gulong         loaded_id;
} RunData;

enum {
  PROP_RUN_INCOMING,
  PROP_RUN_INCOMING_TIMEOUT_MSEC,
  PROP_RUN_HELPER_TYPE,
  N_RUN_PROPS
};

enum {
  SIGNAL_HANDLE_OPTIONS,
  SIGNAL_READY,
  N_RUN_SIGNALS
};

static GParamSpec *run_properties[N_RUN_PROPS];
static guint run_signals[N_RUN_SIGNALS];
static GQuark run_data_quark;

static void
main_option_free (gpointer data)
{
  MainOption *option = data;

  g_free (option->long_name);
  g_free (option->description);
  g_free (option->arg_description);
  g_free (option);
}

static void
run_data_free (gpointer data)
{
  RunData *run = data;

  g_free (run->helper_type);
  g_ptr_array_unref (run->features);
  g_ptr_array_unref (run->groups);
  g_ptr_array_unref (run->main_options);
  g_clear_pointer (&run->options, g_variant_dict_unref);
  g_free (run);
}

static RunData *
run_data_get (VmstateService *self)
{
  RunData *run = g_object_get_qdata (G_OBJECT (self), run_data_quark);

  if (run == NULL)
    {
      run = g_new0 (RunData, 1);
      run->helper_type = g_strdup (DEFAULT_HELPER_TYPE);
      run->features = g_ptr_array_new_with_free_func (g_free);
      run->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_option_group_unref);
      run->main_options = g_ptr_array_new_with_free_func (main_option_free);
      run->incoming_timeout_msec = DEFAULT_INCOMING_TIMEOUT_MSEC;
      g_object_set_qdata_full (G_OBJECT (self), run_data_quark, run, run_data_free);
    }
  return run;
}

/* Logs through GLib's structured logging, with the helper's Id both in
 * the message and as the VMSTATE_HELPER_ID field (a journal match). */
static void
run_log (VmstateService *self,
         GLogLevelFlags  level,
         const char     *format,
         ...) G_GNUC_PRINTF (3, 4);

static void
run_log (VmstateService *self,
         GLogLevelFlags  level,
         const char     *format,
         ...)
{
  const char *id = vmstate_service_get_id (self);
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);

  g_log_structured (G_LOG_DOMAIN, level,
                    "VMSTATE_HELPER_ID", id ? id : "",
                    "MESSAGE", "helper '%s': %s", id ? id : "", message);
}

static gboolean
handle_options_accumulator (GSignalInvocationHint *hint,
                            GValue                *return_accu,
                            const GValue          *handler_return,
                            gpointer               data)
{
  int status = g_value_get_int (handler_return);

  g_value_set_int (return_accu, status);
  return status < 0;  /* go on to the next handler while they say -1 */
}

void
_vmstate_service_run_class_init (VmstateServiceClass *klass,
                                 guint                first_prop_id)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  run_data_quark = g_quark_from_static_string ("vmstate-service-run");

  /**
   * VmstateService:incoming: (getter get_incoming)
   *
   * Whether the helper waits for its migrated state: %TRUE from the
   * start of [method@Vmstate.Service.run] with `--dbus-incoming` until a
   * Load succeeded (after [signal@Vmstate.Service::loaded]) or
   * [property@Vmstate.Service:incoming-timeout-msec] passed without one.
   * A helper that holds its real work until then starts it on
   * `notify::incoming`.
   *
   * Since: 1.0
   */
  run_properties[PROP_RUN_INCOMING] =
    g_param_spec_boolean ("incoming", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:incoming-timeout-msec: (getter get_incoming_timeout_msec) (setter set_incoming_timeout_msec)
   *
   * How long, in milliseconds, a helper started with `--dbus-incoming`
   * waits for a Load before it logs a warning and goes on without a
   * migrated state ([property@Vmstate.Service:incoming] turns %FALSE). A
   * Load that comes later is still answered. 0 waits for ever. The
   * default is 5 minutes: a live migration copies the guest's memory
   * before QEMU calls Load.
   *
   * Since: 1.0
   */
  run_properties[PROP_RUN_INCOMING_TIMEOUT_MSEC] =
    g_param_spec_uint ("incoming-timeout-msec", NULL, NULL,
                       0, G_MAXUINT, DEFAULT_INCOMING_TIMEOUT_MSEC,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:helper-type: (getter get_helper_type) (setter set_helper_type)
   *
   * The `type` that `--print-capabilities` prints, such as
   * `slirp-helper`. The default is `vmstate-helper`. libvirt reads only
   * the features; see [method@Vmstate.Service.add_feature].
   *
   * Since: 1.0
   */
  run_properties[PROP_RUN_HELPER_TYPE] =
    g_param_spec_string ("helper-type", NULL, NULL, DEFAULT_HELPER_TYPE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  for (guint i = 0; i < N_RUN_PROPS; i++)
    g_object_class_install_property (object_class, first_prop_id + i, run_properties[i]);

  /**
   * VmstateService::handle-options:
   * @self: the service
   * @options: the options added with
   *   [method@Vmstate.Service.add_main_option] that were given, by long
   *   name
   *
   * Emitted by [method@Vmstate.Service.run] once the command line is
   * parsed, before the service touches the bus (and never with
   * `--print-capabilities`). A handler checks the helper's own options
   * and returns -1 to go on, or an exit status for run() to return at
   * once (2 for a usage error, after printing why on stderr).
   *
   * Returns: -1 to go on, or an exit status
   *
   * Since: 1.0
   */
  run_signals[SIGNAL_HANDLE_OPTIONS] =
    g_signal_new ("handle-options",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  handle_options_accumulator, NULL, NULL,
                  G_TYPE_INT, 1, G_TYPE_VARIANT_DICT);

  /**
   * VmstateService::ready:
   * @self: the service
   *
   * Emitted by [method@Vmstate.Service.run] once the service is on the
   * bus: exported, queued for `org.qemu.VMState1`, and `READY=1` sent to
   * `NOTIFY_SOCKET` if it is set. Do the helper's heavy initialisation
   * here, not before run(): libvirt does not wait for a helper to be
   * ready, and QEMU may look for it on the bus at once. A helper started
   * with `--dbus-incoming` may get its Load before or after this; see
   * [property@Vmstate.Service:incoming]. A handler that fails calls
   * [method@Vmstate.Service.quit].
   *
   * Since: 1.0
   */
  run_signals[SIGNAL_READY] =
    g_signal_new ("ready",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

gboolean
_vmstate_service_run_get_property (VmstateService *self,
                                   guint           prop_id,
                                   GValue         *value)
{
  switch (prop_id)
    {
    case PROP_RUN_INCOMING:
      g_value_set_boolean (value, vmstate_service_get_incoming (self));
      return TRUE;
    case PROP_RUN_INCOMING_TIMEOUT_MSEC:
      g_value_set_uint (value, vmstate_service_get_incoming_timeout_msec (self));
      return TRUE;
    case PROP_RUN_HELPER_TYPE:
      g_value_set_string (value, vmstate_service_get_helper_type (self));
      return TRUE;
    default:
      return FALSE;
    }
}

gboolean
_vmstate_service_run_set_property (VmstateService *self,
                                   guint           prop_id,
                                   const GValue   *value)
{
  switch (prop_id)
    {
    case PROP_RUN_INCOMING_TIMEOUT_MSEC:
      vmstate_service_set_incoming_timeout_msec (self, g_value_get_uint (value));
      return TRUE;
    case PROP_RUN_HELPER_TYPE:
      vmstate_service_set_helper_type (self, g_value_get_string (value));
      return TRUE;
    default:
      return FALSE;
    }
}

/**
 * vmstate_service_get_incoming: (get-property incoming)
 * @self: a #VmstateService
 *
 * Gets [property@Vmstate.Service:incoming].
 *
 * Returns: %TRUE while a helper started with `--dbus-incoming` waits for
 *   its migrated state
 *
 * Since: 1.0
 */
gboolean
vmstate_service_get_incoming (VmstateService *self)
{
  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);

  return run_data_get (self)->incoming;
}

static void
set_incoming (VmstateService *self,
              gboolean        incoming)
{
  RunData *run = run_data_get (self);

  if (run->incoming == incoming)
    return;
  run->incoming = incoming;
  g_object_notify_by_pspec (G_OBJECT (self), run_properties[PROP_RUN_INCOMING]);
}

/**
 * vmstate_service_get_incoming_timeout_msec: (get-property incoming-timeout-msec)
 * @self: a #VmstateService
 *
 * Gets [property@Vmstate.Service:incoming-timeout-msec].
 *
 * Returns: the timeout in milliseconds, 0 for none
 *
 * Since: 1.0
 */
guint
vmstate_service_get_incoming_timeout_msec (VmstateService *self)
{
  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  return run_data_get (self)->incoming_timeout_msec;
}

/**
 * vmstate_service_set_incoming_timeout_msec: (set-property incoming-timeout-msec)
 * @self: a #VmstateService
 * @timeout_msec: the timeout in milliseconds, 0 for none
 *
 * Sets [property@Vmstate.Service:incoming-timeout-msec]. It takes effect
 * when [method@Vmstate.Service.run] joins the bus.
 *
 * Since: 1.0
 */
void
vmstate_service_set_incoming_timeout_msec (VmstateService *self,
                                           guint           timeout_msec)
{
  RunData *run;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  run = run_data_get (self);
  if (run->incoming_timeout_msec == timeout_msec)
    return;
  run->incoming_timeout_msec = timeout_msec;
  g_object_notify_by_pspec (G_OBJECT (self), run_properties[PROP_RUN_INCOMING_TIMEOUT_MSEC]);
}

/**
 * vmstate_service_get_helper_type: (get-property helper-type)
 * @self: a #VmstateService
 *
 * Gets [property@Vmstate.Service:helper-type].
 *
 * Returns: the type `--print-capabilities` prints
 *
 * Since: 1.0
 */
const char *
vmstate_service_get_helper_type (VmstateService *self)
{
  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);

  return run_data_get (self)->helper_type;
}

/**
 * vmstate_service_set_helper_type: (set-property helper-type)
 * @self: a #VmstateService
 * @helper_type: (nullable): the type, such as `slirp-helper`, or %NULL
 *   for the default
 *
 * Sets [property@Vmstate.Service:helper-type].
 *
 * Since: 1.0
 */
void
vmstate_service_set_helper_type (VmstateService *self,
                                 const char     *helper_type)
{
  RunData *run;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (helper_type == NULL || g_utf8_validate (helper_type, -1, NULL));

  run = run_data_get (self);
  if (helper_type == NULL)
    helper_type = DEFAULT_HELPER_TYPE;
  if (g_strcmp0 (run->helper_type, helper_type) == 0)
    return;
  g_free (run->helper_type);
  run->helper_type = g_strdup (helper_type);
  g_object_notify_by_pspec (G_OBJECT (self), run_properties[PROP_RUN_HELPER_TYPE]);
}

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

  run = run_data_get (self);
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

  run = run_data_get (self);
  builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **) builtin_features);
  for (guint i = 0; i < run->features->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (run->features, i));
  return g_strv_builder_end (builder);
}

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

  g_ptr_array_add (run_data_get (self)->groups, group);
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
  g_ptr_array_add (run_data_get (self)->main_options, option);
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

  return run_data_get (self)->options;
}

/**
 * vmstate_service_quit:
 * @self: a #VmstateService
 * @exit_status: what [method@Vmstate.Service.run] returns
 *
 * Makes [method@Vmstate.Service.run] leave the bus and return
 * @exit_status, as soon as control is back in its main loop. For a
 * helper that cannot go on, from a [signal@Vmstate.Service::ready]
 * handler or later.
 *
 * Since: 1.0
 */
void
vmstate_service_quit (VmstateService *self,
                      int             exit_status)
{
  RunData *run;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  run = run_data_get (self);
  g_return_if_fail (run->running);

  if (run->quitting)
    return;
  run->quitting = TRUE;
  run->exit_status = exit_status;
  g_main_loop_quit (run->loop);
}

/* Option parsing */

typedef struct
{
  char     *address;
  char     *id;
  gboolean  incoming;
  gboolean  exit_with_parent;
  gboolean  print_capabilities;
} BuiltinOptions;

static void
builtin_options_clear (BuiltinOptions *options)
{
  g_free (options->address);
  g_free (options->id);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (BuiltinOptions, builtin_options_clear)

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
usage_error (const char *prgname,
             const char *message)
{
  g_printerr ("%s: %s\nTry \"%s --help\" for more information.\n",
              prgname, message, prgname);
  return 2;
}

/* Parses @args (modified); returns -1 to go on, or an exit status. */
static int
parse_options (VmstateService  *self,
               RunData         *run,
               char          ***args,
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
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GArray) entries = NULL;
  g_autoptr(GError) error = NULL;
  GOptionGroup *main_group;
  const char *prgname = (*args)[0] ? (*args)[0] : "vmstate-helper";
  g_autofree char *program = g_path_get_basename (prgname);

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

  if (!g_option_context_parse_strv (context, args, &error))
    return usage_error (program, error->message);
  if ((*args)[0] != NULL && (*args)[1] != NULL)
    {
      g_autofree char *message = g_strdup_printf ("unexpected argument \"%s\"", (*args)[1]);

      return usage_error (program, message);
    }
  return -1;
}

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

static int
print_capabilities (VmstateService *self)
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

/* sd_notify(0, "READY=1") without libsystemd: one datagram to the unix
 * socket NOTIFY_SOCKET names (a path, or '@' for an abstract name). */
static void
notify_ready (VmstateService *self)
{
  const char *path = g_getenv ("NOTIFY_SOCKET");
  struct sockaddr_un address = { .sun_family = AF_UNIX };
  static const char message[] = "READY=1";
  socklen_t address_len;
  size_t len;
  int fd;

  if (path == NULL || *path == '\0')
    return;

  len = strlen (path);
  if ((path[0] != '/' && path[0] != '@') || len >= sizeof address.sun_path)
    {
      run_log (self, G_LOG_LEVEL_WARNING,
               "NOTIFY_SOCKET=%s is not a unix socket path or abstract name; not notifying", path);
      return;
    }
  memcpy (address.sun_path, path, len);
  if (path[0] == '@')
    address.sun_path[0] = '\0';
  address_len = offsetof (struct sockaddr_un, sun_path) + len + (path[0] == '/' ? 1 : 0);

  fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 ||
      sendto (fd, message, sizeof message - 1, MSG_NOSIGNAL,
              (struct sockaddr *) &address, address_len) < 0)
    {
      int saved_errno = errno;

      run_log (self, G_LOG_LEVEL_WARNING, "cannot send READY=1 to NOTIFY_SOCKET=%s: %s",
               path, g_strerror (saved_errno));
    }
  else
    run_log (self, G_LOG_LEVEL_DEBUG, "sent READY=1 to NOTIFY_SOCKET=%s", path);
  if (fd >= 0)
    close (fd);
}

/* Running */

typedef struct
{
  VmstateService *self;
  int             signum;
} SignalData;

static gboolean
on_signal (gpointer data)
{
  SignalData *signal_data = data;
  VmstateService *self = signal_data->self;
  RunData *run = run_data_get (self);

  if (run->parent_pid != 0 && getppid () != run->parent_pid)
    run_log (self, G_LOG_LEVEL_INFO,
             "its parent process (pid %d) exited (--exit-with-parent); leaving the bus",
             (int) run->parent_pid);
  else
    run_log (self, G_LOG_LEVEL_INFO, "%s received; leaving the bus",
             signal_data->signum == SIGINT ? "SIGINT" : "SIGTERM");
  vmstate_service_quit (self, 0);
  return G_SOURCE_CONTINUE;
}

static void
on_connection_closed (GDBusConnection *connection,
                      gboolean         remote_peer_vanished,
                      GError          *error,
                      gpointer         user_data)
{
  VmstateService *self = user_data;

  run_log (self, G_LOG_LEVEL_WARNING, "the connection to the bus closed (%s); exiting with status 1",
           error != NULL ? error->message : "no reason given");
  vmstate_service_quit (self, 1);
}

static void
incoming_done (VmstateService *self)
{
  RunData *run = run_data_get (self);

  g_clear_signal_handler (&run->loaded_id, self);
  if (run->incoming_timeout != NULL)
    {
      g_source_destroy (run->incoming_timeout);
      g_clear_pointer (&run->incoming_timeout, g_source_unref);
    }
  set_incoming (self, FALSE);
}

static void
on_loaded (VmstateService *self,
           gpointer        user_data)
{
  run_log (self, G_LOG_LEVEL_INFO, "its migrated state is loaded (--dbus-incoming)");
  incoming_done (self);
}

static gboolean
on_incoming_timeout (gpointer user_data)
{
  VmstateService *self = user_data;
  RunData *run = run_data_get (self);

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_WARNING,
                    "VMSTATE_HELPER_ID", vmstate_service_get_id (self),
                    "VMSTATE_EVENT", "incoming-timeout",
                    "MESSAGE", "helper '%s': started with --dbus-incoming, but no Load came "
                    "within %u ms; going on without a migrated state",
                    vmstate_service_get_id (self), run->incoming_timeout_msec);
  incoming_done (self);
  return G_SOURCE_REMOVE;
}

static GSource *
attach_signal (VmstateService *self,
               GMainContext   *context,
               int             signum)
{
  GSource *source = g_unix_signal_source_new (signum);
  SignalData *data = g_new0 (SignalData, 1);

  data->self = self;
  data->signum = signum;
  g_source_set_callback (source, on_signal, data, g_free);
  g_source_attach (source, context);
  return source;
}

static void
source_destroy_unref (GSource *source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

/* Joins the bus and serves until told to stop; returns the exit status. */

/* libvirt 9.0 daemonizes its slirp helper and still passes
 * --exit-with-parent: the parent is then libvirt's middle fork, which
 * called setsid() and exits at once, so exiting with it takes the helper
 * off the bus at random (a restore fails "Required VMState Id are
 * missing", about 1 in 30 with vmstate-slirp-helper and 1 in 3 with
 * Debian's libslirp-helper). A parent that leads our session and left
 * us no terminal is such a fork. */
static gboolean
started_by_daemonizing_fork (void)
{
  int tty;

  if (getsid (0) != getppid ())
    return FALSE;
  tty = open ("/dev/tty", O_RDONLY | O_NOCTTY | O_CLOEXEC);
  if (tty >= 0)
    {
      close (tty);
      return FALSE;
    }
  return TRUE;
}

static int
serve (VmstateService       *self,
       RunData              *run,
       const BuiltinOptions *builtin)
{
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSource) sigterm = NULL;
  g_autoptr(GSource) sigint = NULL;
  gulong closed_id = 0;

  run->loop = g_main_loop_new (context, FALSE);
  run->running = TRUE;
  run->quitting = FALSE;
  run->exit_status = 0;
  run->parent_pid = 0;

  /* Signals first: a SIGTERM from now on is a clean exit. */
  sigterm = attach_signal (self, context, SIGTERM);
  sigint = attach_signal (self, context, SIGINT);

  if (builtin->exit_with_parent && started_by_daemonizing_fork ())
    run_log (self, G_LOG_LEVEL_INFO,
             "started by a daemonizing parent (pid %d), which exits at once: "
             "ignoring --exit-with-parent", (int) getppid ());
  else if (builtin->exit_with_parent)
    {
      /* The parent's death sends SIGTERM. It must still be the parent
       * we were started by once the request is in place. */
      run->parent_pid = getppid ();
      if (prctl (PR_SET_PDEATHSIG, SIGTERM) != 0)
        run_log (self, G_LOG_LEVEL_WARNING, "cannot watch the parent process: %s",
                 g_strerror (errno));
    }

  connection = g_dbus_connection_new_for_address_sync (builtin->address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  if (connection == NULL)
    {
      run_log (self, G_LOG_LEVEL_WARNING, "cannot connect to the bus at %s: %s",
               builtin->address, error->message);
      run->exit_status = 1;
      goto out;
    }
  closed_id = g_signal_connect (connection, "closed", G_CALLBACK (on_connection_closed), self);

  if (!vmstate_service_export (self, connection, &error))
    {
      run_log (self, G_LOG_LEVEL_WARNING, "cannot join the bus at %s: %s",
               builtin->address, error->message);
      run->exit_status = 1;
      goto out;
    }

  notify_ready (self);
  run_log (self, G_LOG_LEVEL_INFO, "on the bus at %s as %s, queued for %s%s",
           builtin->address, g_dbus_connection_get_unique_name (connection), VMSTATE_DBUS_NAME,
           run->incoming ? "; waiting for its migrated state (--dbus-incoming)" : "");

  if (run->parent_pid != 0 && getppid () != run->parent_pid)
    {
      run_log (self, G_LOG_LEVEL_INFO,
               "its parent process (pid %d) exited (--exit-with-parent); leaving the bus",
               (int) run->parent_pid);
      goto out;
    }

  if (run->incoming)
    {
      run->loaded_id = g_signal_connect (self, "loaded", G_CALLBACK (on_loaded), NULL);
      if (run->incoming_timeout_msec > 0)
        {
          run->incoming_timeout = g_timeout_source_new (run->incoming_timeout_msec);
          g_source_set_callback (run->incoming_timeout, on_incoming_timeout, self, NULL);
          g_source_attach (run->incoming_timeout, context);
        }
    }

  g_signal_emit (self, run_signals[SIGNAL_READY], 0);
  if (!run->quitting)
    g_main_loop_run (run->loop);

out:
  g_clear_signal_handler (&run->loaded_id, self);
  if (run->incoming_timeout != NULL)
    {
      g_source_destroy (run->incoming_timeout);
      g_clear_pointer (&run->incoming_timeout, g_source_unref);
    }
  if (connection != NULL)
    {
      g_clear_signal_handler (&closed_id, connection);
      vmstate_service_unexport (self);
      /* Let the bus see the name released before we are gone. */
      if (!g_dbus_connection_is_closed (connection))
        g_dbus_connection_flush_sync (connection, NULL, NULL);
    }
  g_clear_pointer (&sigterm, source_destroy_unref);
  g_clear_pointer (&sigint, source_destroy_unref);
  if (run->parent_pid != 0)
    (void) prctl (PR_SET_PDEATHSIG, 0);
  g_clear_pointer (&run->loop, g_main_loop_unref);
  run->running = FALSE;
  run->parent_pid = 0;

  run_log (self, G_LOG_LEVEL_INFO, "exiting with status %d", run->exit_status);
  return run->exit_status;
}

/**
 * vmstate_service_run:
 * @self: a #VmstateService
 * @argc: the number of arguments in @argv
 * @argv: (array length=argc) (element-type filename) (nullable): the
 *   command line, with the program's name first
 *
 * Runs the helper the way libvirt runs a `slirp_helper` (and the
 * conventions of Debian's `libslirp-helper` expect), and returns the
 * exit status, as g_application_run() does:
 *
 * ```c
 * return vmstate_service_run (VMSTATE_SERVICE (service), argc, argv);
 * ```
 *
 * It parses the command line (`--opt=value` and `--opt value`):
 *
 * - `--dbus-address=ADDR`: the VM's private message bus (required);
 * - `--dbus-id=ID`: the helper's Id, instead of
 *   [property@Vmstate.Service:id];
 * - `--dbus-incoming`: the helper is the destination of a migration; see
 *   [property@Vmstate.Service:incoming];
 * - `--exit-with-parent`: also exit when the parent process exits;
 * - `--print-capabilities`: print `{"type": ..., "features": [...]}`
 *   (see [method@Vmstate.Service.add_feature]) and return 0, without
 *   touching any bus;
 *
 * and the helper's own options
 * ([method@Vmstate.Service.add_option_group],
 * [method@Vmstate.Service.add_main_option]). An unknown option, a
 * missing address or Id, or an argument left over prints a usage error
 * on stderr and returns 2. It then emits
 * [signal@Vmstate.Service::handle-options], connects to the bus, exports
 * the service, sends `READY=1` to `NOTIFY_SOCKET` if that is set, emits
 * [signal@Vmstate.Service::ready], and runs a main loop in the
 * thread-default main context until:
 *
 * - SIGTERM or SIGINT: returns 0;
 * - with `--exit-with-parent`, the parent process exits: returns 0;
 * - the connection to the bus closes: returns 1;
 * - [method@Vmstate.Service.quit]: returns its status.
 *
 * It cannot connect or export: returns 1. On the way out it leaves the
 * bus. It stays in the foreground and leaves inherited file descriptors
 * alone. It logs through GLib's structured logging, naming the helper's
 * Id in the message and in a `VMSTATE_HELPER_ID` field.
 *
 * Returns: the exit status
 *
 * Since: 1.0
 */
int
vmstate_service_run (VmstateService  *self,
                     int              argc,
                     char           **argv)
{
  g_auto(BuiltinOptions) builtin = { 0 };
  g_auto(GStrv) args = NULL;
  g_autoptr(GError) error = NULL;
  const char *prgname;
  RunData *run;
  int status;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 1);
  g_return_val_if_fail (argc >= 0, 1);
  g_return_val_if_fail (argc == 0 || argv != NULL, 1);

  run = run_data_get (self);
  g_return_val_if_fail (!run->running, 1);
  g_return_val_if_fail (vmstate_service_get_connection (self) == NULL, 1);

  args = g_new0 (char *, MAX (argc, 1) + 1);
  for (int i = 0; i < argc; i++)
    args[i] = g_strdup (argv[i]);
  if (argc == 0)
    args[0] = g_strdup (g_get_prgname () ? g_get_prgname () : "vmstate-helper");
  prgname = argv != NULL && argc > 0 ? argv[0] : args[0];

  status = parse_options (self, run, &args, &builtin);
  if (status >= 0)
    return status;

  if (builtin.print_capabilities)
    return print_capabilities (self);

  if (g_signal_has_handler_pending (self, run_signals[SIGNAL_HANDLE_OPTIONS], 0, TRUE))
    {
      status = -1;
      g_signal_emit (self, run_signals[SIGNAL_HANDLE_OPTIONS], 0, run->options, &status);
      if (status >= 0)
        return status;
    }

  if (builtin.id != NULL)
    vmstate_service_set_id (self, builtin.id);
  if (vmstate_service_get_id (self) == NULL)
    {
      g_autofree char *program = g_path_get_basename (prgname);

      return usage_error (program, "no Id: the helper sets none, and --dbus-id is not given");
    }
  {
    const char *id = vmstate_service_get_id (self);

    if (!_vmstate_check_id (id, strlen (id), &error))
      {
        g_autofree char *program = g_path_get_basename (prgname);
        g_autofree char *message = g_strdup_printf ("invalid Id \"%s\": %s", id, error->message);

        return usage_error (program, message);
      }
  }
  if (builtin.address == NULL)
    {
      g_autofree char *program = g_path_get_basename (prgname);

      return usage_error (program, "--dbus-address is required");
    }

  set_incoming (self, builtin.incoming);
  return serve (self, run, &builtin);
}
