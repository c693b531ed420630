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
 * on a connection to the VM's private message bus. The service then:
 *
 * - exports `/org/qemu/VMState1` with the interface `org.qemu.VMState1`
 *   (the read-only `Id` property, `Save() -> ay` and `Load(ay)`);
 * - requests the bus name `org.qemu.VMState1` with queueing allowed, so
 *   that every helper on the bus is a primary or queued owner of it, which
 *   is how QEMU and [class@Vmstate.Collector] find helpers.
 *
 * An error raised by a vfunc becomes a D-Bus error reply carrying its
 * message; a vfunc that fails without setting an error (as a language
 * binding does when an unhandled exception escapes) gets a generic error
 * reply. A state larger than [property@Vmstate.Service:max-state-size] is
 * refused with %VMSTATE_ERROR_STATE_TOO_LARGE, never truncated, in both
 * directions: an oversized Load never reaches the vfunc. An empty state is
 * legal.
 *
 * A helper whose state takes time to gather overrides
 * [vfunc@Vmstate.Service.save_async] and
 * [vfunc@Vmstate.Service.save_finish] (and the load pair) instead, and
 * answers later without blocking its main loop. The defaults call the
 * synchronous vfuncs.
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
 * name; on a peer-to-peer connection it is the peer's credentials. Anyone
 * else gets `org.freedesktop.DBus.Error.AccessDenied` and the vfunc is not
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

#include "vmstate-error.h"
#include "vmstate-service.h"
#include "vmstate-util-private.h"

typedef struct
{
  char            *id;
  guint            max_state_size;
  GDBusConnection *connection;
  guint            registration_id;
  /* guint32: who may call Save and Load */
  GArray          *allowed_uids;
  /* sender unique name -> uid + 1 (so that 0 is "not cached") */
  GHashTable      *uid_cache;
} VmstateServicePrivate;

/* Unique names are never reused on a bus, so a cached uid stays right;
 * the cache is emptied when it grows past this to bound its memory. */
#define UID_CACHE_MAX 256

enum {
  PROP_0,
  PROP_ID,
  PROP_MAX_STATE_SIZE,
  PROP_CONNECTION,
  PROP_ALLOWED_UIDS,
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
  vmstate_service_unexport (VMSTATE_SERVICE (object));

  G_OBJECT_CLASS (vmstate_service_parent_class)->dispose (object);
}

static void
vmstate_service_finalize (GObject *object)
{
  VmstateService *self = VMSTATE_SERVICE (object);
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_free (priv->id);
  g_array_unref (priv->allowed_uids);
  g_hash_table_unref (priv->uid_cache);

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
      g_value_take_variant (value,
                            g_variant_new_fixed_array (G_VARIANT_TYPE_UINT32,
                                                       priv->allowed_uids->data,
                                                       priv->allowed_uids->len,
                                                       sizeof (guint32)));
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
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  switch (prop_id)
    {
    case PROP_ID:
      priv->id = g_value_dup_string (value);
      break;
    case PROP_MAX_STATE_SIZE:
      vmstate_service_set_max_state_size (self, g_value_get_uint (value));
      break;
    case PROP_ALLOWED_UIDS:
      {
        GVariant *uids = g_value_get_variant (value);
        const guint32 *data = NULL;
        gsize n = 0;

        if (uids != NULL)
          data = g_variant_get_fixed_array (uids, &n, sizeof (guint32));
        vmstate_service_set_allowed_uids (self, data, n);
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static GBytes *
vmstate_service_real_save (VmstateService  *self,
                           GError         **error)
{
  g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_SUPPORTED,
               "%s does not implement save", G_OBJECT_TYPE_NAME (self));
  return NULL;
}

static void
vmstate_service_real_load (VmstateService  *self,
                           GBytes          *state,
                           GError         **error)
{
  g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_SUPPORTED,
               "%s does not implement load", G_OBJECT_TYPE_NAME (self));
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

  state = VMSTATE_SERVICE_GET_CLASS (self)->save (self, &error);
  if (state != NULL)
    g_task_return_pointer (task, state, (GDestroyNotify) g_bytes_unref);
  else if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_new_error (task, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                             "%s.save() failed without giving a reason "
                             "(an unhandled exception in a language binding?)",
                             G_OBJECT_TYPE_NAME (self));
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

  VMSTATE_SERVICE_GET_CLASS (self)->load (self, state, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
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
   * VmstateService:id:
   *
   * The helper's Id, unique on its bus: 1 to 255 bytes of UTF-8. QEMU's
   * `id-list` and [property@Vmstate.Collector:required-ids] name helpers
   * by it, and it keys the helper's entry in the migration blob.
   *
   * Since: 1.0
   */
  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
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
   * VmstateService:allowed-uids:
   *
   * The uids of the peers allowed to call `Save` and `Load`, as a
   * GVariant of type `au`. The default is the service's effective uid and
   * root (0). Setting %NULL or an empty array restores the default; a
   * list that is set replaces the default entirely (root is allowed only
   * if it is listed). Other peers get
   * `org.freedesktop.DBus.Error.AccessDenied`. See
   * [method@Vmstate.Service.set_allowed_uids].
   *
   * Since: 1.0
   */
  properties[PROP_ALLOWED_UIDS] =
    g_param_spec_variant ("allowed-uids", NULL, NULL,
                          G_VARIANT_TYPE ("au"), NULL,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                          G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * VmstateService::loaded:
   * @self: the service
   *
   * Emitted after a Load call succeeded and its reply was sent. A helper
   * that started in a waiting ("incoming") state resumes here.
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

static void
set_default_allowed_uids (GArray *uids)
{
  guint32 euid = geteuid ();
  guint32 root = 0;

  g_array_set_size (uids, 0);
  g_array_append_val (uids, euid);
  if (euid != root)
    g_array_append_val (uids, root);
}

static void
vmstate_service_init (VmstateService *self)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  priv->allowed_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  set_default_allowed_uids (priv->allowed_uids);
  priv->uid_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * vmstate_service_get_id:
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
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);

  return priv->id;
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
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), 0);

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
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (max_state_size <= VMSTATE_MAX_MAX_STATE_SIZE);

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
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);

  return priv->connection;
}

/**
 * vmstate_service_get_allowed_uids:
 * @self: a #VmstateService
 * @n_uids: (out): return location for the number of uids
 *
 * Gets the uids of the peers allowed to call `Save` and `Load`; see
 * [property@Vmstate.Service:allowed-uids].
 *
 * Returns: (array length=n_uids) (transfer none): the uids, valid until
 *   they are changed
 *
 * Since: 1.0
 */
const guint32 *
vmstate_service_get_allowed_uids (VmstateService *self,
                                  gsize          *n_uids)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);
  g_return_val_if_fail (n_uids != NULL, NULL);

  *n_uids = priv->allowed_uids->len;
  return (const guint32 *) priv->allowed_uids->data;
}

/**
 * vmstate_service_set_allowed_uids:
 * @self: a #VmstateService
 * @uids: (array length=n_uids) (nullable): the allowed uids, or %NULL for
 *   the default
 * @n_uids: the number of uids
 *
 * Sets the uids of the peers allowed to call `Save` and `Load`; see
 * [property@Vmstate.Service:allowed-uids]. %NULL or an empty array
 * restores the default: the service's effective uid and root. A call
 * already being checked is checked against the list set when its
 * sender's uid is known.
 *
 * Since: 1.0
 */
void
vmstate_service_set_allowed_uids (VmstateService *self,
                                  const guint32  *uids,
                                  gsize           n_uids)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  g_autoptr(GArray) old = NULL;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (uids != NULL || n_uids == 0);

  old = g_array_copy (priv->allowed_uids);
  g_array_set_size (priv->allowed_uids, 0);
  if (n_uids == 0)
    set_default_allowed_uids (priv->allowed_uids);
  else
    g_array_append_vals (priv->allowed_uids, uids, n_uids);

  if (old->len != priv->allowed_uids->len ||
      memcmp (old->data, priv->allowed_uids->data, old->len * sizeof (guint32)) != 0)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ALLOWED_UIDS]);
}

/* D-Bus glue */

static void
on_save_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  VmstateService *self = VMSTATE_SERVICE (source);
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  /* every return_*() below takes over the invocation */
  GDBusMethodInvocation *invocation = user_data;
  g_autoptr(GBytes) state = NULL;
  g_autoptr(GError) error = NULL;
  gsize size;

  state = vmstate_service_save_finish (self, result, &error);
  if (state == NULL)
    {
      g_debug ("helper '%s': Save failed: %s", priv->id, error->message);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }

  size = g_bytes_get_size (state);
  if (size > priv->max_state_size)
    {
      g_dbus_method_invocation_return_error (invocation, VMSTATE_ERROR,
                                             VMSTATE_ERROR_STATE_TOO_LARGE,
                                             "helper '%s' has a state of %" G_GSIZE_FORMAT
                                             " bytes, more than its max-state-size of %u "
                                             "bytes; refusing to send a truncated state",
                                             priv->id, size, priv->max_state_size);
      return;
    }

  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(@ay)",
                                                        g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                                  state, TRUE)));
}

static void
on_load_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  VmstateService *self = VMSTATE_SERVICE (source);
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  /* every return_*() below takes over the invocation */
  GDBusMethodInvocation *invocation = user_data;
  g_autoptr(GError) error = NULL;

  if (!vmstate_service_load_finish (self, result, &error))
    {
      g_debug ("helper '%s': Load failed: %s", priv->id, error->message);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }

  g_dbus_method_invocation_return_value (invocation, NULL);
  g_signal_emit (self, signals[SIGNAL_LOADED], 0);
}

/* Runs Save or Load once the caller has been allowed. */
static void
dispatch_method (VmstateService        *self,
                 GDBusMethodInvocation *invocation)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const char *method_name = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);

  /* GDBus checked the signature against the introspection data. */
  if (g_str_equal (method_name, "Save"))
    {
      vmstate_service_save_async (self, NULL, on_save_done, invocation);
    }
  else if (g_str_equal (method_name, "Load"))
    {
      g_autoptr(GVariant) data = g_variant_get_child_value (parameters, 0);
      g_autoptr(GBytes) state = NULL;
      gsize size = g_variant_get_size (data);

      if (size > priv->max_state_size)
        {
          g_dbus_method_invocation_return_error (invocation, VMSTATE_ERROR,
                                                 VMSTATE_ERROR_STATE_TOO_LARGE,
                                                 "helper '%s' was sent a state of %" G_GSIZE_FORMAT
                                                 " bytes, more than its max-state-size of %u bytes",
                                                 priv->id, size, priv->max_state_size);
          return;
        }

      state = g_variant_get_data_as_bytes (data);
      vmstate_service_load_async (self, state, NULL, on_load_done, invocation);
    }
  else
    g_assert_not_reached ();
}

static gboolean
uid_is_allowed (VmstateService *self,
                guint32         uid)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  for (guint i = 0; i < priv->allowed_uids->len; i++)
    if (g_array_index (priv->allowed_uids, guint32, i) == uid)
      return TRUE;
  return FALSE;
}

/* Takes over @invocation: dispatches it if @uid may call, refuses it
 * otherwise. */
static void
check_uid_and_dispatch (VmstateService        *self,
                        GDBusMethodInvocation *invocation,
                        guint32                uid)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  if (uid_is_allowed (self, uid))
    {
      dispatch_method (self, invocation);
      return;
    }

  g_debug ("helper '%s': refused %s from %s (uid %u)", priv->id,
           g_dbus_method_invocation_get_method_name (invocation),
           sender ? sender : "the peer", uid);
  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                         G_DBUS_ERROR_ACCESS_DENIED,
                                         "helper '%s' does not answer %s from %s: "
                                         "its uid %u is not allowed",
                                         priv->id,
                                         g_dbus_method_invocation_get_method_name (invocation),
                                         sender ? sender : "this peer", uid);
}

static void
refuse_unknown_uid (VmstateService        *self,
                    GDBusMethodInvocation *invocation,
                    const char            *why)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  const char *sender = g_dbus_method_invocation_get_sender (invocation);

  g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                         G_DBUS_ERROR_ACCESS_DENIED,
                                         "helper '%s' does not answer %s from %s: "
                                         "its uid is unknown (%s)",
                                         priv->id,
                                         g_dbus_method_invocation_get_method_name (invocation),
                                         sender ? sender : "this peer", why);
}

static void
on_get_connection_unix_user (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  /* the invocation, holding the service: see vmstate_service_method_call */
  GDBusMethodInvocation *invocation = user_data;
  g_autoptr(VmstateService) self = g_object_steal_data (G_OBJECT (invocation), "vmstate-service");
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 uid;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      g_autofree char *detail = _vmstate_describe_dbus_error (error);

      refuse_unknown_uid (self, invocation, detail);
      return;
    }

  /* unexported while the bus daemon was asked: answer as a service
   * that is gone, without calling the vfunc */
  if (priv->connection == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_OBJECT,
                                             "helper '%s' was unexported",
                                             priv->id);
      return;
    }

  g_variant_get (reply, "(u)", &uid);
  if (g_hash_table_size (priv->uid_cache) >= UID_CACHE_MAX)
    g_hash_table_remove_all (priv->uid_cache);
  g_hash_table_insert (priv->uid_cache,
                       g_strdup (g_dbus_method_invocation_get_sender (invocation)),
                       GUINT_TO_POINTER ((guint) uid + 1));
  check_uid_and_dispatch (self, invocation, uid);
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
  gpointer cached;

  if (!g_str_equal (method_name, "Save") && !g_str_equal (method_name, "Load"))
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_METHOD,
                                             "No such method %s", method_name);
      return;
    }

  /* Peer-to-peer: the peer's credentials, from the socket. */
  if (sender == NULL || g_dbus_connection_get_unique_name (connection) == NULL)
    {
      GCredentials *credentials = g_dbus_connection_get_peer_credentials (connection);
      g_autoptr(GError) error = NULL;
      uid_t uid;

      if (credentials == NULL)
        {
          refuse_unknown_uid (self, invocation, "the connection has no peer credentials");
          return;
        }
      uid = g_credentials_get_unix_user (credentials, &error);
      if (uid == (uid_t) -1)
        {
          refuse_unknown_uid (self, invocation, error->message);
          return;
        }
      check_uid_and_dispatch (self, invocation, uid);
      return;
    }

  /* A message bus: ask the bus daemon who the sender is, once. */
  cached = g_hash_table_lookup (priv->uid_cache, sender);
  if (cached != NULL)
    {
      check_uid_and_dispatch (self, invocation, GPOINTER_TO_UINT (cached) - 1);
      return;
    }

  g_object_set_data_full (G_OBJECT (invocation), "vmstate-service",
                          g_object_ref (self), g_object_unref);
  g_dbus_connection_call (connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "GetConnectionUnixUser",
                          g_variant_new ("(s)", sender),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                          -1, NULL, on_get_connection_unix_user, invocation);
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

/**
 * vmstate_service_export:
 * @self: a #VmstateService
 * @connection: a connection to the VM's private message bus
 * @error: return location for a #GError
 *
 * Exports the service on @connection: registers `/org/qemu/VMState1`
 * and requests the bus name `org.qemu.VMState1` with queueing allowed.
 * When this returns %TRUE the name request has been answered, so a
 * collector listing the bus from then on sees this helper.
 *
 * One service can be exported per connection. On a peer-to-peer
 * connection (not to a message bus) only the object is registered.
 *
 * Returns: %TRUE on success; %FALSE with @error set, to
 *   %VMSTATE_ERROR_INVALID_ID if the Id is not valid, to
 *   %VMSTATE_ERROR_EXPORTED if the service is already exported or the
 *   object path is taken on @connection, or to a D-Bus error
 *
 * Since: 1.0
 */
gboolean
vmstate_service_export (VmstateService   *self,
                        GDBusConnection  *connection,
                        GError          **error)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GVariant) reply = NULL;
  guint registration_id;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

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

  /* A peer-to-peer connection has no bus, so no name to request. */
  if (g_dbus_connection_get_unique_name (connection) == NULL)
    goto exported;

  /* Flags 0: queue behind the current owner instead of failing, like
   * every other helper on the bus. */
  reply = g_dbus_connection_call_sync (connection,
                                       DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                                       "RequestName",
                                       g_variant_new ("(su)", VMSTATE_DBUS_NAME, 0),
                                       G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &local_error);
  if (reply == NULL)
    {
      g_dbus_connection_unregister_object (connection, registration_id);
      g_dbus_error_strip_remote_error (local_error);
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                   "helper '%s' cannot request the bus name %s: %s",
                   priv->id, VMSTATE_DBUS_NAME, local_error->message);
      return FALSE;
    }

exported:
  priv->registration_id = registration_id;
  priv->connection = g_object_ref (connection);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);
  return TRUE;
}

/**
 * vmstate_service_unexport:
 * @self: a #VmstateService
 *
 * Undoes [method@Vmstate.Service.export]: unregisters the object and
 * releases the bus name. Does nothing if the service is not exported.
 * Disposing the service unexports it.
 *
 * Since: 1.0
 */
void
vmstate_service_unexport (VmstateService *self)
{
  VmstateServicePrivate *priv = vmstate_service_get_instance_private (self);

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  if (priv->connection == NULL)
    return;

  g_dbus_connection_unregister_object (priv->connection, priv->registration_id);
  priv->registration_id = 0;
  if (!g_dbus_connection_is_closed (priv->connection) &&
      g_dbus_connection_get_unique_name (priv->connection) != NULL)
    g_dbus_connection_call (priv->connection,
                            DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                            "ReleaseName",
                            g_variant_new ("(s)", VMSTATE_DBUS_NAME),
                            G_VARIANT_TYPE ("(u)"),
                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
  g_clear_object (&priv->connection);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);
}

/**
 * vmstate_service_save:
 * @self: a #VmstateService
 * @error: return location for a #GError
 *
 * Calls [vfunc@Vmstate.Service.save]: gets the helper's state.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_service_save (VmstateService  *self,
                      GError         **error)
{
  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return VMSTATE_SERVICE_GET_CLASS (self)->save (self, error);
}

/**
 * vmstate_service_load:
 * @self: a #VmstateService
 * @state: the state to restore
 * @error: return location for a #GError
 *
 * Calls [vfunc@Vmstate.Service.load]: restores the helper's state. It
 * failed if it set @error.
 *
 * Since: 1.0
 */
void
vmstate_service_load (VmstateService  *self,
                      GBytes          *state,
                      GError         **error)
{
  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (state != NULL);
  g_return_if_fail (error == NULL || *error == NULL);

  VMSTATE_SERVICE_GET_CLASS (self)->load (self, state, error);
}

/**
 * vmstate_service_save_async:
 * @self: a #VmstateService
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the state is ready
 * @user_data: data for @callback
 *
 * Calls [vfunc@Vmstate.Service.save_async]: gets the helper's state
 * without blocking. The service calls this for every Save call it gets.
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
 * Finishes [method@Vmstate.Service.save_async].
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
    local_error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                               "%s.save_finish() failed without giving a reason "
                               "(an unhandled exception in a language binding?)",
                               G_OBJECT_TYPE_NAME (self));
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return state;
}

/**
 * vmstate_service_load_async:
 * @self: a #VmstateService
 * @state: the state to restore
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the state is restored
 * @user_data: data for @callback
 *
 * Calls [vfunc@Vmstate.Service.load_async]: restores the helper's state
 * without blocking. The service calls this for every Load call it gets.
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
 * Finishes [method@Vmstate.Service.load_async].
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
    return TRUE;
  if (local_error == NULL)
    local_error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                               "%s.load_finish() failed without giving a reason "
                               "(an unhandled exception in a language binding?)",
                               G_OBJECT_TYPE_NAME (self));
  g_propagate_error (error, local_error);
  return FALSE;
}
