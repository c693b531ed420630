/* vmstate-service.c: the helper side of org.qemu.VMState1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * VmstateService:
 *
 * The helper side of QEMU's `dbus-vmstate` protocol.
 *
 * A helper process (a user-mode network stack, a firewall table, a TPM...)
 * subclasses #VmstateService, implements [vfunc@Vmstate.Service.save] and
 * [vfunc@Vmstate.Service.load], and calls [method@Vmstate.Service.export]
 * (or [method@Vmstate.Service.export_async]) on a connection to the VM's
 * private message bus. The service then:
 *
 * - exports `/org/qemu/VMState1` with the interface `org.qemu.VMState1`
 *   (the read-only `Id` property, `Save() -> ay` and `Load(ay)`);
 * - requests the bus name `org.qemu.VMState1` with queueing allowed, so
 *   that every helper on the bus is a primary or queued owner of it, which
 *   is how QEMU and [class@Vmstate.Collector] find helpers.
 *
 * ## Example
 *
 * A helper whose state is a counter, saved as a version byte and the
 * count in big-endian order:
 *
 * ```c
 * static GBytes *
 * my_helper_save (VmstateService *service, GError **error)
 * {
 *   MyHelper *self = MY_HELPER (service);
 *   guint8 state[9] = { 1 };  // version 1, then the count
 *   guint64 count = GUINT64_TO_BE (self->count);
 *
 *   memcpy (state + 1, &count, sizeof count);
 *   return g_bytes_new (state, sizeof state);
 * }
 *
 * static gboolean
 * my_helper_load (VmstateService *service, GBytes *state, GError **error)
 * {
 *   MyHelper *self = MY_HELPER (service);
 *   gsize size;
 *   const guint8 *data = g_bytes_get_data (state, &size);
 *   guint64 count;
 *
 *   if (size != 9 || data[0] != 1)
 *     {
 *       g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
 *                    "not a version 1 counter state (%" G_GSIZE_FORMAT " bytes)", size);
 *       return FALSE;  // the Load fails; the count is unchanged
 *     }
 *   memcpy (&count, data + 1, sizeof count);
 *   self->count = GUINT64_FROM_BE (count);
 *   return TRUE;
 * }
 *
 * static void
 * my_helper_class_init (MyHelperClass *klass)
 * {
 *   VMSTATE_SERVICE_CLASS (klass)->save = my_helper_save;
 *   VMSTATE_SERVICE_CLASS (klass)->load = my_helper_load;
 * }
 *
 * // in main (), with a connection to the VM's bus:
 * service = g_object_new (MY_TYPE_HELPER, "id", "counter", NULL);
 * if (!vmstate_service_export (service, connection, &error))
 *   g_error ("%s", error->message);
 * g_object_unref (service);  // the export keeps it alive
 * g_main_loop_run (loop);
 * ```
 *
 * The same helper in each language, built and run by the tests, is in
 * the guide: [C](helper-c.html), [Python](helper-python.html),
 * [GJS](helper-gjs.html), [Vala](helper-vala.html).
 *
 * ## Lifetime
 *
 * An exported service keeps itself alive: [method@Vmstate.Service.export]
 * takes a reference that it gives back when the service is unexported,
 * with [method@Vmstate.Service.unexport] or because its connection
 * closed. A helper can therefore export a service and drop every
 * reference of its own (in C, Python or GJS, whose garbage collectors
 * would otherwise take the helper off the bus in the middle of a
 * migration). Dropping the last reference of your own does not unexport
 * the service; call [method@Vmstate.Service.unexport] to leave the bus.
 *
 * ## Where the vfuncs run
 *
 * Everything the service does for a connection happens in the
 * thread-default main context of the thread that exported it (see
 * g_main_context_push_thread_default()): the vfuncs are called there,
 * the [signal@Vmstate.Service::loaded] signal is emitted there, and that
 * context must be running for the helper to answer.
 *
 * ## Errors
 *
 * An error set by a vfunc becomes a D-Bus error reply carrying its
 * message (and its code, for %VMSTATE_ERROR and other registered D-Bus
 * error domains). A vfunc that fails without setting an error (as a
 * language binding does when an unhandled exception escapes, or a GJS
 * `vfunc_load` that does not `return true`) gets an error reply that
 * names the helper and says so: the Load or Save fails, it never
 * succeeds by accident. A state larger than
 * [property@Vmstate.Service:max-state-size] is refused with
 * %VMSTATE_ERROR_STATE_TOO_LARGE, never truncated, in both directions: an
 * oversized Load never reaches the vfunc. An empty state is legal.
 *
 * The helper's side logs every failed Save or Load too, whatever the
 * caller makes of the reply: a message (%G_LOG_LEVEL_MESSAGE, in the
 * `Vmstate` log domain) such as `helper 'counter' (:1.5): Save failed:
 * ...`, logged with g_log_structured() with the fields
 * `VMSTATE_HELPER_ID` and `VMSTATE_METHOD`.
 *
 * ## Asynchronous helpers
 *
 * A helper whose state takes time to gather overrides
 * [vfunc@Vmstate.Service.save_async] and
 * [vfunc@Vmstate.Service.save_finish] (and the load pair) instead, and
 * answers later without blocking its main loop. The defaults call the
 * synchronous vfuncs. The #GCancellable they get is cancelled when the
 * caller leaves the bus (the collector died, or gave up) and when the
 * service is unexported; an implementation that waits should watch it.
 *
 * When a Load succeeded the service emits [signal@Vmstate.Service::loaded]:
 * a helper started in a waiting ("incoming") state resumes on it.
 *
 * ## Who may call Save and Load
 *
 * A service answers `Save` and `Load` only from peers whose uid is in
 * [property@Vmstate.Service:allowed-uids]: by default the service's own
 * effective uid and root. On a message bus the uid of the sender comes
 * from the bus daemon (`GetConnectionUnixUser`) and is cached per unique
 * name for as long as the service stays exported on that connection; on
 * a peer-to-peer connection it is the peer's credentials. Anyone else
 * gets `org.freedesktop.DBus.Error.AccessDenied` and the vfunc is not
 * called. The `Id` property and introspection stay readable by every
 * peer the bus lets through: the Id is how collectors find helpers, and
 * it is not a secret.
 *
 * A service can also be exported on a peer-to-peer connection (one that
 * is not to a message bus): it then registers the object only, since
 * there is no bus name to request.
 *
 * Since: 1.0
 */

#include "config.h"

#include <string.h>
#include <unistd.h>

#include "vmstate-envelope-private.h"
#include "vmstate-error.h"
#include "vmstate-service.h"
#include "vmstate-service-private.h"
#include "vmstate-util-private.h"

/* The instance data (VmstateServicePrivate) is in
 * vmstate-service-private.h; the D-Bus side is vmstate-service-dbus.c. */

enum {
  PROP_0,
  PROP_ID,
  PROP_MAX_STATE_SIZE,
  PROP_CONNECTION,
  PROP_ALLOWED_UIDS,
  PROP_STATE_VERSION,
  PROP_MIN_STATE_VERSION,
  PROP_COMPRESS,
  PROP_MAX_UNCOMPRESSED_SIZE,
  N_PROPS
};

enum {
  SIGNAL_LOADED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_TYPE_WITH_PRIVATE (VmstateService, vmstate_service, G_TYPE_OBJECT)

static void
vmstate_service_dispose (GObject *object)
{
  /* An exported service holds a reference on itself, so it is disposed
   * here only when it is not exported, or when someone forces it with
   * g_object_run_dispose(). */
  vmstate_service_unexport (VMSTATE_SERVICE (object));

  G_OBJECT_CLASS (vmstate_service_parent_class)->dispose (object);
}

static void
vmstate_service_finalize (GObject *object)
{
  VmstateService *self = VMSTATE_SERVICE (object);
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_free (priv->id);
  g_variant_unref (priv->allowed_uids);
  g_hash_table_unref (priv->uid_cache);
  g_ptr_array_unref (priv->calls);

  G_OBJECT_CLASS (vmstate_service_parent_class)->finalize (object);
}

static void
vmstate_service_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  VmstateService *self = VMSTATE_SERVICE (object);
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, priv->id);
      break;
    case PROP_MAX_STATE_SIZE:
      g_value_set_uint (value, priv->max_state_size);
      break;
    case PROP_CONNECTION:
      g_value_set_object (value, priv->connection);
      break;
    case PROP_ALLOWED_UIDS:
      g_value_set_variant (value, priv->allowed_uids);
      break;
    case PROP_STATE_VERSION:
      g_value_set_uint (value, priv->state_version);
      break;
    case PROP_MIN_STATE_VERSION:
      g_value_set_uint (value, priv->min_state_version);
      break;
    case PROP_COMPRESS:
      g_value_set_boolean (value, priv->compress);
      break;
    case PROP_MAX_UNCOMPRESSED_SIZE:
      g_value_set_uint (value, priv->max_uncompressed_size);
      break;
    default:
      if (!_vmstate_service_run_get_property (self, prop_id - N_PROPS, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vmstate_service_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  VmstateService *self = VMSTATE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_ID:
      vmstate_service_set_id (self, g_value_get_string (value));
      break;
    case PROP_MAX_STATE_SIZE:
      vmstate_service_set_max_state_size (self, g_value_get_uint (value));
      break;
    case PROP_ALLOWED_UIDS:
      vmstate_service_set_allowed_uids (self, g_value_get_variant (value));
      break;
    case PROP_STATE_VERSION:
      vmstate_service_set_state_version (self, g_value_get_uint (value));
      break;
    case PROP_MIN_STATE_VERSION:
      vmstate_service_set_min_state_version (self, g_value_get_uint (value));
      break;
    case PROP_COMPRESS:
      vmstate_service_set_compress (self, g_value_get_boolean (value));
      break;
    case PROP_MAX_UNCOMPRESSED_SIZE:
      vmstate_service_set_max_uncompressed_size (self, g_value_get_uint (value));
      break;
    default:
      if (!_vmstate_service_run_set_property (self, prop_id - N_PROPS, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

VmstateServicePrivate *
_vmstate_service_get_private (VmstateService *self)
{
  return vmstate_service_get_instance_private (self);
}

void
_vmstate_service_notify_connection (VmstateService *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);
}

void
_vmstate_service_emit_loaded (VmstateService *self)
{
  g_signal_emit (self, signals[SIGNAL_LOADED], 0);
}

static GBytes *
vmstate_service_real_save (VmstateService  *self,
                           GError         **error)
{
  g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_SUPPORTED,
               "%s does not implement save", G_OBJECT_TYPE_NAME (self));
  return NULL;
}

static gboolean
vmstate_service_real_load (VmstateService  *self,
                           GBytes          *state,
                           GError         **error)
{
  g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_SUPPORTED,
               "%s does not implement load", G_OBJECT_TYPE_NAME (self));
  return FALSE;
}

/* The error for a vfunc that returned failure without an error: what a
 * language binding does when an exception escapes, and what a GJS
 * vfunc_load that forgets to return true does. */
static GError *
no_reason_error (VmstateService *self,
                 const char     *vfunc)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED,
                      "helper '%s' (%s): %s.%s() failed without setting an error "
                      "(a %s that returns FALSE or nothing, such as a GJS vfunc "
                      "that does not return true, or an exception that escaped "
                      "a Python do_ method without the Vmstate override)",
                      priv->id ? priv->id : "", _vmstate_service_bus_name (self),
                      G_OBJECT_TYPE_NAME (self), vfunc, vfunc);
}

static void
vmstate_service_real_save_async (VmstateService      *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  GBytes *state;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, vmstate_service_real_save_async);

  state = vmstate_service_save (self, &error);
  if (state != NULL)
    g_task_return_pointer (task, state, (GDestroyNotify) g_bytes_unref);
  else
    g_task_return_error (task, error);
}

static GBytes *
vmstate_service_real_save_finish (VmstateService  *self,
                                  GAsyncResult    *result,
                                  GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_service_real_save_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
vmstate_service_real_load_async (VmstateService      *self,
                                 GBytes              *state,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, vmstate_service_real_load_async);

  if (vmstate_service_load (self, state, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
vmstate_service_real_load_finish (VmstateService  *self,
                                  GAsyncResult    *result,
                                  GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_service_real_load_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
vmstate_service_class_init (VmstateServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  /* Register the D-Bus error domain before any call can fail, so that
   * the very first error a helper sends keeps its code. */
  (void) vmstate_error_quark ();

  object_class->dispose = vmstate_service_dispose;
  object_class->finalize = vmstate_service_finalize;
  object_class->get_property = vmstate_service_get_property;
  object_class->set_property = vmstate_service_set_property;

  klass->save = vmstate_service_real_save;
  klass->load = vmstate_service_real_load;
  klass->save_async = vmstate_service_real_save_async;
  klass->save_finish = vmstate_service_real_save_finish;
  klass->load_async = vmstate_service_real_load_async;
  klass->load_finish = vmstate_service_real_load_finish;

  /**
   * VmstateService:id: (getter get_id) (setter set_id)
   *
   * The helper's Id, unique on its bus: 1 to 255 bytes of UTF-8. QEMU's
   * `id-list` and [property@Vmstate.Collector:required-ids] name helpers
   * by it, and it keys the helper's entry in the migration blob. It can
   * be changed until the service is exported (`--dbus-id` of
   * [method@Vmstate.Service.run] does), not while it is.
   *
   * Since: 1.0
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:max-state-size:
   *
   * The largest state, in bytes, the service sends from Save or accepts in
   * Load. The default is 1 MiB, QEMU's limit; at most 64 MiB.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_STATE_SIZE] =
    g_param_spec_uint ("max-state-size", NULL, NULL,
                       0, VMSTATE_MAX_MAX_STATE_SIZE, VMSTATE_DEFAULT_MAX_STATE_SIZE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                       G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:connection:
   *
   * The connection the service is exported on, or %NULL when it is not
   * exported.
   *
   * Since: 1.0
   */
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL, G_TYPE_DBUS_CONNECTION,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:allowed-uids: (getter get_allowed_uids) (setter set_allowed_uids)
   *
   * The uids of the peers allowed to call `Save` and `Load`, as a
   * GVariant of type `au`. The default is the service's effective uid and
   * root (0). Setting %NULL or an empty array restores the default; a
   * list that is set replaces the default entirely (root is allowed only
   * if it is listed). Other peers get
   * `org.freedesktop.DBus.Error.AccessDenied`.
   *
   * Since: 1.0
   */
  properties[PROP_ALLOWED_UIDS] =
    g_param_spec_variant ("allowed-uids", NULL, NULL,
                          G_VARIANT_TYPE ("au"), NULL,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:state-version: (getter get_state_version) (setter set_state_version)
   *
   * The version of the helper's state format, or 0 (the default) for a
   * raw state.
   *
   * With 0, Save sends what [vfunc@Vmstate.Service.save] returns and Load
   * gives [vfunc@Vmstate.Service.load] what it was sent, byte for byte,
   * as QEMU's protocol has them.
   *
   * With a version, the state travels in an envelope (see
   * [class@Vmstate.Envelope]): Save wraps what `save` returns with this
   * version and a CRC-32C (compressed if
   * [property@Vmstate.Service:compress] is set) before the
   * [property@Vmstate.Service:max-state-size] check, and Load checks and
   * unwraps what it is sent before `load` runs: a state that is not an
   * envelope (%VMSTATE_ERROR_NOT_ENVELOPE), of a version newer than this
   * one (%VMSTATE_ERROR_VERSION_TOO_NEW) or older than
   * [property@Vmstate.Service:min-state-version]
   * (%VMSTATE_ERROR_VERSION_TOO_OLD), damaged
   * (%VMSTATE_ERROR_BAD_CHECKSUM), malformed
   * (%VMSTATE_ERROR_INVALID_ENVELOPE) or inflating past
   * [property@Vmstate.Service:max-uncompressed-size]
   * (%VMSTATE_ERROR_STATE_TOO_LARGE) never reaches `load`, and the error
   * names the helper and both versions. `load` gets the payload, and
   * [method@Vmstate.Service.get_loading_version] tells it the version it
   * was saved with. See [Evolving your state](evolving.html).
   *
   * Since: 1.0
   */
  properties[PROP_STATE_VERSION] =
    g_param_spec_uint ("state-version", NULL, NULL, 0, G_MAXUINT32, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:min-state-version: (getter get_min_state_version) (setter set_min_state_version)
   *
   * The oldest state version a Load accepts when
   * [property@Vmstate.Service:state-version] is set: older states fail
   * with %VMSTATE_ERROR_VERSION_TOO_OLD before `load` runs. The default,
   * 1, accepts every envelope. 0 also accepts a state that is not an
   * envelope, as version 0: the raw state of this helper from before it
   * set a state-version, so that it can still be migrated from. Not used
   * while the state-version is 0.
   *
   * Since: 1.0
   */
  properties[PROP_MIN_STATE_VERSION] =
    g_param_spec_uint ("min-state-version", NULL, NULL, 0, G_MAXUINT32, 1,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                       G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:compress: (getter get_compress) (setter set_compress)
   *
   * Whether Save compresses the state with zstd (level 1, chosen for
   * speed: Save runs inside the VM's downtime) when
   * [property@Vmstate.Service:state-version] is set. The envelope stores
   * the state compressed only when that makes it smaller. A Load accepts
   * compressed and uncompressed envelopes whatever this is. The default is
   * %FALSE; not used while the state-version is 0.
   *
   * Since: 1.0
   */
  properties[PROP_COMPRESS] =
    g_param_spec_boolean ("compress", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  /**
   * VmstateService:max-uncompressed-size: (getter get_max_uncompressed_size) (setter set_max_uncompressed_size)
   *
   * The largest state, in bytes, that `save` may return and a Load may
   * inflate to, when [property@Vmstate.Service:state-version] is set:
   * a state in an envelope whose header gives more is refused with
   * %VMSTATE_ERROR_STATE_TOO_LARGE before anything is allocated, and one
   * that inflates past what its header gives is stopped there, so a small
   * "bomb" cannot make the helper allocate more than this. The default is
   * 64 MiB. What travels is still bounded by
   * [property@Vmstate.Service:max-state-size].
   *
   * Since: 1.0
   */
  properties[PROP_MAX_UNCOMPRESSED_SIZE] =
    g_param_spec_uint ("max-uncompressed-size", NULL, NULL,
                       0, G_MAXUINT32, VMSTATE_DEFAULT_MAX_UNCOMPRESSED_SIZE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                       G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
  _vmstate_service_run_class_init (klass, N_PROPS);

  /**
   * VmstateService::loaded:
   * @self: the service
   *
   * Emitted after a Load call succeeded and its reply was sent, in the
   * main context the service was exported from. A helper that started
   * in a waiting ("incoming") state, as the destination of a migration,
   * starts its real work here: its state is now the one the source
   * saved.
   *
   * Since: 1.0
   */
  /**
   * VmstateServiceClass::loaded:
   * @self: the service
   *
   * The class closure of [signal@Vmstate.Service::loaded], run after the
   * handlers connected with g_signal_connect() and before those connected
   * after. The default does nothing.
   *
   * A subclass overrides it to act on every successful `Load` without
   * connecting to its own signal: a helper started in a waiting
   * ("incoming") state, as the destination of a migration, resumes its
   * real work here, since its state is now the one the source saved. It
   * runs in the thread-default main context of the thread that exported
   * the service, once the reply to the `Load` call has been sent, so the
   * collector (QEMU) is not kept waiting for it. Not emitted for a `Load`
   * that failed.
   *
   * Since: 1.0
   */
  signals[SIGNAL_LOADED] =
    g_signal_new ("loaded",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  G_STRUCT_OFFSET (VmstateServiceClass, loaded),
                  NULL, NULL, NULL,
                  G_TYPE_NONE, 0);
}

static GVariant *
default_allowed_uids (void)
{
  guint32 uids[2] = { geteuid (), 0 };

  return g_variant_ref_sink (g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, uids,
                                                        uids[0] == 0 ? 1 : 2,
                                                        sizeof (guint32)));
}

static void
vmstate_service_init (VmstateService *self)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  priv->allowed_uids = default_allowed_uids ();
  priv->uid_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  priv->calls = g_ptr_array_new ();
}

/**
 * vmstate_service_get_id: (get-property id)
 * @self: a #VmstateService
 *
 * Gets the helper's Id.
 *
 * Returns: (nullable): the Id
 *
 * Since: 1.0
 */
const char *
vmstate_service_get_id (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);

  priv = vmstate_service_get_instance_private (self);
  return priv->id;
}

/**
 * vmstate_service_set_id: (set-property id)
 * @self: a #VmstateService
 * @id: (nullable): the helper's Id
 *
 * Sets [property@Vmstate.Service:id]. The Id cannot change while the
 * service is exported (collectors and QEMU know the helper by it): doing
 * so is a programming error.
 *
 * Since: 1.0
 */
void
vmstate_service_set_id (VmstateService *self,
                        const char     *id)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = vmstate_service_get_instance_private (self);
  g_return_if_fail (priv->connection == NULL);

  if (g_strcmp0 (priv->id, id) == 0)
    return;
  g_free (priv->id);
  priv->id = g_strdup (id);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ID]);
}

/**
 * vmstate_service_get_max_state_size:
 * @self: a #VmstateService
 *
 * Gets [property@Vmstate.Service:max-state-size].
 *
 * Returns: the largest state in bytes
 *
 * Since: 1.0
 */
guint
vmstate_service_get_max_state_size (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = vmstate_service_get_instance_private (self);
  return priv->max_state_size;
}

/**
 * vmstate_service_set_max_state_size:
 * @self: a #VmstateService
 * @max_state_size: the largest state in bytes, at most 64 MiB
 *
 * Sets [property@Vmstate.Service:max-state-size].
 *
 * Since: 1.0
 */
void
vmstate_service_set_max_state_size (VmstateService *self,
                                    guint           max_state_size)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (max_state_size <= VMSTATE_MAX_MAX_STATE_SIZE);

  priv = vmstate_service_get_instance_private (self);
  if (priv->max_state_size == max_state_size)
    return;
  priv->max_state_size = max_state_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_STATE_SIZE]);
}

/**
 * vmstate_service_get_connection:
 * @self: a #VmstateService
 *
 * Gets the connection the service is exported on.
 *
 * Returns: (transfer none) (nullable): the connection, or %NULL when the
 *   service is not exported
 *
 * Since: 1.0
 */
GDBusConnection *
vmstate_service_get_connection (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);

  priv = vmstate_service_get_instance_private (self);
  return priv->exported ? priv->connection : NULL;
}

/**
 * vmstate_service_get_allowed_uids: (get-property allowed-uids)
 * @self: a #VmstateService
 *
 * Gets the uids of the peers allowed to call `Save` and `Load`; see
 * [property@Vmstate.Service:allowed-uids].
 *
 * Returns: (transfer none): the uids, a #GVariant of type `au`, valid
 *   until they are changed
 *
 * Since: 1.0
 */
GVariant *
vmstate_service_get_allowed_uids (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);

  priv = vmstate_service_get_instance_private (self);
  return priv->allowed_uids;
}

/**
 * vmstate_service_set_allowed_uids: (set-property allowed-uids)
 * @self: a #VmstateService
 * @uids: (nullable): the allowed uids, a #GVariant of type `au`, or
 *   %NULL for the default
 *
 * Sets the uids of the peers allowed to call `Save` and `Load`; see
 * [property@Vmstate.Service:allowed-uids]. %NULL or an empty array
 * restores the default: the service's effective uid and root. A call
 * already being checked is checked against the list set when its
 * sender's uid is known.
 *
 * From C, build the list with g_variant_new_fixed_array():
 *
 * ```c
 * guint32 uids[] = { 0, 107 };
 * vmstate_service_set_allowed_uids (service,
 *   g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32, uids, 2, sizeof (guint32)));
 * ```
 *
 * Since: 1.0
 */
void
vmstate_service_set_allowed_uids (VmstateService *self,
                                  GVariant       *uids)
{
  VmstateServicePrivate *priv;
  g_autoptr(GVariant) old = NULL;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (uids == NULL || g_variant_is_of_type (uids, G_VARIANT_TYPE ("au")));

  priv = vmstate_service_get_instance_private (self);
  old = g_steal_pointer (&priv->allowed_uids);
  if (uids == NULL || g_variant_n_children (uids) == 0)
    {
      if (uids != NULL)
        g_variant_unref (g_variant_ref_sink (uids));
      priv->allowed_uids = default_allowed_uids ();
    }
  else
    priv->allowed_uids = g_variant_ref_sink (uids);

  if (!g_variant_equal (old, priv->allowed_uids))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOWED_UIDS]);
}

/**
 * vmstate_service_export:
 * @self: a #VmstateService
 * @connection: a connection to the VM's private message bus
 * @error: return location for a #GError
 *
 * Exports the service on @connection: registers `/org/qemu/VMState1`
 * and requests the bus name `org.qemu.VMState1` with queueing allowed.
 * When this returns %TRUE the name request has been answered, so a
 * collector listing the bus from then on sees this helper. This blocks
 * until the bus daemon answers; [method@Vmstate.Service.export_async]
 * does not.
 *
 * The service then keeps itself alive until
 * [method@Vmstate.Service.unexport] or until @connection closes, and
 * answers calls in the thread-default main context of the caller.
 *
 * One service can be exported per connection. On a peer-to-peer
 * connection (not to a message bus) only the object is registered. If
 * the connection already owns the name (something else on it asked for
 * it), the service uses it and leaves it to its owner when unexported.
 *
 * Returns: %TRUE on success; %FALSE with @error set, to
 *   %VMSTATE_ERROR_INVALID_ID if the Id is not valid, to
 *   %VMSTATE_ERROR_EXPORTED if the service is already exported or the
 *   object path is taken on @connection, or to %VMSTATE_ERROR_FAILED if
 *   the bus did not queue the name
 *
 * Since: 1.0
 */
gboolean
vmstate_service_export (VmstateService   *self,
                        GDBusConnection  *connection,
                        GError          **error)
{
  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return _vmstate_service_export (self, connection, error);
}

/**
 * vmstate_service_export_async:
 * @self: a #VmstateService
 * @connection: a connection to the VM's private message bus
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the service is exported
 * @user_data: data for @callback
 *
 * Exports the service on @connection without blocking; see
 * [method@Vmstate.Service.export]. The object is registered at once;
 * @callback is called when the bus daemon has answered the name request,
 * in the thread-default main context of the caller. Cancelling
 * @cancellable unexports the service again, and so does a failure.
 *
 * Since: 1.0
 */
void
vmstate_service_export_async (VmstateService      *self,
                              GDBusConnection     *connection,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (G_IS_DBUS_CONNECTION (connection));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, vmstate_service_export_async);
  /* The outcome is decided in on_request_name (vmstate-service-dbus.c),
   * not by the cancellable alone: a name the bus gave us must be given
   * back first. */
  g_task_set_check_cancellable (task, FALSE);
  _vmstate_service_export_async (self, connection, g_steal_pointer (&task));
}

/**
 * vmstate_service_export_finish:
 * @self: a #VmstateService
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Vmstate.Service.export_async].
 *
 * Returns: %TRUE if the service is exported; %FALSE with @error set, as
 *   for [method@Vmstate.Service.export], or to %G_IO_ERROR_CANCELLED
 *
 * Since: 1.0
 */
gboolean
vmstate_service_export_finish (VmstateService  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_service_export_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * vmstate_service_unexport:
 * @self: a #VmstateService
 *
 * Undoes [method@Vmstate.Service.export]: unregisters the object,
 * releases the bus name if the export took it, cancels the Save and Load
 * calls still being answered (their vfuncs see their #GCancellable
 * cancelled) and drops the reference the export took, which may
 * finalize the service. Does nothing if the service is not exported.
 *
 * This is the way to take a helper off the bus: dropping your own
 * references does not, since an exported service keeps itself alive. A
 * service is also unexported when its connection closes.
 *
 * Since: 1.0
 */
void
vmstate_service_unexport (VmstateService *self)
{
  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  _vmstate_service_unexport (self);
}

/**
 * vmstate_service_save:
 * @self: a #VmstateService
 * @error: return location for a #GError
 *
 * Gets the helper's state: the bytes its `Save` D-Bus method answers.
 *
 * This is the virtual function a helper implements: `save` in C and
 * Vala, `do_save` in Python, `vfunc_save` in GJS. The service calls it
 * (through the default [vfunc@Vmstate.Service.save_async]) for every
 * `Save` call from an allowed peer, on the source of a migration. QEMU
 * calls `Save` while the VM is stopped, so every millisecond spent here
 * is downtime.
 *
 * What it must do: return the helper's whole state as a new #GBytes, in a
 * form that [vfunc@Vmstate.Service.load] on the destination (perhaps a
 * newer version of the helper) can restore, and change nothing. The
 * helper keeps running after `Save`, and if the migration fails the VM
 * resumes on the source with this helper. Start the state with a version
 * byte: it lets a newer helper recognise an older state, and QEMU 7.2
 * cannot migrate an empty state (see [Limits](limits.html)).
 *
 * Where it runs: in the thread-default main context of the thread that
 * exported the service (see [method@Vmstate.Service.export]), which must
 * be running for the helper to answer. The helper answers nothing else
 * until the vfunc returns: a helper whose state takes time to gather
 * implements [vfunc@Vmstate.Service.save_async] instead.
 *
 * What an error does: return %NULL with @error set, and the caller gets
 * a D-Bus error reply carrying the error's message. Its code survives the
 * bus for %VMSTATE_ERROR and for every other domain registered as a D-Bus
 * error domain (g_dbus_error_register_error_domain()), and the service
 * logs it on the helper's side too. [class@Vmstate.Collector] fails
 * the whole save with an error naming the helper, keeping a
 * %VMSTATE_ERROR code and reporting any other error as
 * %VMSTATE_ERROR_HELPER_FAILED. A vfunc that returns %NULL without
 * setting @error (what a language binding does when an exception
 * escapes) fails the `Save` too, with %VMSTATE_ERROR_HELPER_FAILED naming
 * the helper; one that returns a state and sets @error fails, with a
 * warning.
 *
 * The size limit: a state larger than
 * [property@Vmstate.Service:max-state-size] (1 MiB by default, QEMU's
 * limit) is never sent, truncated or whole: the `Save` fails with
 * %VMSTATE_ERROR_STATE_TOO_LARGE.
 *
 * Calling this method calls the vfunc, with the same checks on what it
 * returns.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_service_save (VmstateService  *self,
                      GError         **error)
{
  GError *local_error = NULL;
  GBytes *state;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  state = VMSTATE_SERVICE_GET_CLASS (self)->save (self, &local_error);
  if (state != NULL && local_error != NULL)
    {
      g_warning ("%s.save() returned a state and set an error; the error wins: %s",
                 G_OBJECT_TYPE_NAME (self), local_error->message);
      g_clear_pointer (&state, g_bytes_unref);
    }
  if (state == NULL && local_error == NULL)
    local_error = no_reason_error (self, "save");
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return state;
}

/**
 * vmstate_service_load:
 * @self: a #VmstateService
 * @state: the state to restore, as the source's save returned it
 * @error: return location for a #GError
 *
 * Restores the helper's state from the bytes of a `Load` D-Bus call.
 *
 * This is the virtual function a helper implements: `load` in C and
 * Vala, `do_load` in Python, `vfunc_load` in GJS. The service calls it
 * (through the default [vfunc@Vmstate.Service.load_async]) for every
 * `Load` call from an allowed peer, on the destination of a migration,
 * before the VM runs there.
 *
 * What it must do: check @state completely, then make it the helper's
 * state, and return %TRUE. @state is exactly what
 * [vfunc@Vmstate.Service.save] returned on the source, possibly from an
 * older version of the helper. Validate it before changing anything: a
 * failed `Load` fails the incoming migration, and the helper should be
 * left as it was. After a successful `Load` the service emits
 * [signal@Vmstate.Service::loaded].
 *
 * It must return %TRUE (`true` in GJS and Vala) to succeed. The vfunc
 * follows the GError rules: %TRUE, or %FALSE with @error set. A GJS
 * `vfunc_load` that ends without `return true` returns `undefined`, that
 * is %FALSE, and the `Load` fails; with the Python override a `do_load`
 * that simply ends has succeeded.
 *
 * Where it runs: in the thread-default main context of the thread that
 * exported the service (see [method@Vmstate.Service.export]), which must
 * be running for the helper to answer. The helper answers nothing else
 * until the vfunc returns: a helper that needs time implements
 * [vfunc@Vmstate.Service.load_async] instead.
 *
 * What an error does: the caller gets a D-Bus error reply carrying the
 * error's message, and its code survives the bus for %VMSTATE_ERROR and
 * every other domain registered as a D-Bus error domain; the service logs
 * it on the helper's side too.
 * [class@Vmstate.Collector]
 * fails the load with an error naming the helper (%VMSTATE_ERROR_HELPER_FAILED
 * unless the code was of %VMSTATE_ERROR); QEMU fails the incoming
 * migration. A vfunc that returns %FALSE without setting @error fails the
 * `Load` with %VMSTATE_ERROR_HELPER_FAILED naming the helper; one that
 * returns %TRUE and sets @error fails, with a warning.
 *
 * The size limit: a state larger than
 * [property@Vmstate.Service:max-state-size] (1 MiB by default, QEMU's
 * limit) never reaches the vfunc: the service refuses the `Load` with
 * %VMSTATE_ERROR_STATE_TOO_LARGE.
 *
 * Calling this method calls the vfunc, with the same checks on what it
 * returns.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
vmstate_service_load (VmstateService  *self,
                      GBytes          *state,
                      GError         **error)
{
  GError *local_error = NULL;
  gboolean ok;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (state != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ok = VMSTATE_SERVICE_GET_CLASS (self)->load (self, state, &local_error);
  if (ok && local_error != NULL)
    {
      g_warning ("%s.load() returned TRUE and set an error; the error wins: %s",
                 G_OBJECT_TYPE_NAME (self), local_error->message);
      ok = FALSE;
    }
  if (!ok && local_error == NULL)
    local_error = no_reason_error (self, "load");
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return ok;
}

/**
 * vmstate_service_save_async:
 * @self: a #VmstateService
 * @cancellable: (nullable): cancelled when the caller leaves the bus or
 *   the service is unexported
 * @callback: (scope async): called when the state is ready
 * @user_data: data for @callback
 *
 * Gets the helper's state without blocking: the asynchronous form of
 * [vfunc@Vmstate.Service.save].
 *
 * The service calls this virtual function for every `Save` call from an
 * allowed peer, in the thread-default main context of the thread that
 * exported it, and answers the call from
 * [vfunc@Vmstate.Service.save_finish]. The default implementation calls
 * [vfunc@Vmstate.Service.save] and completes at once.
 *
 * A helper whose state takes time to gather (it asks a kernel, another
 * process or a worker thread) overrides this and `save_finish` together:
 * start the work, return, and call @callback later in the same main
 * context (a #GTask does all of that). Meanwhile the helper keeps
 * answering its other callers.
 *
 * @cancellable is cancelled when the caller leaves the bus (the
 * collector died or gave up) and when the service is unexported: an
 * implementation that waits should watch it and stop, since nobody will
 * read the answer. The rules of [vfunc@Vmstate.Service.save] for the
 * state and for errors apply to what `save_finish` returns, and so does
 * the limit of [property@Vmstate.Service:max-state-size] (1 MiB by
 * default).
 *
 * Since: 1.0
 */
void
vmstate_service_save_async (VmstateService      *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  VMSTATE_SERVICE_GET_CLASS (self)->save_async (self, cancellable, callback, user_data);
}

/**
 * vmstate_service_save_finish:
 * @self: a #VmstateService
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes getting the state that [vfunc@Vmstate.Service.save_async]
 * started, and returns it.
 *
 * As a virtual function, it is overridden together with `save_async`,
 * and gets the #GAsyncResult that `save_async` gave its callback. It
 * returns the state as [vfunc@Vmstate.Service.save] does: a new #GBytes
 * of at most [property@Vmstate.Service:max-state-size] bytes, or %NULL
 * with @error set, which the caller gets as a D-Bus error reply (see
 * [vfunc@Vmstate.Service.save] for what the error and the state become).
 * Returning %NULL without setting @error fails the `Save` with
 * %VMSTATE_ERROR_HELPER_FAILED naming the helper.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_service_save_finish (VmstateService  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  GError *local_error = NULL;
  GBytes *state;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  state = VMSTATE_SERVICE_GET_CLASS (self)->save_finish (self, result, &local_error);
  if (state == NULL && local_error == NULL)
    local_error = no_reason_error (self, "save_finish");
  if (local_error != NULL)
    {
      g_clear_pointer (&state, g_bytes_unref);
      g_propagate_error (error, local_error);
    }
  return state;
}

/**
 * vmstate_service_load_async:
 * @self: a #VmstateService
 * @state: the state to restore, as the source's save returned it
 * @cancellable: (nullable): cancelled when the caller leaves the bus or
 *   the service is unexported
 * @callback: (scope async): called when the state is restored
 * @user_data: data for @callback
 *
 * Restores the helper's state without blocking: the asynchronous form of
 * [vfunc@Vmstate.Service.load].
 *
 * The service calls this virtual function for every `Load` call from an
 * allowed peer, in the thread-default main context of the thread that
 * exported it, and answers the call from
 * [vfunc@Vmstate.Service.load_finish]. The default implementation calls
 * [vfunc@Vmstate.Service.load] and completes at once.
 *
 * A helper that needs time to apply its state overrides this and
 * `load_finish` together: start the work, return, and call @callback
 * later in the same main context (a #GTask does all of that). @state is
 * at most [property@Vmstate.Service:max-state-size] bytes: a larger
 * `Load` is refused before this is called.
 *
 * @cancellable is cancelled when the caller leaves the bus (the
 * collector died or gave up) and when the service is unexported: an
 * implementation that waits should watch it. The rules of
 * [vfunc@Vmstate.Service.load] apply to the outcome: validate before
 * changing anything, and fail with an error that the caller gets as a
 * D-Bus error reply.
 *
 * Since: 1.0
 */
void
vmstate_service_load_async (VmstateService      *self,
                            GBytes              *state,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (state != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  VMSTATE_SERVICE_GET_CLASS (self)->load_async (self, state, cancellable, callback, user_data);
}

/**
 * vmstate_service_load_finish:
 * @self: a #VmstateService
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes restoring the state that [vfunc@Vmstate.Service.load_async]
 * started.
 *
 * As a virtual function, it is overridden together with `load_async`,
 * and gets the #GAsyncResult that `load_async` gave its callback. It
 * must return %TRUE when the state was restored (the service then answers
 * the `Load` and emits [signal@Vmstate.Service::loaded]), or %FALSE with
 * @error set, which the caller gets as a D-Bus error reply (see
 * [vfunc@Vmstate.Service.load]). %FALSE without an error fails the `Load`
 * with %VMSTATE_ERROR_HELPER_FAILED naming the helper.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
vmstate_service_load_finish (VmstateService  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  GError *local_error = NULL;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (VMSTATE_SERVICE_GET_CLASS (self)->load_finish (self, result, &local_error))
    {
      if (local_error == NULL)
        return TRUE;
      g_warning ("%s.load_finish() returned TRUE and set an error; the error wins: %s",
                 G_OBJECT_TYPE_NAME (self), local_error->message);
    }
  if (local_error == NULL)
    local_error = no_reason_error (self, "load_finish");
  g_propagate_error (error, local_error);
  return FALSE;
}

/* Envelopes (issue 13): the properties, and the version being loaded */

/**
 * vmstate_service_get_state_version: (get-property state-version)
 * @self: a #VmstateService
 *
 * Gets the version of the helper's state format, 0 for a raw state.
 *
 * Returns: the state version
 *
 * Since: 1.0
 */
guint
vmstate_service_get_state_version (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = vmstate_service_get_instance_private (self);
  return priv->state_version;
}

/**
 * vmstate_service_set_state_version: (set-property state-version)
 * @self: a #VmstateService
 * @state_version: the version of the state format, 0 for a raw state
 *
 * Sets the version of the helper's state format: with 1 or more, states
 * travel in an envelope (see [property@Vmstate.Service:state-version]).
 *
 * Since: 1.0
 */
void
vmstate_service_set_state_version (VmstateService *self,
                                   guint           state_version)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = vmstate_service_get_instance_private (self);
  if (priv->state_version == state_version)
    return;
  priv->state_version = state_version;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE_VERSION]);
}

/**
 * vmstate_service_get_min_state_version: (get-property min-state-version)
 * @self: a #VmstateService
 *
 * Gets the oldest state version a Load accepts.
 *
 * Returns: the oldest accepted version
 *
 * Since: 1.0
 */
guint
vmstate_service_get_min_state_version (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = vmstate_service_get_instance_private (self);
  return priv->min_state_version;
}

/**
 * vmstate_service_set_min_state_version: (set-property min-state-version)
 * @self: a #VmstateService
 * @min_state_version: the oldest state version to accept; 0 also accepts
 *   raw states
 *
 * Sets the oldest state version a Load accepts (see
 * [property@Vmstate.Service:min-state-version]).
 *
 * Since: 1.0
 */
void
vmstate_service_set_min_state_version (VmstateService *self,
                                       guint           min_state_version)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = vmstate_service_get_instance_private (self);
  if (priv->min_state_version == min_state_version)
    return;
  priv->min_state_version = min_state_version;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MIN_STATE_VERSION]);
}

/**
 * vmstate_service_get_compress: (get-property compress)
 * @self: a #VmstateService
 *
 * Gets whether Save compresses states in envelopes.
 *
 * Returns: %TRUE if Save compresses
 *
 * Since: 1.0
 */
gboolean
vmstate_service_get_compress (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);

  priv = vmstate_service_get_instance_private (self);
  return priv->compress;
}

/**
 * vmstate_service_set_compress: (set-property compress)
 * @self: a #VmstateService
 * @compress: whether to compress
 *
 * Sets whether Save compresses states in envelopes with zstd (see
 * [property@Vmstate.Service:compress]).
 *
 * Since: 1.0
 */
void
vmstate_service_set_compress (VmstateService *self,
                              gboolean        compress)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = vmstate_service_get_instance_private (self);
  compress = !!compress;
  if (priv->compress == compress)
    return;
  priv->compress = compress;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPRESS]);
}

/**
 * vmstate_service_get_max_uncompressed_size: (get-property max-uncompressed-size)
 * @self: a #VmstateService
 *
 * Gets the largest state, uncompressed, that Save sends or a Load
 * inflates to when states travel in envelopes.
 *
 * Returns: the size in bytes
 *
 * Since: 1.0
 */
guint
vmstate_service_get_max_uncompressed_size (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = vmstate_service_get_instance_private (self);
  return priv->max_uncompressed_size;
}

/**
 * vmstate_service_set_max_uncompressed_size: (set-property max-uncompressed-size)
 * @self: a #VmstateService
 * @max_uncompressed_size: the size in bytes
 *
 * Sets the largest state, uncompressed, that Save sends or a Load
 * inflates to (see [property@Vmstate.Service:max-uncompressed-size]).
 *
 * Since: 1.0
 */
void
vmstate_service_set_max_uncompressed_size (VmstateService *self,
                                           guint           max_uncompressed_size)
{
  VmstateServicePrivate *priv;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = vmstate_service_get_instance_private (self);
  if (priv->max_uncompressed_size == max_uncompressed_size)
    return;
  priv->max_uncompressed_size = max_uncompressed_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_UNCOMPRESSED_SIZE]);
}

/**
 * vmstate_service_get_loading_version:
 * @self: a #VmstateService
 *
 * Gets the version of the state being loaded, so that
 * [vfunc@Vmstate.Service.load] can convert an older format.
 *
 * It is valid while the service calls [vfunc@Vmstate.Service.load] or
 * [vfunc@Vmstate.Service.load_async] for a `Load` call (an asynchronous
 * implementation reads it before it returns): the version in the
 * envelope of the state, or 0 for a raw state (with
 * [property@Vmstate.Service:state-version] 0, or
 * [property@Vmstate.Service:min-state-version] 0 and a state from before
 * envelopes). It is 0 at any other time.
 *
 * ```python
 * def do_load(self, state):
 *     if self.get_loading_version() == 1:
 *         state = upgrade_v1_to_v2(state)
 *     ...
 * ```
 *
 * Returns: the version of the state being loaded
 *
 * Since: 1.0
 */
guint
vmstate_service_get_loading_version (VmstateService *self)
{
  VmstateServicePrivate *priv;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

  priv = vmstate_service_get_instance_private (self);
  return priv->loading_version;
}
