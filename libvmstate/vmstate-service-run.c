/* vmstate-service-run.c: the helper runtime, vmstate_service_run()
 *
 * Its properties and signals, and the run itself, top to bottom:
 *
 *   vmstate_service_run     parse the command line (vmstate-run-options.c),
 *                           ::handle-options, check the Id and address
 *     -> serve              watch signals and the parent
 *                           (vmstate-run-process.c), connect, export,
 *                           READY=1, wait for an incoming state,
 *                           ::ready, run the main loop
 *     -> leave              undo all that, whatever the way out
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "vmstate-run-private.h"
#include "vmstate-util-private.h"

#define DEFAULT_HELPER_TYPE           "vmstate-helper"
/* A live migration copies the guest's RAM before the helpers' Load comes:
 * minutes for a large guest. */
#define DEFAULT_INCOMING_TIMEOUT_MSEC (5 * 60 * 1000)

enum {
  SIGNAL_HANDLE_OPTIONS,
  SIGNAL_READY,
  N_RUN_SIGNALS
};

static guint run_signals[N_RUN_SIGNALS];
static GQuark run_data_quark;

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

RunData *
_vmstate_run_data_get (VmstateService *self)
{
  RunData *run = g_object_get_qdata (G_OBJECT (self), run_data_quark);

  if (run == NULL)
    {
      run = g_new0 (RunData, 1);
      run->helper_type = g_strdup (DEFAULT_HELPER_TYPE);
      run->features = g_ptr_array_new_with_free_func (g_free);
      run->groups = g_ptr_array_new_with_free_func ((GDestroyNotify) g_option_group_unref);
      run->main_options = g_ptr_array_new_with_free_func (_vmstate_run_main_option_free);
      run->incoming_timeout_msec = DEFAULT_INCOMING_TIMEOUT_MSEC;
      g_object_set_qdata_full (G_OBJECT (self), run_data_quark, run, run_data_free);
    }
  return run;
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
_vmstate_service_run_class_init (VmstateServiceClass  *klass,
                                 GParamSpec          **properties)
{
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
  properties[SERVICE_PROP_INCOMING] =
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
  properties[SERVICE_PROP_INCOMING_TIMEOUT_MSEC] =
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
  properties[SERVICE_PROP_HELPER_TYPE] =
    g_param_spec_string ("helper-type", NULL, NULL, DEFAULT_HELPER_TYPE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

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

  return _vmstate_run_data_get (self)->incoming;
}

static void
set_incoming (VmstateService *self,
              gboolean        incoming)
{
  RunData *run = _vmstate_run_data_get (self);

  if (run->incoming == incoming)
    return;
  run->incoming = incoming;
  _vmstate_service_notify (self, SERVICE_PROP_INCOMING);
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

  return _vmstate_run_data_get (self)->incoming_timeout_msec;
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

  run = _vmstate_run_data_get (self);
  _vmstate_service_set_uint (self, &run->incoming_timeout_msec, timeout_msec,
                             SERVICE_PROP_INCOMING_TIMEOUT_MSEC);
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

  return _vmstate_run_data_get (self)->helper_type;
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

  run = _vmstate_run_data_get (self);
  if (helper_type == NULL)
    helper_type = DEFAULT_HELPER_TYPE;
  if (g_strcmp0 (run->helper_type, helper_type) == 0)
    return;
  g_free (run->helper_type);
  run->helper_type = g_strdup (helper_type);
  _vmstate_service_notify (self, SERVICE_PROP_HELPER_TYPE);
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

  run = _vmstate_run_data_get (self);
  g_return_if_fail (run->running);

  if (run->quitting)
    return;
  run->quitting = TRUE;
  run->exit_status = exit_status;
  g_main_loop_quit (run->loop);
}

/* Waiting for an incoming state (--dbus-incoming) */

static void
stop_waiting_incoming (VmstateService *self)
{
  RunData *run = _vmstate_run_data_get (self);

  g_clear_signal_handler (&run->loaded_id, self);
  if (run->incoming_timeout != NULL)
    {
      g_source_destroy (run->incoming_timeout);
      g_clear_pointer (&run->incoming_timeout, g_source_unref);
    }
}

/* The wait is over: a Load came, or the timeout passed. */
static void
incoming_done (VmstateService *self)
{
  stop_waiting_incoming (self);
  set_incoming (self, FALSE);
}

static void
on_loaded (VmstateService *self,
           gpointer        user_data)
{
  _vmstate_run_log (self, G_LOG_LEVEL_INFO, "its migrated state is loaded (--dbus-incoming)");
  incoming_done (self);
}

static gboolean
on_incoming_timeout (gpointer user_data)
{
  VmstateService *self = user_data;
  RunData *run = _vmstate_run_data_get (self);

  _vmstate_service_log (self, G_LOG_LEVEL_WARNING, "VMSTATE_EVENT", "incoming-timeout",
                        ": started with --dbus-incoming, but no Load came within %u ms; "
                        "going on without a migrated state", run->incoming_timeout_msec);
  incoming_done (self);
  return G_SOURCE_REMOVE;
}

static void
wait_incoming (VmstateService *self,
               GMainContext   *context)
{
  RunData *run = _vmstate_run_data_get (self);

  run->loaded_id = g_signal_connect (self, "loaded", G_CALLBACK (on_loaded), NULL);
  if (run->incoming_timeout_msec > 0)
    {
      run->incoming_timeout = g_timeout_source_new (run->incoming_timeout_msec);
      g_source_set_callback (run->incoming_timeout, on_incoming_timeout, self, NULL);
      g_source_attach (run->incoming_timeout, context);
    }
}

/* Running */

/* GDBusConnection::closed, connected swapped */
static void
on_connection_closed (VmstateService *self,
                      gboolean        remote_peer_vanished,
                      GError         *error)
{
  _vmstate_run_log (self, G_LOG_LEVEL_WARNING,
                    "the connection to the bus closed (%s); exiting with status 1",
                    error != NULL ? error->message : "no reason given");
  vmstate_service_quit (self, 1);
}

/* Undoes what serve() did, whatever it got to; returns the exit
 * status. */
static int
leave (VmstateService  *self,
       GDBusConnection *connection,
       gulong           closed_id)
{
  RunData *run = _vmstate_run_data_get (self);

  stop_waiting_incoming (self);
  if (connection != NULL)
    {
      g_clear_signal_handler (&closed_id, connection);
      vmstate_service_unexport (self);
      /* Let the bus see the name released before we are gone. */
      if (!g_dbus_connection_is_closed (connection))
        g_dbus_connection_flush_sync (connection, NULL, NULL);
    }
  _vmstate_run_unwatch_signals (self);
  _vmstate_run_unwatch_parent (self);
  g_clear_pointer (&run->loop, g_main_loop_unref);
  run->running = FALSE;

  _vmstate_run_log (self, G_LOG_LEVEL_INFO, "exiting with status %d", run->exit_status);
  return run->exit_status;
}

/* Joins the bus and serves until told to stop; returns the exit status. */
static int
serve (VmstateService       *self,
       const BuiltinOptions *builtin)
{
  RunData *run = _vmstate_run_data_get (self);
  g_autoptr(GMainContext) context = g_main_context_ref_thread_default ();
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  gulong closed_id = 0;

  run->loop = g_main_loop_new (context, FALSE);
  run->running = TRUE;
  run->quitting = FALSE;
  run->exit_status = 0;
  run->parent_pid = 0;

  /* Signals first: a SIGTERM from now on is a clean exit. */
  _vmstate_run_watch_signals (self, context);
  if (builtin->exit_with_parent)
    _vmstate_run_watch_parent (self);

  connection = g_dbus_connection_new_for_address_sync (builtin->address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, NULL, &error);
  if (connection == NULL)
    {
      _vmstate_run_log (self, G_LOG_LEVEL_WARNING, "cannot connect to the bus at %s: %s",
                        builtin->address, error->message);
      run->exit_status = 1;
      return leave (self, NULL, 0);
    }
  closed_id = g_signal_connect_swapped (connection, "closed",
                                        G_CALLBACK (on_connection_closed), self);

  if (!vmstate_service_export (self, connection, &error))
    {
      _vmstate_run_log (self, G_LOG_LEVEL_WARNING, "cannot join the bus at %s: %s",
                        builtin->address, error->message);
      run->exit_status = 1;
      return leave (self, connection, closed_id);
    }

  _vmstate_run_notify_ready (self);
  _vmstate_run_log (self, G_LOG_LEVEL_INFO, "on the bus at %s as %s, queued for %s%s",
                    builtin->address, g_dbus_connection_get_unique_name (connection),
                    VMSTATE_DBUS_NAME,
                    run->incoming ? "; waiting for its migrated state (--dbus-incoming)" : "");

  /* It may have died before PR_SET_PDEATHSIG was in place. */
  if (_vmstate_run_parent_exited (self))
    return leave (self, connection, closed_id);

  if (run->incoming)
    wait_incoming (self, context);

  g_signal_emit (self, run_signals[SIGNAL_READY], 0);
  if (!run->quitting)
    g_main_loop_run (run->loop);

  return leave (self, connection, closed_id);
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
  RunData *run;
  int status;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 1);
  g_return_val_if_fail (argc >= 0, 1);
  g_return_val_if_fail (argc == 0 || argv != NULL, 1);

  run = _vmstate_run_data_get (self);
  g_return_val_if_fail (!run->running, 1);
  g_return_val_if_fail (vmstate_service_get_connection (self) == NULL, 1);

  status = _vmstate_run_parse_options (self, argc, argv, &builtin);
  if (status >= 0)
    return status;

  if (builtin.print_capabilities)
    return _vmstate_run_print_capabilities (self);

  if (g_signal_has_handler_pending (self, run_signals[SIGNAL_HANDLE_OPTIONS], 0, TRUE))
    {
      status = -1;
      g_signal_emit (self, run_signals[SIGNAL_HANDLE_OPTIONS], 0, run->options, &status);
      if (status >= 0)
        return status;
    }

  status = _vmstate_run_check_options (self, &builtin);
  if (status >= 0)
    return status;

  set_incoming (self, builtin.incoming);
  return serve (self, &builtin);
}
