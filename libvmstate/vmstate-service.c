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

/* RequestName's answers (the D-Bus specification). */
#define REQUEST_NAME_PRIMARY_OWNER 1
#define REQUEST_NAME_IN_QUEUE      2
#define REQUEST_NAME_EXISTS        3
#define REQUEST_NAME_ALREADY_OWNER 4

typedef struct
{
  char            *id;
  guint            max_state_size;
  /* "au": who may call Save and Load; never NULL */
  GVariant        *allowed_uids;

  /* Set from export until unexport. While it is set the service holds a
   * reference on itself (see "Lifetime" above). */
  GDBusConnection *connection;
  /* The thread-default context at export: where everything runs. */
  GMainContext    *context;
  guint            registration_id;
  guint            name_owner_changed_id;
  gulong           closed_id;
  /* RequestName queued us or made us the owner, so unexport releases
   * the name; FALSE when the connection already held it. */
  gboolean         owns_name;
  /* TRUE once the name request was answered (export has finished). */
  gboolean         exported;
  /* Bumped by every export and unexport: an answer from the bus daemon
   * that was asked under another generation is stale. */
  guint            generation;
  /* sender unique name -> uid + 1 (so that 0 is "not cached"), for
   * this connection and this export only */
  GHashTable      *uid_cache;
  /* Call *: the Save and Load calls being answered */
  GPtrArray       *calls;

  /* Envelopes (issue 13, vmstate-envelope.c): state_version 0 is raw */
  guint            state_version;
  guint            min_state_version;
  gboolean         compress;
  guint            max_uncompressed_size;
  /* the version of the state being given to load or load_async */
  guint            loading_version;
} VmstateServicePrivate;

/* The cache is emptied when it grows past this to bound its memory. */
#define UID_CACHE_MAX 256

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

/* The unique name of the service on its bus, for messages. */
static const char *
service_bus_name (VmstateService *self)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const char *name = NULL;

  if (priv->connection != NULL)
    name = g_dbus_connection_get_unique_name (priv->connection);
  return name != NULL ? name : "not on a bus";
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
                      priv->id ? priv->id : "", service_bus_name (self),
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

/* D-Bus glue */

/* A Save or Load call being answered. */
typedef struct
{
  VmstateService        *self;
  /* until it is answered: every return_*() takes it over */
  GDBusMethodInvocation *invocation;
  /* NULL on a peer-to-peer connection */
  char                  *sender;
  /* cancelled when the caller leaves the bus or the service is
   * unexported; given to the vfuncs */
  GCancellable          *cancellable;
  /* the export this call came in under */
  guint                  generation;
  /* the bus daemon is being asked who the sender is */
  gboolean               asking_uid;
} Call;

static Call *
call_new (VmstateService        *self,
          GDBusMethodInvocation *invocation)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = invocation;
  call->sender = g_strdup (g_dbus_method_invocation_get_sender (invocation));
  call->cancellable = g_cancellable_new ();
  call->generation = priv->generation;
  g_ptr_array_add (priv->calls, call);
  return call;
}

static void
call_free (Call *call)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (call->self);

  g_assert (call->invocation == NULL);
  g_ptr_array_remove_fast (priv->calls, call);
  g_object_unref (call->cancellable);
  g_free (call->sender);
  g_object_unref (call->self);
  g_free (call);
}

/* Whether the service is still exported as it was when @call came in. */
static gboolean
call_is_current (Call *call)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (call->self);

  return priv->connection != NULL && call->generation == priv->generation;
}

/* Says on the helper's side why a Save or Load failed: the caller may
 * show the error somewhere else, or badly (GJS's own message for a
 * vfunc_save that returns the wrong type names no helper). A message,
 * not a warning: a failure can be the helper's intent (a state it does
 * not accept), and warnings abort GTest programs. Structured, so that
 * the journal keeps the Id and the method as fields. */
static void
log_call_failed (VmstateService *self,
                 const char     *method,
                 const GError   *error)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    "VMSTATE_HELPER_ID", priv->id ? priv->id : "",
                    "VMSTATE_METHOD", method,
                    "MESSAGE", "helper '%s' (%s): %s failed: %s",
                    priv->id ? priv->id : "", service_bus_name (self),
                    method, error->message);
}

/* Answers @call with an error and frees it. */
static void
call_return_error (Call       *call,
                   GQuark      domain,
                   int         code,
                   const char *format,
                   ...) G_GNUC_PRINTF (4, 5);

static void
call_return_error (Call       *call,
                   GQuark      domain,
                   int         code,
                   const char *format,
                   ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  /* A VMSTATE_ERROR here is a state too large to send or to load: a
   * failure of the helper's to log. The refusals of other domains (a
   * caller not allowed, a service unexported) are not. */
  if (domain == VMSTATE_ERROR)
    {
      g_autoptr(GError) error = g_error_new_literal (domain, code, message);

      log_call_failed (call->self, g_dbus_method_invocation_get_method_name (call->invocation),
                       error);
    }
  g_dbus_method_invocation_return_error_literal (g_steal_pointer (&call->invocation),
                                                 domain, code, message);
  call_free (call);
}

static void
call_return_unexported (Call *call)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (call->self);

  call_return_error (call, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                     "helper '%s' was unexported before it answered %s",
                     priv->id,
                     g_dbus_method_invocation_get_method_name (call->invocation));
}

/* Which limit refused a state, and how to raise it. */
#define MAX_STATE_SIZE_HINT \
  "the limit is the helper's VmstateService:max-state-size, 1 MiB by default; " \
  "raise it with vmstate_service_set_max_state_size(), up to 64 MiB, and the " \
  "collector's max-state-size with it; QEMU accepts no state over 1 MiB"

static void
on_save_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;
  VmstateService *self = call->self;
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  g_autoptr(GBytes) state = NULL;
  g_autoptr(GError) error = NULL;
  gsize size;

  state = vmstate_service_save_finish (self, result, &error);
  if (state == NULL)
    {
      log_call_failed (self, "Save", error);
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      call_free (call);
      return;
    }

  /* Never send a state once the service is unexported: the caller may
   * be someone the next export would not let in. */
  if (!call_is_current (call))
    {
      call_return_unexported (call);
      return;
    }

  /* Issue 13: the envelope, before the size check */
  if (priv->state_version > 0)
    {
      GBytes *raw = g_steal_pointer (&state);

      state = _vmstate_envelope_wrap_for_service (raw, priv->state_version, priv->compress,
                                                  priv->max_uncompressed_size, priv->id,
                                                  service_bus_name (self), &error);
      size = g_bytes_get_size (raw);
      g_bytes_unref (raw);
      if (state == NULL)
        {
          log_call_failed (self, "Save", error);
          g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
          call_free (call);
          return;
        }
      if (g_bytes_get_size (state) > priv->max_state_size)
        {
          call_return_error (call, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                             "helper '%s' has a state of %" G_GSIZE_FORMAT " bytes, %s"
                             " to %" G_GSIZE_FORMAT " bytes, more than its max-state-size"
                             " of %u bytes; refusing to send a truncated state",
                             priv->id, size, priv->compress ? "compressed and enveloped" : "enveloped",
                             g_bytes_get_size (state), priv->max_state_size);
          return;
        }
    }

  size = g_bytes_get_size (state);
  if (size > priv->max_state_size)
    {
      g_autofree char *id = _vmstate_abbreviate_id (priv->id);

      call_return_error (call, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                         "helper '%s' has a state of %" G_GSIZE_FORMAT
                         " bytes, more than its max-state-size of %u "
                         "bytes; refusing to send a truncated state "
                         "(" MAX_STATE_SIZE_HINT ")",
                         id, size, priv->max_state_size);
      return;
    }

  g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation),
                                         g_variant_new ("(@ay)",
                                                        g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                                  state, TRUE)));
  call_free (call);
}

static void
on_load_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(VmstateService) self = g_object_ref (call->self);
  g_autoptr(GError) error = NULL;

  if (!vmstate_service_load_finish (self, result, &error))
    {
      log_call_failed (self, "Load", error);
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      call_free (call);
      return;
    }

  /* The state is loaded even if the service was unexported meanwhile:
   * say so truthfully. */
  g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation), NULL);
  call_free (call);
  g_signal_emit (self, signals[SIGNAL_LOADED], 0);
}

/* Runs Save or Load once the caller has been allowed. */
static void
dispatch_call (Call *call)
{
  VmstateService *self = call->self;
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const char *method_name = g_dbus_method_invocation_get_method_name (call->invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (call->invocation);

  /* GDBus checked the signature against the introspection data. */
  if (g_str_equal (method_name, "Save"))
    {
      vmstate_service_save_async (self, call->cancellable, on_save_done, call);
    }
  else if (g_str_equal (method_name, "Load"))
    {
      g_autoptr(GVariant) data = g_variant_get_child_value (parameters, 0);
      g_autoptr(GBytes) state = NULL;
      gsize size = g_variant_get_size (data);

      if (size > priv->max_state_size)
        {
          g_autofree char *id = _vmstate_abbreviate_id (priv->id);

          call_return_error (call, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                             "helper '%s' was sent a state of %" G_GSIZE_FORMAT
                             " bytes, more than its max-state-size of %u bytes "
                             "(" MAX_STATE_SIZE_HINT ")",
                             id, size, priv->max_state_size);
          return;
        }

      state = g_variant_get_data_as_bytes (data);

      /* Issue 13: checked and unwrapped before the load vfunc runs */
      if (priv->state_version > 0)
        {
          g_autoptr(GError) error = NULL;
          GBytes *wrapped = g_steal_pointer (&state);
          guint version = 0;
          guint outer_version = priv->loading_version;

          state = _vmstate_envelope_unwrap_for_service (wrapped, priv->state_version,
                                                        priv->min_state_version,
                                                        priv->max_uncompressed_size,
                                                        priv->id, service_bus_name (self),
                                                        &version, &error);
          g_bytes_unref (wrapped);
          if (state == NULL)
            {
              log_call_failed (self, "Load", error);
              g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
              call_free (call);
              return;
            }
          priv->loading_version = version;
          vmstate_service_load_async (self, state, call->cancellable, on_load_done, call);
          priv->loading_version = outer_version;
          return;
        }

      vmstate_service_load_async (self, state, call->cancellable, on_load_done, call);
    }
  else
    g_assert_not_reached ();
}

static gboolean
uid_is_allowed (VmstateService *self,
                guint32         uid)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const guint32 *uids;
  gsize n;

  uids = g_variant_get_fixed_array (priv->allowed_uids, &n, sizeof (guint32));
  for (gsize i = 0; i < n; i++)
    if (uids[i] == uid)
      return TRUE;
  return FALSE;
}

/* Takes over @call: dispatches it if @uid may call, refuses it
 * otherwise. */
static void
check_uid_and_dispatch (Call    *call,
                        guint32  uid)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (call->self);
  const char *method_name = g_dbus_method_invocation_get_method_name (call->invocation);

  if (uid_is_allowed (call->self, uid))
    {
      dispatch_call (call);
      return;
    }

  g_debug ("helper '%s': refused %s from %s (uid %u)", priv->id, method_name,
           call->sender ? call->sender : "the peer", uid);
  call_return_error (call, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                     "helper '%s' does not answer %s from %s: "
                     "its uid %u is not allowed",
                     priv->id, method_name,
                     call->sender ? call->sender : "this peer", uid);
}

static void
refuse_unknown_uid (Call       *call,
                    const char *why)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (call->self);

  call_return_error (call, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                     "helper '%s' does not answer %s from %s: "
                     "its uid is unknown (%s)",
                     priv->id,
                     g_dbus_method_invocation_get_method_name (call->invocation),
                     call->sender ? call->sender : "this peer", why);
}

static void
on_get_connection_unix_user (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  Call *call = user_data;
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (call->self);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 uid;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  call->asking_uid = FALSE;

  /* unexport already answered it */
  if (call->invocation == NULL)
    {
      call_free (call);
      return;
    }

  /* Unexported (and perhaps exported again, on another bus where the
   * same unique name is someone else) while the bus daemon was asked:
   * the answer is about a connection that no longer matters. */
  if (!call_is_current (call) || G_DBUS_CONNECTION (source) != priv->connection)
    {
      call_return_unexported (call);
      return;
    }

  if (reply == NULL)
    {
      g_autofree char *detail = _vmstate_describe_dbus_error (error);

      refuse_unknown_uid (call, detail);
      return;
    }

  g_variant_get (reply, "(u)", &uid);
  if (g_hash_table_size (priv->uid_cache) >= UID_CACHE_MAX)
    g_hash_table_remove_all (priv->uid_cache);
  g_hash_table_insert (priv->uid_cache, g_strdup (call->sender),
                       GUINT_TO_POINTER ((guint) uid + 1));
  check_uid_and_dispatch (call, uid);
}

static void
vmstate_service_method_call (GDBusConnection       *connection,
                             const char            *sender,
                             const char            *object_path,
                             const char            *interface_name,
                             const char            *method_name,
                             GVariant              *parameters,
                             GDBusMethodInvocation *invocation,
                             gpointer               user_data)
{
  VmstateService *self = user_data;
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  Call *call;
  gpointer cached;

  if (!g_str_equal (method_name, "Save") && !g_str_equal (method_name, "Load"))
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_METHOD,
                                             "No such method %s", method_name);
      return;
    }

  /* A call that was on its way when the service moved to another
   * connection: this connection's peers are not checked any more. */
  if (connection != priv->connection)
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_OBJECT,
                                             "helper '%s' is not exported on this connection",
                                             priv->id);
      return;
    }

  call = call_new (self, invocation);

  /* Peer-to-peer: the peer's credentials, from the socket. */
  if (sender == NULL || g_dbus_connection_get_unique_name (connection) == NULL)
    {
      GCredentials *credentials = g_dbus_connection_get_peer_credentials (connection);
      g_autoptr(GError) error = NULL;
      uid_t uid;

      if (credentials == NULL)
        {
          refuse_unknown_uid (call, "the connection has no peer credentials");
          return;
        }
      uid = g_credentials_get_unix_user (credentials, &error);
      if (uid == (uid_t) -1)
        {
          refuse_unknown_uid (call, error->message);
          return;
        }
      check_uid_and_dispatch (call, uid);
      return;
    }

  /* A message bus: ask the bus daemon who the sender is, once per
   * export. */
  cached = g_hash_table_lookup (priv->uid_cache, sender);
  if (cached != NULL)
    {
      check_uid_and_dispatch (call, GPOINTER_TO_UINT (cached) - 1);
      return;
    }

  call->asking_uid = TRUE;
  g_dbus_connection_call (connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "GetConnectionUnixUser",
                          g_variant_new ("(s)", sender),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                          -1, call->cancellable, on_get_connection_unix_user, call);
}

static GVariant *
vmstate_service_get_dbus_property (GDBusConnection  *connection,
                                   const char       *sender,
                                   const char       *object_path,
                                   const char       *interface_name,
                                   const char       *property_name,
                                   GError          **error,
                                   gpointer          user_data)
{
  VmstateService *self = user_data;
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  if (g_str_equal (property_name, "Id"))
    return g_variant_new_string (priv->id);

  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
               "No such property %s", property_name);
  return NULL;
}

static const GDBusInterfaceVTable vmstate_service_vtable = {
  .method_call = vmstate_service_method_call,
  .get_property = vmstate_service_get_dbus_property,
};

/* A peer left the bus: cancel what it asked for, forget its uid. */
static void
on_name_owner_changed (GDBusConnection *connection,
                       const char      *sender_name,
                       const char      *object_path,
                       const char      *interface_name,
                       const char      *signal_name,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  VmstateService *self = user_data;
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const char *name, *old_owner, *new_owner;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sss)")))
    return;
  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (name[0] != ':' || new_owner[0] != '\0' || connection != priv->connection)
    return;

  g_hash_table_remove (priv->uid_cache, name);
  for (guint i = 0; i < priv->calls->len; i++)
    {
      Call *call = g_ptr_array_index (priv->calls, i);

      if (g_strcmp0 (call->sender, name) == 0)
        {
          g_debug ("helper '%s': %s left the bus; cancelling its call",
                   priv->id, name);
          g_cancellable_cancel (call->cancellable);
        }
    }
}

typedef struct
{
  VmstateService *self;
  guint           generation;
} ClosedData;

static void
closed_data_free (gpointer data)
{
  ClosedData *closed = data;

  g_object_unref (closed->self);
  g_free (closed);
}

static gboolean
unexport_if_current (gpointer data)
{
  ClosedData *closed = data;
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (closed->self);

  if (priv->connection != NULL && priv->generation == closed->generation)
    {
      g_debug ("helper '%s': the connection closed; unexporting", priv->id);
      vmstate_service_unexport (closed->self);
    }
  return G_SOURCE_REMOVE;
}

/* GDBus emits ::closed in the context the connection was made in: go
 * over to the service's. */
static void
on_connection_closed (GDBusConnection *connection,
                      gboolean         remote_peer_vanished,
                      GError          *error,
                      gpointer         user_data)
{
  VmstateService *self = user_data;
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  ClosedData *closed = g_new0 (ClosedData, 1);

  closed->self = g_object_ref (self);
  closed->generation = priv->generation;
  g_main_context_invoke_full (priv->context, G_PRIORITY_DEFAULT,
                              unexport_if_current, closed, closed_data_free);
}

/* The first half of an export: checks, registers the object, takes the
 * reference that keeps an exported service alive. */
static gboolean
export_begin (VmstateService   *self,
              GDBusConnection  *connection,
              GError          **error)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  g_autoptr(GError) local_error = NULL;
  guint registration_id;

  if (priv->connection != NULL)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_EXPORTED,
                   "helper '%s' is already exported", priv->id);
      return FALSE;
    }

  if (!_vmstate_check_id (priv->id, priv->id ? strlen (priv->id) : 0, &local_error))
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                   "cannot export helper '%s': %s",
                   priv->id ? priv->id : "", local_error->message);
      return FALSE;
    }

  if (g_dbus_connection_is_closed (connection))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "cannot export helper '%s': the connection is closed", priv->id);
      return FALSE;
    }

  registration_id = g_dbus_connection_register_object (connection,
                                                       VMSTATE_DBUS_PATH,
                                                       _vmstate_get_interface_info (),
                                                       &vmstate_service_vtable,
                                                       self, NULL,
                                                       &local_error);
  if (registration_id == 0)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_EXPORTED,
                     "cannot export helper '%s': %s is already exported on this "
                     "connection (one service per connection)",
                     priv->id, VMSTATE_DBUS_PATH);
      else
        g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                    "cannot export helper '%s': ", priv->id);
      return FALSE;
    }

  g_object_ref (self);
  priv->generation++;
  priv->registration_id = registration_id;
  priv->connection = g_object_ref (connection);
  priv->context = g_main_context_ref_thread_default ();
  priv->owns_name = FALSE;
  priv->exported = FALSE;
  g_hash_table_remove_all (priv->uid_cache);
  priv->closed_id = g_signal_connect (connection, "closed",
                                      G_CALLBACK (on_connection_closed), self);
  /* No reference for the subscription: GDBus drops its destroy notify
   * in an idle after unsubscribing, which would keep an unexported
   * service alive a little longer; and a signal is never delivered
   * after it is unsubscribed (in the subscribing context). */
  if (g_dbus_connection_get_unique_name (connection) != NULL)
    priv->name_owner_changed_id =
      g_dbus_connection_signal_subscribe (connection, DBUS_NAME, DBUS_INTERFACE,
                                          "NameOwnerChanged", DBUS_PATH, NULL,
                                          G_DBUS_SIGNAL_FLAGS_NONE,
                                          on_name_owner_changed,
                                          self, NULL);
  return TRUE;
}

/* The second half: what the bus daemon answered to RequestName (@code,
 * or 0 and @request_error). Undoes the first half on failure. */
static guint32
request_name_code (GVariant *reply)
{
  guint32 code = 0;

  if (reply != NULL)
    g_variant_get (reply, "(u)", &code);
  return code;
}

static gboolean
export_complete (VmstateService  *self,
                 guint32          code,
                 GError          *request_error,
                 GError         **error)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  switch (code)
    {
    case REQUEST_NAME_PRIMARY_OWNER:
    case REQUEST_NAME_IN_QUEUE:
      priv->owns_name = TRUE;
      break;
    case REQUEST_NAME_ALREADY_OWNER:
      /* Someone else on this connection holds the name: it is theirs to
       * release, not ours. */
      priv->owns_name = FALSE;
      break;
    case 0:
      {
        g_autofree char *detail = _vmstate_describe_dbus_error (request_error);

        g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                     "helper '%s' cannot request the bus name %s: %s",
                     priv->id, VMSTATE_DBUS_NAME, detail);
        vmstate_service_unexport (self);
        return FALSE;
      }
    default:
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                   "helper '%s' cannot queue for the bus name %s: the bus "
                   "answered RequestName with %u (%s)",
                   priv->id, VMSTATE_DBUS_NAME, code,
                   code == REQUEST_NAME_EXISTS ? "EXISTS" : "unknown");
      vmstate_service_unexport (self);
      return FALSE;
    }

  priv->exported = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);
  return TRUE;
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
  g_autoptr(GError) request_error = NULL;
  g_autoptr(GVariant) reply = NULL;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!export_begin (self, connection, error))
    return FALSE;

  /* A peer-to-peer connection has no bus, so no name to request. */
  if (g_dbus_connection_get_unique_name (connection) == NULL)
    return export_complete (self, REQUEST_NAME_PRIMARY_OWNER, NULL, error);

  /* Flags 0: queue behind the current owner instead of failing, like
   * every other helper on the bus. */
  reply = g_dbus_connection_call_sync (connection,
                                       DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                                       "RequestName",
                                       g_variant_new ("(su)", VMSTATE_DBUS_NAME, 0),
                                       G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &request_error);
  return export_complete (self, request_name_code (reply), request_error, error);
}

static void
release_name (GDBusConnection *connection)
{
  if (!g_dbus_connection_is_closed (connection))
    g_dbus_connection_call (connection,
                            DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                            "ReleaseName",
                            g_variant_new ("(s)", VMSTATE_DBUS_NAME),
                            G_VARIANT_TYPE ("(u)"),
                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
}

typedef struct
{
  GDBusConnection *connection;
  guint            generation;
} ExportData;

static void
export_data_free (gpointer data)
{
  ExportData *export = data;

  g_object_unref (export->connection);
  g_free (export);
}

static void
on_request_name (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  VmstateService *self = g_task_get_source_object (task);
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  ExportData *export = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) request_error = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &request_error);

  if (priv->connection != export->connection || priv->generation != export->generation)
    {
      guint32 code = request_name_code (reply);

      /* Unexported meanwhile: give back a name the bus just gave us. */
      if (code == REQUEST_NAME_PRIMARY_OWNER || code == REQUEST_NAME_IN_QUEUE)
        release_name (export->connection);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "helper '%s' was unexported before its export finished",
                               priv->id);
      return;
    }

  if (!export_complete (self, request_name_code (reply), request_error, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    {
      vmstate_service_unexport (self);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_boolean (task, TRUE);
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
  VmstateServicePrivate *priv;
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  ExportData *export;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (G_IS_DBUS_CONNECTION (connection));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  priv = vmstate_service_get_instance_private (self);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, vmstate_service_export_async);
  /* The outcome is decided in on_request_name, not by the cancellable
   * alone: a name the bus gave us must be given back first. */
  g_task_set_check_cancellable (task, FALSE);

  if (!export_begin (self, connection, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (g_dbus_connection_get_unique_name (connection) == NULL)
    {
      if (export_complete (self, REQUEST_NAME_PRIMARY_OWNER, NULL, &error))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, error);
      return;
    }

  export = g_new0 (ExportData, 1);
  export->connection = g_object_ref (connection);
  export->generation = priv->generation;
  g_task_set_task_data (task, export, export_data_free);

  /* No cancellable on the call: the bus may act on it anyway, and we
   * must know what it did. */
  g_dbus_connection_call (connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "RequestName",
                          g_variant_new ("(su)", VMSTATE_DBUS_NAME, 0),
                          G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          on_request_name, g_steal_pointer (&task));
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
  VmstateServicePrivate *priv;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  gboolean was_exported;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = vmstate_service_get_instance_private (self);
  if (priv->connection == NULL)
    return;

  connection = g_steal_pointer (&priv->connection);
  was_exported = priv->exported;
  priv->exported = FALSE;
  priv->generation++;

  g_dbus_connection_unregister_object (connection, priv->registration_id);
  priv->registration_id = 0;
  g_clear_signal_handler (&priv->closed_id, connection);
  if (priv->name_owner_changed_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (connection, priv->name_owner_changed_id);
      priv->name_owner_changed_id = 0;
    }
  if (priv->owns_name)
    release_name (connection);
  priv->owns_name = FALSE;
  g_hash_table_remove_all (priv->uid_cache);
  g_clear_pointer (&priv->context, g_main_context_unref);

  /* Cancelling may complete a call at once, which removes it from
   * priv->calls: walk a copy. A call whose sender the bus daemon is
   * still being asked about is answered now: whatever the daemon says
   * later is about a connection the service has left (see
   * on_get_connection_unix_user, which then only frees it). */
  calls = g_ptr_array_copy (priv->calls, NULL, NULL);
  for (guint i = 0; i < calls->len; i++)
    {
      Call *call = g_ptr_array_index (calls, i);

      if (call->asking_uid && call->invocation != NULL)
        {
          const char *method_name = g_dbus_method_invocation_get_method_name (call->invocation);

          g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation),
                                                 G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                                                 "helper '%s' was unexported before it answered %s",
                                                 priv->id, method_name);
        }
      g_cancellable_cancel (call->cancellable);
    }

  if (was_exported)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);

  /* The reference export took; it may be the last one. */
  g_object_unref (self);
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
