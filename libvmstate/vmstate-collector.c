/* vmstate-collector.c: the VMM side of org.qemu.VMState1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
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

#include <string.h>

#include "vmstate-blob-private.h"
#include "vmstate-call-engine-private.h"
#include "vmstate-collector.h"
#include "vmstate-discovery-private.h"
#include "vmstate-error.h"
#include "vmstate-helper-private.h"
#include "vmstate-sync-private.h"
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
   * every operation of such a collector fails cleanly (see
   * op_check_connection()). */
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

/* Operations
 *
 * list, save and load run on the call engine (vmstate-call-engine.c),
 * which calls the helpers of a phase within the window and fails the
 * operation on the first error, and find their helpers with
 * vmstate-discovery.c. Each one is a chain of callbacks, read from the
 * bottom up here and in this order at run time:
 *
 *   list: list owners -> list_found: Id of each -> list_ids_done: pid of
 *         each -> list_done
 *   save: list owners -> save_found: Id and Save of each, sent back to
 *         back -> save_pipelined_done: selection -> save_done; or, with
 *         required-ids, Id of each -> save_ids_done: selection, Save of
 *         each selected helper -> save_done
 *   load: blob checked, list owners -> load_found: Id of each ->
 *         load_ids_done: selection, entries matched -> Load of each ->
 *         load_done
 */

static VmstateOp *
op_new (VmstateCollector    *self,
        VmstateOpKind        kind,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data,
        gpointer             source_tag)
{
  VmstateOp *op = _vmstate_op_new (self, kind, cancellable, callback, user_data, source_tag);

  op->connection = self->connection;
  op->required_ids = g_strdupv (self->required_ids);
  op->timeout_msec = self->timeout_msec;
  op->max_state_size = self->max_state_size;
  op->max_in_flight = self->max_in_flight;
  return op;
}

/* A collector made by g_object_new() without a connection (it warned in
 * constructed): fails the operation at once, with an error that says
 * so, instead of handing GDBus a NULL connection. */
static gboolean
op_check_connection (VmstateOp *op)
{
  if (op->connection != NULL)
    return TRUE;

  op->error = g_error_new_literal (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                                   "the collector has no connection to a bus: "
                                   "create it with vmstate_collector_new() or "
                                   "vmstate_collector_new_for_address()");
  _vmstate_op_fail (op);
  return FALSE;
}

/* Starts @op: finds the helpers on the bus, then @helpers_found. */
static void
op_start (VmstateOp     *op,
          VmstateOpDone  helpers_found)
{
  if (!op_check_connection (op))
    return;
  _vmstate_discovery_list_owners (op, helpers_found);
}

/* Phase: Save */

static void
on_save (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autofree VmstateCall *call = user_data;
  VmstateOp *op = call->op;
  VmstateEntry *entry = call->entry;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) data = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      _vmstate_op_take_error (op, entry, _vmstate_call_error (op, entry, "Save", error));
      goto out;
    }
  if (!g_variant_is_of_type (reply, G_VARIANT_TYPE ("(ay)")))
    {
      g_autofree char *who = _vmstate_describe_helper (entry);

      _vmstate_op_take_error (op, entry, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_BAD_REPLY,
                                      "%s answered Save with type %s, expected (ay)", who,
                                      g_variant_get_type_string (reply)));
      goto out;
    }

  data = g_variant_get_child_value (reply, 0);
  if (g_variant_get_size (data) > op->max_state_size)
    {
      g_autofree char *who = _vmstate_describe_helper (entry);

      _vmstate_op_take_error (op, entry, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                                      "%s saved a state of %" G_GSIZE_FORMAT " bytes, more "
                                      "than the collector's max-state-size of %u bytes",
                                      who, g_variant_get_size (data), op->max_state_size));
      goto out;
    }
  /* A slice of the reply's body, no copy: GDBus has already copied the
   * bytes out of its read buffer, and the message, its header and the
   * tuple go when this returns. See save_done() for the memory bound. */
  entry->state = g_variant_get_data_as_bytes (data);

out:
  _vmstate_op_call_done (op, entry);
}

static void
call_save (VmstateOp *op, VmstateEntry *entry)
{
  g_dbus_connection_call (op->connection,
                          entry->unique_name, VMSTATE_DBUS_PATH,
                          VMSTATE_DBUS_INTERFACE, "Save",
                          NULL, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          op->timeout_msec, op->cancellable,
                          on_save, _vmstate_call_new (op, entry));
}

static const VmstatePhase phase_save = { call_save, 1, FALSE };

/* Phase: Load */

static void
on_load (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autofree VmstateCall *call = user_data;
  VmstateOp *op = call->op;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    _vmstate_op_take_error (op, call->entry, _vmstate_call_error (op, call->entry, "Load", error));
  else if (!g_variant_is_of_type (reply, G_VARIANT_TYPE_UNIT))
    {
      g_autofree char *who = _vmstate_describe_helper (call->entry);

      _vmstate_op_take_error (op, call->entry, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_BAD_REPLY,
                                      "%s answered Load with type %s, expected ()",
                                      who, g_variant_get_type_string (reply)));
    }
  _vmstate_op_call_done (op, call->entry);
}

static void
call_load (VmstateOp *op, VmstateEntry *entry)
{
  GBytes *state = vmstate_blob_get_state (op->blob, entry->id);

  g_dbus_connection_call (op->connection,
                          entry->unique_name, VMSTATE_DBUS_PATH,
                          VMSTATE_DBUS_INTERFACE, "Load",
                          g_variant_new ("(@ay)",
                                         g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                   state, TRUE)),
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          op->timeout_msec, op->cancellable,
                          on_load, _vmstate_call_new (op, entry));
}

/* The engine counts the states of the Loads in flight against its byte
 * budget. */
static const VmstatePhase phase_load = { call_load, 1, TRUE };

/* list: the owners, the Id of each, then the pid of each */

static void
list_done (VmstateOp *op)
{
  GPtrArray *helpers = g_ptr_array_new_with_free_func (g_object_unref);
  GTask *task = op->task;

  for (guint i = 0; i < op->helpers->len; i++)
    {
      VmstateEntry *entry = g_ptr_array_index (op->helpers, i);

      g_ptr_array_add (helpers, _vmstate_helper_new (entry->id, entry->unique_name, entry->pid));
    }
  g_task_return_pointer (task, helpers, (GDestroyNotify) g_ptr_array_unref);
  g_object_unref (task);
}

/* Every helper, duplicates included: listing is how one finds them. */
static void
list_ids_done (VmstateOp *op)
{
  _vmstate_discovery_sort_helpers (op);
  _vmstate_op_run_phase (op, op->helpers, &_vmstate_phase_get_pid, list_done);
}

static void
list_found (VmstateOp *op)
{
  _vmstate_op_run_phase (op, op->helpers, &_vmstate_phase_get_id, list_ids_done);
}

/* save
 *
 * Memory. The collector's peak is bounded by design at about two copies of
 * the total state T, whatever the allocator does with freed memory:
 *
 * - GDBus reads each reply into its connection's read buffer (reused, as
 *   large as the largest message) and copies the `ay` out of it into the
 *   reply's body; on_save() keeps a slice of that body (no copy) and the
 *   rest of the reply (message, header, tuple) is gone when it returns.
 *   So while the helpers answer, each state exists once: T in all.
 * - When every state has arrived, and only then, all sizes are known:
 *   save_done() hands the states, already sorted by Id, to
 *   _vmstate_blob_write(), which lays the payload out (refusing one over
 *   the format's 4 GiB before allocating anything), allocates it once at
 *   its exact size (T + 8 bytes and the Id per entry) and copies each
 *   state into place, dropping each reply body as soon as it is copied.
 *   Peak: T + T + GDBus's read buffer (one state), and no more, since a
 *   byte is never copied twice.
 *
 * Writing each state into the payload the moment it arrives would need
 * its offset, which depends on the sizes of every state with a smaller
 * Id; without them the only place to put a reply is a buffer of its own,
 * which is the copy the reply body already is. Going below 2 T needs the
 * memory of the states already copied to go back to the system during
 * the copy (freed memory a malloc keeps resident still counts), which a
 * library cannot ask of the process-wide allocator (malloc_trim() takes
 * every arena lock of a VMM during its downtime); BENCHMARKS.md says how
 * it could be done with memory the collector maps itself.
 *
 * Load needs no second copy: the blob is parsed into slices of the
 * caller's bytes, and the only copies are the Load messages GDBus
 * serializes, which LOAD_BYTES_IN_FLIGHT bounds (T + 4 MiB + one state). */

static void
save_done (VmstateOp *op)
{
  g_autoptr(GError) error = NULL;
  g_autofree const char **ids = g_new (const char *, op->selected->len + 1);
  g_autofree GBytes **states = g_new (GBytes *, op->selected->len + 1);
  GTask *task = op->task;
  GBytes *payload;

  /* op->selected is sorted by Id (_vmstate_discovery_select_helpers). */
  for (guint i = 0; i < op->selected->len; i++)
    {
      VmstateEntry *entry = g_ptr_array_index (op->selected, i);

      ids[i] = entry->id;
      states[i] = entry->state;
    }

  payload = _vmstate_blob_write (ids, states, op->selected->len, TRUE, &error);
  /* The write dropped the states it copied: forget them in the entries. */
  for (guint i = 0; i < op->selected->len; i++)
    {
      VmstateEntry *entry = g_ptr_array_index (op->selected, i);

      if (states[i] == NULL)
        entry->state = NULL;
    }
  if (payload == NULL)
    {
      op->error = g_error_new (VMSTATE_ERROR, error->code,
                               "cannot write the blob: %s", error->message);
      _vmstate_op_fail (op);
      return;
    }
  g_task_return_pointer (task, payload, (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

/* Save without a required-ids list: every helper is saved, so the Id
 * query and the Save of each helper are sent back to back (a helper
 * answers them in order) instead of in two phases, and the Ids are
 * checked when both have answered. A Save has no effect on the helper,
 * so saving one whose Id turns out invalid or duplicated costs nothing
 * but the wasted reply: the operation fails just the same. */
static void
call_get_id_and_save (VmstateOp *op, VmstateEntry *entry)
{
  _vmstate_discovery_call_get_id (op, entry);
  call_save (op, entry);
}

/* Two calls per helper: the window counts both. */
static const VmstatePhase phase_get_id_and_save = { call_get_id_and_save, 2, FALSE };

static void
save_pipelined_done (VmstateOp *op)
{
  if (!_vmstate_discovery_select_helpers (op))
    return;
  save_done (op);
}

static void
save_ids_done (VmstateOp *op)
{
  if (!_vmstate_discovery_select_helpers (op))
    return;
  _vmstate_op_run_phase (op, op->selected, &phase_save, save_done);
}

static void
save_found (VmstateOp *op)
{
  if (op->required_ids == NULL && op->max_in_flight >= 2)
    _vmstate_op_run_phase (op, op->helpers, &phase_get_id_and_save, save_pipelined_done);
  else
    _vmstate_op_run_phase (op, op->helpers, &_vmstate_phase_get_id, save_ids_done);
}

/* load: the blob checked (in vmstate_collector_load_async()), the
 * owners, the Id of each, the blob's entries matched to them, then the
 * Load of each */

static void
load_done (VmstateOp *op)
{
  GTask *task = op->task;

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
load_ids_done (VmstateOp *op)
{
  g_autoptr(GPtrArray) targets = g_ptr_array_new ();

  if (!_vmstate_discovery_select_helpers (op))
    return;
  if (!_vmstate_discovery_match_blob (op, targets))
    return;
  _vmstate_op_run_phase (op, targets, &phase_load, load_done);
}

static void
load_found (VmstateOp *op)
{
  _vmstate_op_run_phase (op, op->helpers, &_vmstate_phase_get_id, load_ids_done);
}

/**
 * vmstate_collector_list_helpers_async:
 * @self: a #VmstateCollector
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the helpers are known
 * @user_data: data for @callback
 *
 * Lists every helper on the bus: the queued owners of
 * `org.qemu.VMState1`, with the Id each one reports (asked by unique
 * name) and its process id when the bus daemon tells it. Helpers that
 * share an Id are all listed (a save or load would refuse them), one
 * after the other; the listing fails only if a helper's Id cannot be
 * read or is invalid. Finish with
 * [method@Vmstate.Collector.list_helpers_finish].
 *
 * Since: 1.0
 */
void
vmstate_collector_list_helpers_async (VmstateCollector    *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op_start (op_new (self, VMSTATE_OP_LIST, cancellable, callback, user_data,
                    vmstate_collector_list_helpers_async),
            list_found);
}

/**
 * vmstate_collector_list_helpers_finish:
 * @self: a #VmstateCollector
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Vmstate.Collector.list_helpers_async].
 *
 * Returns: (transfer container) (element-type VmstateHelper): the
 *   helpers, sorted by Id and then by unique name, or %NULL with @error
 *   set
 *
 * Since: 1.0
 */
GPtrArray *
vmstate_collector_list_helpers_finish (VmstateCollector  *self,
                                       GAsyncResult      *result,
                                       GError           **error)
{
  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_collector_list_helpers_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * vmstate_collector_list_helpers_sync:
 * @self: a #VmstateCollector
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Lists every helper on the bus, blocking the calling thread. See
 * [method@Vmstate.Collector.list_helpers_async].
 *
 * Returns: (transfer container) (element-type VmstateHelper): the
 *   helpers, sorted by Id, or %NULL with @error set
 *
 * Since: 1.0
 */
GPtrArray *
vmstate_collector_list_helpers_sync (VmstateCollector  *self,
                                     GCancellable      *cancellable,
                                     GError           **error)
{
  VmstateSync data;
  GPtrArray *helpers;

  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  _vmstate_sync_begin (&data);
  vmstate_collector_list_helpers_async (self, cancellable, _vmstate_sync_done, &data);
  _vmstate_sync_wait (&data);
  helpers = vmstate_collector_list_helpers_finish (self, data.result, error);
  _vmstate_sync_end (&data);
  return helpers;
}

/**
 * vmstate_collector_save_async:
 * @self: a #VmstateCollector
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the blob is ready
 * @user_data: data for @callback
 *
 * Saves the state of every selected helper (see
 * [property@Vmstate.Collector:required-ids]) into one blob in QEMU's
 * `dbus-vmstate` format, calling `Save` on the helpers concurrently.
 * Finish with [method@Vmstate.Collector.save_finish].
 *
 * The save fails as a whole if any helper fails; see
 * [class@Vmstate.Collector].
 *
 * Since: 1.0
 */
void
vmstate_collector_save_async (VmstateCollector    *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op_start (op_new (self, VMSTATE_OP_SAVE, cancellable, callback, user_data,
                    vmstate_collector_save_async),
            save_found);
}

/**
 * vmstate_collector_save_finish:
 * @self: a #VmstateCollector
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Vmstate.Collector.save_async].
 *
 * Returns: (transfer full): the blob, entries sorted by Id, without
 *   padding; or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_collector_save_finish (VmstateCollector  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_collector_save_async, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * vmstate_collector_save_sync:
 * @self: a #VmstateCollector
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Saves every selected helper into one blob, blocking the calling thread
 * (the helpers are still called concurrently). See
 * [method@Vmstate.Collector.save_async].
 *
 * Returns: (transfer full): the blob, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_collector_save_sync (VmstateCollector  *self,
                             GCancellable      *cancellable,
                             GError           **error)
{
  VmstateSync data;
  GBytes *blob;

  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  _vmstate_sync_begin (&data);
  vmstate_collector_save_async (self, cancellable, _vmstate_sync_done, &data);
  _vmstate_sync_wait (&data);
  blob = vmstate_collector_save_finish (self, data.result, error);
  _vmstate_sync_end (&data);
  return blob;
}

/**
 * vmstate_collector_load_async:
 * @self: a #VmstateCollector
 * @blob: a blob that [method@Vmstate.Collector.save_async] or QEMU wrote
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when every helper is loaded
 * @user_data: data for @callback
 *
 * Loads a blob into the helpers on the bus. The whole blob is parsed and
 * validated, and every entry matched to a helper on the bus, before any
 * `Load` call is made; then the helpers are loaded concurrently.
 * Helpers on the bus without an entry are left alone, unless
 * [property@Vmstate.Collector:required-ids] names them. Finish with
 * [method@Vmstate.Collector.load_finish].
 *
 * Since: 1.0
 */
void
vmstate_collector_load_async (VmstateCollector    *self,
                              GBytes              *blob,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;
  VmstateOp *op;

  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (blob != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = op_new (self, VMSTATE_OP_LOAD, cancellable, callback, user_data,
               vmstate_collector_load_async);
  if (!op_check_connection (op))
    return;

  op->blob = vmstate_blob_new_from_bytes (blob, &error);
  if (op->blob == NULL)
    {
      op->error = g_error_new (error->domain, error->code,
                               "cannot load: %s; no helper was loaded", error->message);
      _vmstate_op_fail (op);
      return;
    }

  ids = vmstate_blob_get_ids (op->blob);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      gsize size = g_bytes_get_size (vmstate_blob_get_state (op->blob, ids[i]));

      if (size > op->max_state_size)
        {
          g_autofree char *id = _vmstate_abbreviate_id (ids[i]);

          op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                                   "the blob's state for helper '%s' is %" G_GSIZE_FORMAT
                                   " bytes, more than the collector's max-state-size "
                                   "of %u bytes; no helper was loaded",
                                   id, size, op->max_state_size);
          _vmstate_op_fail (op);
          return;
        }
    }

  op_start (op, load_found);
}

/**
 * vmstate_collector_load_finish:
 * @self: a #VmstateCollector
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Vmstate.Collector.load_async].
 *
 * Returns: %TRUE if every entry was loaded; %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
vmstate_collector_load_finish (VmstateCollector  *self,
                               GAsyncResult      *result,
                               GError           **error)
{
  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_collector_load_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * vmstate_collector_load_sync:
 * @self: a #VmstateCollector
 * @blob: a blob that [method@Vmstate.Collector.save_async] or QEMU wrote
 * @cancellable: (nullable): a #GCancellable
 * @error: return location for a #GError
 *
 * Loads a blob into the helpers on the bus, blocking the calling thread
 * (the helpers are still called concurrently). See
 * [method@Vmstate.Collector.load_async].
 *
 * Returns: %TRUE if every entry was loaded; %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
vmstate_collector_load_sync (VmstateCollector  *self,
                             GBytes            *blob,
                             GCancellable      *cancellable,
                             GError           **error)
{
  VmstateSync data;
  gboolean ok;

  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), FALSE);
  g_return_val_if_fail (blob != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  _vmstate_sync_begin (&data);
  vmstate_collector_load_async (self, blob, cancellable, _vmstate_sync_done, &data);
  _vmstate_sync_wait (&data);
  ok = vmstate_collector_load_finish (self, data.result, error);
  _vmstate_sync_end (&data);
  return ok;
}

/**
 * vmstate_collector_get_failed_helpers:
 * @self: a #VmstateCollector
 * @result: the #GAsyncResult of a save, load or list operation of @self
 *
 * Gets the helpers a failed operation failed because of, so that a
 * program can tell which helper failed without reading the error's
 * message: the one that failed, timed out, died, left the bus or
 * answered badly; or every holder of an Id held twice, with its process
 * id. Each [class@Vmstate.Helper] has the whole Id (messages cut a long
 * one short), or %NULL when the Id could not be read; its pid is 0
 * unless the collector asked for it.
 *
 * The array is empty when the operation succeeded, was cancelled, or
 * failed because of no single helper (an invalid blob, a required helper
 * missing from the bus, a lost connection to the bus).
 *
 * It depends only on @result, so concurrent operations do not mix
 * their failures. Call it from the callback, before or after the
 * `_finish` function:
 *
 * ```python
 * def on_saved(collector, result):
 *     try:
 *         blob = collector.save_finish(result)
 *     except GLib.Error as e:
 *         for helper in collector.get_failed_helpers(result):
 *             print("failed:", helper.props.id, helper.props.pid)
 * ```
 *
 * The `_sync` methods hide their result: use the asynchronous methods
 * when you need this.
 *
 * Returns: (transfer container) (element-type VmstateHelper): the helpers,
 *   sorted by Id when there are several; empty but never %NULL
 *
 * Since: 1.0
 */
GPtrArray *
vmstate_collector_get_failed_helpers (VmstateCollector *self,
                                      GAsyncResult     *result)
{
  GPtrArray *helpers = g_ptr_array_new_with_free_func (g_object_unref);
  gpointer tag;
  VmstateOp *op;

  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), helpers);
  g_return_val_if_fail (g_task_is_valid (result, self), helpers);
  tag = g_task_get_source_tag (G_TASK (result));
  g_return_val_if_fail (tag == vmstate_collector_save_async ||
                        tag == vmstate_collector_load_async ||
                        tag == vmstate_collector_list_helpers_async, helpers);

  op = g_task_get_task_data (G_TASK (result));
  for (guint i = 0; i < op->failed_helpers->len; i++)
    g_ptr_array_add (helpers, g_object_ref (g_ptr_array_index (op->failed_helpers, i)));
  return helpers;
}
