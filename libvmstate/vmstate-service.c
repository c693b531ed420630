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

#include <unistd.h>

#include "vmstate-envelope-private.h"
#include "vmstate-error.h"
#include "vmstate-service.h"
#include "vmstate-service-private.h"
#include "vmstate-util-private.h"

/* This file: the class, its properties and signals, and the accessors
 * of the basic properties. The instance data (VmstateServicePrivate)
 * and the property ids are in vmstate-service-private.h. The rest of
 * VmstateService:
 *
 * - vmstate-service-vfuncs.c: save, load and their async forms;
 * - vmstate-service-export.c: export, export_async, unexport;
 * - vmstate-service-calls.c: answering Save and Load on the bus, and
 *   who may call them;
 * - vmstate-service-envelope.c: the envelope properties (issue 13);
 * - vmstate-service-run.c and vmstate-run-*.c: vmstate_service_run(),
 *   the helper runtime. */

enum {
  SIGNAL_LOADED,
  N_SIGNALS
};

static GParamSpec *properties[SERVICE_N_PROPS];
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
    case SERVICE_PROP_ID:
      g_value_set_string (value, priv->id);
      break;
    case SERVICE_PROP_MAX_STATE_SIZE:
      g_value_set_uint (value, priv->max_state_size);
      break;
    case SERVICE_PROP_CONNECTION:
      g_value_set_object (value, priv->connection);
      break;
    case SERVICE_PROP_ALLOWED_UIDS:
      g_value_set_variant (value, priv->allowed_uids);
      break;
    case SERVICE_PROP_STATE_VERSION:
      g_value_set_uint (value, priv->state_version);
      break;
    case SERVICE_PROP_MIN_STATE_VERSION:
      g_value_set_uint (value, priv->min_state_version);
      break;
    case SERVICE_PROP_COMPRESS:
      g_value_set_boolean (value, priv->compress);
      break;
    case SERVICE_PROP_MAX_UNCOMPRESSED_SIZE:
      g_value_set_uint (value, priv->max_uncompressed_size);
      break;
    case SERVICE_PROP_INCOMING:
      g_value_set_boolean (value, vmstate_service_get_incoming (self));
      break;
    case SERVICE_PROP_INCOMING_TIMEOUT_MSEC:
      g_value_set_uint (value, vmstate_service_get_incoming_timeout_msec (self));
      break;
    case SERVICE_PROP_HELPER_TYPE:
      g_value_set_string (value, vmstate_service_get_helper_type (self));
      break;
    default:
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
    case SERVICE_PROP_ID:
      vmstate_service_set_id (self, g_value_get_string (value));
      break;
    case SERVICE_PROP_MAX_STATE_SIZE:
      vmstate_service_set_max_state_size (self, g_value_get_uint (value));
      break;
    case SERVICE_PROP_ALLOWED_UIDS:
      vmstate_service_set_allowed_uids (self, g_value_get_variant (value));
      break;
    case SERVICE_PROP_STATE_VERSION:
      vmstate_service_set_state_version (self, g_value_get_uint (value));
      break;
    case SERVICE_PROP_MIN_STATE_VERSION:
      vmstate_service_set_min_state_version (self, g_value_get_uint (value));
      break;
    case SERVICE_PROP_COMPRESS:
      vmstate_service_set_compress (self, g_value_get_boolean (value));
      break;
    case SERVICE_PROP_MAX_UNCOMPRESSED_SIZE:
      vmstate_service_set_max_uncompressed_size (self, g_value_get_uint (value));
      break;
    case SERVICE_PROP_INCOMING_TIMEOUT_MSEC:
      vmstate_service_set_incoming_timeout_msec (self, g_value_get_uint (value));
      break;
    case SERVICE_PROP_HELPER_TYPE:
      vmstate_service_set_helper_type (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

VmstateServicePrivate *
_vmstate_service_get_private (VmstateService *self)
{
  return vmstate_service_get_instance_private (self);
}

void
_vmstate_service_notify (VmstateService         *self,
                         VmstateServiceProperty  prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

void
_vmstate_service_set_uint (VmstateService         *self,
                           guint                  *field,
                           guint                   value,
                           VmstateServiceProperty  prop)
{
  if (*field == value)
    return;
  *field = value;
  _vmstate_service_notify (self, prop);
}

void
_vmstate_service_emit_loaded (VmstateService *self)
{
  g_signal_emit (self, signals[SIGNAL_LOADED], 0);
}

const char *
_vmstate_service_bus_name (VmstateService *self)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const char *name = NULL;

  if (priv->connection != NULL)
    name = g_dbus_connection_get_unique_name (priv->connection);
  return name != NULL ? name : "not on a bus";
}

void
_vmstate_service_log (VmstateService *self,
                      GLogLevelFlags  level,
                      const char     *field,
                      const char     *value,
                      const char     *format,
                      ...)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const char *id = priv->id ? priv->id : "";
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);

  if (field != NULL)
    g_log_structured (G_LOG_DOMAIN, level,
                      "VMSTATE_HELPER_ID", id,
                      field, value,
                      "MESSAGE", "helper '%s'%s", id, message);
  else
    g_log_structured (G_LOG_DOMAIN, level,
                      "VMSTATE_HELPER_ID", id,
                      "MESSAGE", "helper '%s'%s", id, message);
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

  _vmstate_service_class_init_vfuncs (klass);

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
  properties[SERVICE_PROP_ID] =
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
  properties[SERVICE_PROP_MAX_STATE_SIZE] =
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
  properties[SERVICE_PROP_CONNECTION] =
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
  properties[SERVICE_PROP_ALLOWED_UIDS] =
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
  properties[SERVICE_PROP_STATE_VERSION] =
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
  properties[SERVICE_PROP_MIN_STATE_VERSION] =
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
  properties[SERVICE_PROP_COMPRESS] =
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
  properties[SERVICE_PROP_MAX_UNCOMPRESSED_SIZE] =
    g_param_spec_uint ("max-uncompressed-size", NULL, NULL,
                       0, G_MAXUINT32, VMSTATE_DEFAULT_MAX_UNCOMPRESSED_SIZE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                       G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  _vmstate_service_run_class_init (klass, properties);
  g_object_class_install_properties (object_class, SERVICE_N_PROPS, properties);

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
  _vmstate_service_notify (self, SERVICE_PROP_ID);
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
  _vmstate_service_set_uint (self, &priv->max_state_size, max_state_size,
                             SERVICE_PROP_MAX_STATE_SIZE);
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
    _vmstate_service_notify (self, SERVICE_PROP_ALLOWED_UIDS);
}
