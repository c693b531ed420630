/* vmstate-collector.c: the VMM side of org.qemu.VMState1: the class,
 * its properties and constructors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The methods and the steps of each operation are in the other
 * vmstate-collector-*.c files; vmstate-collector-private.h lists them.
 */

/**
 * VmstateCollector:
 *
 * The VMM side of QEMU's `dbus-vmstate` protocol: finds the helpers on a
 * VM's private message bus, saves all their states into one blob in
 * QEMU's format, and loads such a blob back.
 *
 * Helpers are found with `ListQueuedOwners("org.qemu.VMState1")`, and
 * every later call goes to each helper's unique name, never to the
 * well-known name (which reaches only its primary owner).
 *
 * [method@Vmstate.Collector.save_async] calls `Save` on every selected
 * helper concurrently (bounded by
 * [property@Vmstate.Collector:max-in-flight], since dbus-daemon limits
 * the replies pending on one connection), so a save takes about as long
 * as the slowest helper rather than the sum of all of them. It fails as a
 * whole, with an error that names the helper by Id and unique name,
 * when any helper fails, times out, dies, leaves the bus, answers with
 * the wrong type or a state larger than
 * [property@Vmstate.Collector:max-state-size]; when two helpers share an
 * Id; or when a helper of [property@Vmstate.Collector:required-ids] is
 * missing. It never returns a partial blob.
 *
 * When every helper is to be saved (no required Ids), each helper's Id
 * query and its `Save` are sent back to back and the Ids are checked
 * when both have answered: one round trip fewer inside the VM's
 * downtime. A `Save` does not change a helper, so a helper whose Id turns
 * out invalid or duplicated costs only its wasted reply; the save fails
 * the same way.
 *
 * [method@Vmstate.Collector.load_async] parses and validates the whole
 * blob and matches every entry to a helper on the bus before it calls
 * any `Load`, then calls `Load` concurrently.
 *
 * Each operation has a `_sync` twin that runs the same code on a private
 * main context. Do not call a `_sync` method from the thread that
 * dispatches a helper exported in the same process: that helper could
 * not answer.
 *
 * ## Example
 *
 * Save the helpers that QEMU would save with `id-list=slirp,,tpm`, then
 * load the blob back (in a real migration the load runs on the
 * destination's bus):
 *
 * ```c
 * static gboolean
 * save_and_load (const char *address, GError **error)
 * {
 *   const char *ids[] = { "slirp", "tpm", NULL };
 *   g_autoptr(VmstateCollector) collector = NULL;
 *   g_autoptr(GBytes) blob = NULL;
 *
 *   collector = vmstate_collector_new_for_address_sync (address, NULL, error);
 *   if (collector == NULL)
 *     return FALSE;
 *   vmstate_collector_set_required_ids (collector, ids);  // like QEMU's id-list
 *
 *   // QEMU's dbus-vmstate payload, or an error that names the helper
 *   blob = vmstate_collector_save_sync (collector, NULL, error);
 *   if (blob == NULL)
 *     return FALSE;
 *
 *   // checks the whole blob before the first Load
 *   return vmstate_collector_load_sync (collector, blob, NULL, error);
 * }
 * ```
 *
 * From Python, `Vmstate.Collector.new_for_address_sync(address, None)`,
 * then `collector.save_sync(None)` and `collector.load_sync(blob, None)`;
 * a failure raises a `GLib.Error` of the [error@Vmstate.Error] domain.
 * The guide page [Using the collector](collector.html) has a complete
 * collector in Python, with the C and Vala ones in `examples/`, and
 * [Running with QEMU and libvirt](qemu-libvirt.html) the whole flow
 * with QEMU.
 *
 * Since: 1.0
 */

/**
 * VmstateCollectorClass:
 * @parent_class: the parent class
 *
 * The class structure of #VmstateCollector, a final type: there is nothing to
 * override.
 *
 * Since: 1.0
 */

#include "config.h"

#include "vmstate-collector.h"
#include "vmstate-error.h"
#include "vmstate-util-private.h"

struct _VmstateCollector
{
  GObject          parent_instance;
  GDBusConnection *connection;
  GStrv            required_ids;
  int              timeout_msec;
  guint            max_state_size;
  guint            max_in_flight;
};

enum {
  PROP_0,
  PROP_CONNECTION,
  PROP_REQUIRED_IDS,
  PROP_TIMEOUT_MSEC,
  PROP_MAX_STATE_SIZE,
  PROP_MAX_IN_FLIGHT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (VmstateCollector, vmstate_collector, G_TYPE_OBJECT)

static void
vmstate_collector_finalize (GObject *object)
{
  VmstateCollector *self = VMSTATE_COLLECTOR (object);

  g_clear_object (&self->connection);
  g_clear_pointer (&self->required_ids, g_strfreev);

  G_OBJECT_CLASS (vmstate_collector_parent_class)->finalize (object);
}

static void
vmstate_collector_constructed (GObject *object)
{
  VmstateCollector *self = VMSTATE_COLLECTOR (object);

  G_OBJECT_CLASS (vmstate_collector_parent_class)->constructed (object);

  /* A warning, not a critical: g_object_new() has no way to fail, and
   * every operation of such a collector fails cleanly (see op_new() in
   * vmstate-collector-methods.c). */
  if (self->connection == NULL)
    g_warning ("A VmstateCollector was created without a connection: every "
               "operation on it will fail. Create it with "
               "vmstate_collector_new() or vmstate_collector_new_for_address() "
               "(Vmstate.Collector.new() or Vmstate.Collector.new_for_address_sync() "
               "from Python) instead.");
}

static void
vmstate_collector_get_property (GObject    *object,
                                guint       prop_id,
                                GValue     *value,
                                GParamSpec *pspec)
{
  VmstateCollector *self = VMSTATE_COLLECTOR (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;
    case PROP_REQUIRED_IDS:
      g_value_set_boxed (value, self->required_ids);
      break;
    case PROP_TIMEOUT_MSEC:
      g_value_set_int (value, self->timeout_msec);
      break;
    case PROP_MAX_STATE_SIZE:
      g_value_set_uint (value, self->max_state_size);
      break;
    case PROP_MAX_IN_FLIGHT:
      g_value_set_uint (value, self->max_in_flight);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vmstate_collector_set_property (GObject      *object,
                                guint         prop_id,
                                const GValue *value,
                                GParamSpec   *pspec)
{
  VmstateCollector *self = VMSTATE_COLLECTOR (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      self->connection = g_value_dup_object (value);
      break;
    case PROP_REQUIRED_IDS:
      vmstate_collector_set_required_ids (self, g_value_get_boxed (value));
      break;
    case PROP_TIMEOUT_MSEC:
      vmstate_collector_set_timeout_msec (self, g_value_get_int (value));
      break;
    case PROP_MAX_STATE_SIZE:
      vmstate_collector_set_max_state_size (self, g_value_get_uint (value));
      break;
    case PROP_MAX_IN_FLIGHT:
      vmstate_collector_set_max_in_flight (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
vmstate_collector_class_init (VmstateCollectorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  /* Register the D-Bus error domain before any call can fail, so that
   * the very first error a helper sends keeps its code. */
  (void) vmstate_error_quark ();

  object_class->constructed = vmstate_collector_constructed;
  object_class->finalize = vmstate_collector_finalize;
  object_class->get_property = vmstate_collector_get_property;
  object_class->set_property = vmstate_collector_set_property;

  /**
   * VmstateCollector:connection:
   *
   * The connection to the VM's private message bus. Construct-only, and
   * required: a collector created without one (with `g_object_new()`, or
   * `Vmstate.Collector()` in Python) warns, and every operation on it
   * fails with %VMSTATE_ERROR_FAILED. Use [ctor@Vmstate.Collector.new] or
   * [func@Vmstate.Collector.new_for_address].
   *
   * Since: 1.0
   */
  properties[PROP_CONNECTION] =
    g_param_spec_object ("connection", NULL, NULL, G_TYPE_DBUS_CONNECTION,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY |
                         G_PARAM_STATIC_STRINGS);

  /**
   * VmstateCollector:required-ids:
   *
   * The Ids of the helpers to save and load, like QEMU's `id-list`: when
   * set, only these helpers are saved and loaded, and every one of them
   * must be on the bus, once. The other helpers do not matter: two of
   * them sharing an Id, or one with an invalid Id, fail nothing. When
   * %NULL or empty, every helper is saved, and its Id must be valid and
   * unique.
   *
   * Since: 1.0
   */
  properties[PROP_REQUIRED_IDS] =
    g_param_spec_boxed ("required-ids", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY |
                        G_PARAM_STATIC_STRINGS);

  /**
   * VmstateCollector:timeout-msec:
   *
   * How long to wait for each helper's answer, in milliseconds. The
   * default, 25000, is GDBus's and QEMU's. %G_MAXINT waits forever.
   *
   * Since: 1.0
   */
  properties[PROP_TIMEOUT_MSEC] =
    g_param_spec_int ("timeout-msec", NULL, NULL,
                      1, G_MAXINT, VMSTATE_DEFAULT_TIMEOUT_MSEC,
                      G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                      G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * VmstateCollector:max-state-size:
   *
   * The largest state, in bytes, accepted from one helper when saving and
   * sent to one when loading. The default, 1 MiB, is QEMU's limit: a
   * blob with larger states cannot be loaded by QEMU. At most 64 MiB.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_STATE_SIZE] =
    g_param_spec_uint ("max-state-size", NULL, NULL,
                       0, VMSTATE_MAX_MAX_STATE_SIZE, VMSTATE_DEFAULT_MAX_STATE_SIZE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                       G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * VmstateCollector:max-in-flight:
   *
   * The most calls the collector has in flight at once. dbus-daemon 1.14
   * refuses more than 128 pending replies on one connection unless its
   * configuration raises `max_replies_per_connection`; the default, 64,
   * stays well below that.
   *
   * Since: 1.0
   */
  properties[PROP_MAX_IN_FLIGHT] =
    g_param_spec_uint ("max-in-flight", NULL, NULL,
                       1, 1024, VMSTATE_DEFAULT_MAX_IN_FLIGHT,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT |
                       G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
vmstate_collector_init (VmstateCollector *self)
{
}

/**
 * vmstate_collector_new:
 * @connection: a connection to the VM's private message bus
 *
 * Creates a collector for the helpers on @connection's bus.
 *
 * Returns: (transfer full): a new #VmstateCollector
 *
 * Since: 1.0
 */
VmstateCollector *
vmstate_collector_new (GDBusConnection *connection)
{
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), NULL);

  return g_object_new (VMSTATE_TYPE_COLLECTOR, "connection", connection, NULL);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_dbus_connection_new_for_address_finish (result, &error);
  if (connection == NULL)
    {
      g_task_return_new_error (task, error->domain, error->code,
                               "cannot connect to the bus at %s: %s",
                               (const char *) g_task_get_task_data (task),
                               error->message);
      return;
    }
  g_task_return_pointer (task, vmstate_collector_new (connection), g_object_unref);
}

/**
 * vmstate_collector_new_for_address:
 * @address: a D-Bus address, such as `unix:path=/run/vm1/bus`
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the connection is made
 * @user_data: data for @callback
 *
 * Connects to the message bus at @address the way QEMU does (as a client
 * of a message bus) and creates a collector for it. Finish with
 * [ctor@Vmstate.Collector.new_for_address_finish].
 *
 * Since: 1.0
 */
void
vmstate_collector_new_for_address (const char          *address,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (address != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, vmstate_collector_new_for_address);
  g_task_set_task_data (task, g_strdup (address), g_free);

  g_dbus_connection_new_for_address (address,
                                     G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                     G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                     NULL, cancellable, on_connected, task);
}

/**
 * vmstate_collector_new_for_address_finish:
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [func@Vmstate.Collector.new_for_address].
 *
 * Returns: (transfer full): a new #VmstateCollector, or %NULL with @error
 *   set
 *
 * Since: 1.0
 */
VmstateCollector *
vmstate_collector_new_for_address_finish (GAsyncResult  *result,
                                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_collector_new_for_address, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * vmstate_collector_new_for_address_sync:
 * @address: a D-Bus address, such as `unix:path=/run/vm1/bus`
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Connects to the message bus at @address the way QEMU does and creates
 * a collector for it, blocking the calling thread.
 *
 * Returns: (transfer full): a new #VmstateCollector, or %NULL with @error
 *   set
 *
 * Since: 1.0
 */
VmstateCollector *
vmstate_collector_new_for_address_sync (const char    *address,
                                        GCancellable  *cancellable,
                                        GError       **error)
{
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (address != NULL, NULL);
  g_return_val_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  connection = g_dbus_connection_new_for_address_sync (address,
                                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                       G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                       NULL, cancellable, &local_error);
  if (connection == NULL)
    {
      g_set_error (error, local_error->domain, local_error->code,
                   "cannot connect to the bus at %s: %s", address, local_error->message);
      return NULL;
    }
  return vmstate_collector_new (connection);
}

/**
 * vmstate_collector_get_connection:
 * @self: a #VmstateCollector
 *
 * Gets the connection to the VM's bus.
 *
 * Returns: (transfer none): the connection
 *
 * Since: 1.0
 */
GDBusConnection *
vmstate_collector_get_connection (VmstateCollector *self)
{
  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), NULL);

  return self->connection;
}

/**
 * vmstate_collector_get_required_ids:
 * @self: a #VmstateCollector
 *
 * Gets [property@Vmstate.Collector:required-ids].
 *
 * Returns: (transfer none) (nullable) (array zero-terminated=1): the Ids,
 *   or %NULL when every helper is saved and loaded
 *
 * Since: 1.0
 */
const char * const *
vmstate_collector_get_required_ids (VmstateCollector *self)
{
  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), NULL);

  return (const char * const *) self->required_ids;
}

/**
 * vmstate_collector_set_required_ids:
 * @self: a #VmstateCollector
 * @required_ids: (nullable) (array zero-terminated=1): Ids, or %NULL for
 *   every helper
 *
 * Sets [property@Vmstate.Collector:required-ids]. An empty array is the
 * same as %NULL.
 *
 * Since: 1.0
 */
void
vmstate_collector_set_required_ids (VmstateCollector   *self,
                                    const char * const *required_ids)
{
  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));

  if (required_ids != NULL && required_ids[0] == NULL)
    required_ids = NULL;
  if (required_ids == NULL && self->required_ids == NULL)
    return;
  if (required_ids != NULL && self->required_ids != NULL &&
      g_strv_equal ((const char * const *) self->required_ids, required_ids))
    return;

  g_strfreev (self->required_ids);
  self->required_ids = g_strdupv ((char **) required_ids);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REQUIRED_IDS]);
}

/**
 * vmstate_collector_get_timeout_msec:
 * @self: a #VmstateCollector
 *
 * Gets [property@Vmstate.Collector:timeout-msec].
 *
 * Returns: the per-call timeout in milliseconds
 *
 * Since: 1.0
 */
int
vmstate_collector_get_timeout_msec (VmstateCollector *self)
{
  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), 0);

  return self->timeout_msec;
}

/**
 * vmstate_collector_set_timeout_msec:
 * @self: a #VmstateCollector
 * @timeout_msec: the per-call timeout in milliseconds, at least 1
 *
 * Sets [property@Vmstate.Collector:timeout-msec].
 *
 * Since: 1.0
 */
void
vmstate_collector_set_timeout_msec (VmstateCollector *self,
                                    int               timeout_msec)
{
  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (timeout_msec > 0);

  if (self->timeout_msec == timeout_msec)
    return;
  self->timeout_msec = timeout_msec;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TIMEOUT_MSEC]);
}

/**
 * vmstate_collector_get_max_state_size:
 * @self: a #VmstateCollector
 *
 * Gets [property@Vmstate.Collector:max-state-size].
 *
 * Returns: the largest state in bytes
 *
 * Since: 1.0
 */
guint
vmstate_collector_get_max_state_size (VmstateCollector *self)
{
  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), 0);

  return self->max_state_size;
}

/**
 * vmstate_collector_set_max_state_size:
 * @self: a #VmstateCollector
 * @max_state_size: the largest state in bytes, at most 64 MiB
 *
 * Sets [property@Vmstate.Collector:max-state-size].
 *
 * Since: 1.0
 */
void
vmstate_collector_set_max_state_size (VmstateCollector *self,
                                      guint             max_state_size)
{
  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (max_state_size <= VMSTATE_MAX_MAX_STATE_SIZE);

  if (self->max_state_size == max_state_size)
    return;
  self->max_state_size = max_state_size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_STATE_SIZE]);
}

/**
 * vmstate_collector_get_max_in_flight:
 * @self: a #VmstateCollector
 *
 * Gets [property@Vmstate.Collector:max-in-flight].
 *
 * Returns: the most calls in flight at once
 *
 * Since: 1.0
 */
guint
vmstate_collector_get_max_in_flight (VmstateCollector *self)
{
  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), 0);

  return self->max_in_flight;
}

/**
 * vmstate_collector_set_max_in_flight:
 * @self: a #VmstateCollector
 * @max_in_flight: the most calls in flight at once, 1 to 1024
 *
 * Sets [property@Vmstate.Collector:max-in-flight].
 *
 * Since: 1.0
 */
void
vmstate_collector_set_max_in_flight (VmstateCollector *self,
                                     guint             max_in_flight)
{
  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (max_in_flight >= 1 && max_in_flight <= 1024);

  if (self->max_in_flight == max_in_flight)
    return;
  self->max_in_flight = max_in_flight;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_IN_FLIGHT]);
}

