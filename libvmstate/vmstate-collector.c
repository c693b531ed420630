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
#include "vmstate-collector.h"
#include "vmstate-error.h"
#include "vmstate-helper-private.h"
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
 * list, save and load share one engine: an Op walks through phases, and
 * each phase makes one kind of call to every helper of op->helpers,
 * concurrently but never more than max-in-flight at once. The first
 * failure cancels the calls still in flight; the task completes when the
 * last of them has returned, so no callback outlives it.
 */

typedef enum {
  OP_LIST,
  OP_SAVE,
  OP_LOAD,
} OpKind;

typedef struct
{
  char    *unique_name;
  char    *id;
  guint    pid;
  GBytes  *state;
} Entry;

typedef struct _Op Op;
typedef void (*PhaseCall) (Op *op, Entry *entry);
typedef void (*PhaseDone) (Op *op);

struct _Op
{
  GTask            *task;
  VmstateCollector *self;
  OpKind            kind;
  GCancellable     *cancellable;   /* ours, cancelled on failure */
  GCancellable     *user_cancellable;
  gulong            cancelled_id;

  /* settings, fixed when the operation starts */
  GStrv             required_ids;
  int               timeout_msec;
  guint             max_state_size;
  guint             max_in_flight;

  GPtrArray        *helpers;       /* Entry*, all helpers on the bus */
  GPtrArray        *selected;      /* Entry*, the ones to call, borrowed */
  GPtrArray        *faults;        /* Entry*, the helpers the error is about, borrowed */
  GPtrArray        *failed_helpers; /* VmstateHelper*, made from faults by op_fail() */
  VmstateBlob      *blob;          /* load: the parsed input */

  PhaseCall         phase_call;
  PhaseDone         phase_done;
  guint             calls_per_entry; /* calls phase_call makes: 1 or 2 */
  guint             next;
  guint             in_flight;
  gsize             bytes_in_flight; /* states sent by Load calls in flight */
  GError           *error;
};

static void
entry_free (Entry *entry)
{
  g_free (entry->unique_name);
  g_free (entry->id);
  g_clear_pointer (&entry->state, g_bytes_unref);
  g_free (entry);
}

static void
op_free (Op *op)
{
  if (op->cancelled_id != 0)
    g_cancellable_disconnect (op->user_cancellable, op->cancelled_id);
  g_clear_object (&op->user_cancellable);
  g_clear_object (&op->cancellable);
  g_clear_pointer (&op->required_ids, g_strfreev);
  g_clear_pointer (&op->selected, g_ptr_array_unref);
  g_clear_pointer (&op->faults, g_ptr_array_unref);
  g_clear_pointer (&op->failed_helpers, g_ptr_array_unref);
  g_clear_pointer (&op->helpers, g_ptr_array_unref);
  g_clear_object (&op->blob);
  g_clear_error (&op->error);
  g_free (op);
}

static void
on_user_cancelled (GCancellable *user_cancellable,
                   gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static Op *
op_new (VmstateCollector    *self,
        OpKind               kind,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data,
        gpointer             source_tag)
{
  Op *op = g_new0 (Op, 1);

  op->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (op->task, source_tag);
  g_task_set_task_data (op->task, op, (GDestroyNotify) op_free);
  op->self = self;
  op->kind = kind;
  op->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      op->user_cancellable = g_object_ref (cancellable);
      op->cancelled_id = g_cancellable_connect (cancellable,
                                                G_CALLBACK (on_user_cancelled),
                                                g_object_ref (op->cancellable),
                                                g_object_unref);
    }
  op->required_ids = g_strdupv (self->required_ids);
  op->timeout_msec = self->timeout_msec;
  op->max_state_size = self->max_state_size;
  op->max_in_flight = self->max_in_flight;
  op->helpers = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  op->selected = g_ptr_array_new ();
  op->faults = g_ptr_array_new ();
  op->failed_helpers = g_ptr_array_new_with_free_func (g_object_unref);
  return op;
}

/* Completes the operation with op->error, and keeps the helpers it is
 * about for vmstate_collector_get_failed_helpers(). The states already
 * saved go now, not with the task. Takes the task's reference. */
static void
op_fail (Op *op)
{
  GTask *task = op->task;

  for (guint i = 0; i < op->faults->len; i++)
    {
      Entry *entry = g_ptr_array_index (op->faults, i);

      g_ptr_array_add (op->failed_helpers,
                       _vmstate_helper_new (entry->id, entry->unique_name, entry->pid));
    }
  for (guint i = 0; i < op->helpers->len; i++)
    g_clear_pointer (&((Entry *) g_ptr_array_index (op->helpers, i))->state, g_bytes_unref);

  g_task_return_error (task, g_steal_pointer (&op->error));
  g_object_unref (task);
}

/* Records the operation's first error, and @entry (when not %NULL) as
 * the helper it is about; later errors (including the cancellations the
 * first one causes) are dropped. A cancellation by the caller is about
 * no helper. */
static void
op_take_error (Op     *op,
               Entry  *entry,
               GError *error)
{
  if (op->error == NULL)
    {
      if (entry != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_ptr_array_add (op->faults, entry);
      op->error = error;
      g_cancellable_cancel (op->cancellable);
    }
  else
    g_error_free (error);
}

static void op_pump (Op *op);
static void call_get_id_and_save (Op *op, Entry *entry);
static void call_load (Op *op, Entry *entry);

/* Load calls carry the states: beyond this many bytes in flight, GDBus's
 * serialized copies of them only add memory, not speed (the bus moves
 * one message at a time). One call is always allowed, whatever its size. */
#define LOAD_BYTES_IN_FLIGHT (4 * 1024 * 1024)

static gsize
entry_load_size (Op *op, Entry *entry)
{
  return g_bytes_get_size (vmstate_blob_get_state (op->blob, entry->id));
}

static gboolean
op_may_send (Op *op, Entry *entry)
{
  if (op->in_flight + MAX (op->calls_per_entry, 1) > op->max_in_flight)
    return FALSE;
  if (op->phase_call == call_load && op->in_flight > 0 &&
      op->bytes_in_flight + entry_load_size (op, entry) > LOAD_BYTES_IN_FLIGHT)
    return FALSE;
  return TRUE;
}

static void
op_run_phase (Op        *op,
              GPtrArray *targets,
              PhaseCall  phase_call,
              PhaseDone  phase_done)
{
  if (targets != op->selected)
    {
      g_ptr_array_set_size (op->selected, 0);
      for (guint i = 0; i < targets->len; i++)
        g_ptr_array_add (op->selected, g_ptr_array_index (targets, i));
    }
  op->phase_call = phase_call;
  op->phase_done = phase_done;
  op->calls_per_entry = phase_call == call_get_id_and_save ? 2 : 1;
  op->next = 0;
  op->in_flight = 0;
  op_pump (op);
}

static void
op_pump (Op *op)
{
  while (op->error == NULL &&
         op->next < op->selected->len &&
         op_may_send (op, g_ptr_array_index (op->selected, op->next)))
    {
      Entry *entry = g_ptr_array_index (op->selected, op->next++);

      op->in_flight++;
      op->phase_call (op, entry);
    }

  if (op->in_flight > 0)
    return;

  if (op->error != NULL)
    op_fail (op);
  else if (op->next == op->selected->len)
    op->phase_done (op);
}

/* Called at the end of every call's callback. */
static void
op_call_done (Op *op)
{
  g_assert (op->in_flight > 0);
  op->in_flight--;
  op_pump (op);
}

/* Names a helper in a message: its Id, when known (cut short, see
 * _vmstate_abbreviate_id()), and its unique name. */
static char *
describe_helper (Entry *entry)
{
  g_autofree char *id = NULL;

  if (entry->id == NULL)
    return g_strdup_printf ("helper %s", entry->unique_name);
  id = _vmstate_abbreviate_id (entry->id);
  return g_strdup_printf ("helper '%s' (%s)", id, entry->unique_name);
}

/* A bus daemon disconnects a client that sends a message larger than its
 * max_message_size, and nobody is told why: the callers of a helper
 * whose Save reply was too large get NoReply, a collector whose Load was
 * too large loses its connection. When the size could be the cause, the
 * error says which limit it is and how to raise it. */
static gboolean
message_may_exceed_bus_limit (gsize state_size)
{
  return state_size + VMSTATE_MESSAGE_OVERHEAD > VMSTATE_DBUS_DAEMON_MAX_MESSAGE_SIZE;
}

#define BUS_LIMIT_HINT \
  "a message over the bus's max_message_size (dbus-daemon's default is " \
  "32 MiB) makes the bus daemon disconnect its sender; raise max_message_size " \
  "in the bus configuration (to 128 MiB for states up to 64 MiB, as " \
  "'vmstate bus' does)"

/* Turns the error of a call to a helper into one that names it. */
static GError *
call_error (Op           *op,
            Entry        *entry,
            const char   *method,
            const GError *error)
{
  g_autofree char *detail = _vmstate_describe_dbus_error (error);
  g_autofree char *who = describe_helper (entry);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "%s of %s was cancelled", method, who);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_TIMED_OUT,
                        "%s did not answer %s within %d ms",
                        who, method, op->timeout_msec);
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    {
      /* the helper's reply may be as large as max-state-size allows */
      if (g_str_equal (method, "Save") && message_may_exceed_bus_limit (op->max_state_size))
        return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_HELPER_VANISHED,
                            "%s left the bus or died before it answered %s: %s; "
                            "if its state was over 32 MiB, the bus dropped it: "
                            BUS_LIMIT_HINT, who, method, detail);
      return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_HELPER_VANISHED,
                          "%s left the bus or died before it answered %s: %s",
                          who, method, detail);
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    {
      /* the collector's own Load message carried the state */
      if (g_str_equal (method, "Load") &&
          message_may_exceed_bus_limit (entry_load_size (op, entry)))
        return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                            "the connection to the bus closed during %s of %s: %s; "
                            "its state of %" G_GSIZE_FORMAT " bytes is over 32 MiB: "
                            BUS_LIMIT_HINT, method, who, detail,
                            entry_load_size (op, entry));
      return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                          "the connection to the bus closed during %s of %s: %s",
                          method, who, detail);
    }
  if (error->domain == VMSTATE_ERROR)
    return g_error_new (VMSTATE_ERROR, error->code, "%s failed %s: %s",
                        who, method, detail);
  return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED,
                      "%s failed %s: %s", who, method, detail);
}

typedef struct
{
  Op    *op;
  Entry *entry;
} Call;

static Call *
call_new (Op *op, Entry *entry)
{
  Call *call = g_new (Call, 1);

  call->op = op;
  call->entry = entry;
  return call;
}

/* Phase: the Id of every queued owner */

/* With required-ids, a save or a load ignores the helpers outside the
 * list, as QEMU's id-list does, and a helper whose Id is invalid cannot
 * be on it: its entry keeps no Id and is never selected. */
static gboolean
op_ignores_invalid_ids (Op *op)
{
  return op->kind != OP_LIST && op->required_ids != NULL;
}

static void
on_get_id (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autofree Call *call = user_data;
  Op *op = call->op;
  Entry *entry = call->entry;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) value = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GError) id_error = NULL;
  const char *id;
  gsize len;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      op_take_error (op, entry, call_error (op, entry, "the Id query", error));
      goto out;
    }
  if (!g_variant_is_of_type (reply, G_VARIANT_TYPE ("(v)")))
    {
      op_take_error (op, entry, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_BAD_REPLY,
                                      "helper %s answered the Id query with type %s, "
                                      "expected (v)", entry->unique_name,
                                      g_variant_get_type_string (reply)));
      goto out;
    }

  g_variant_get (reply, "(v)", &value);
  if (!g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      if (!op_ignores_invalid_ids (op))
        op_take_error (op, entry,
                       g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                                    "helper %s has an Id of type '%s', not a string",
                                    entry->unique_name, g_variant_get_type_string (value)));
      goto out;
    }

  id = g_variant_get_string (value, &len);
  if (!_vmstate_check_id (id, len, &id_error))
    {
      if (!op_ignores_invalid_ids (op))
        {
          /* the whole Id, for vmstate_collector_get_failed_helpers() */
          entry->id = g_strdup (id);
          op_take_error (op, entry,
                         g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                                      "helper %s has an invalid Id: %s",
                                      entry->unique_name, id_error->message));
        }
      goto out;
    }
  entry->id = g_strdup (id);

out:
  op_call_done (op);
}

static void
call_get_id (Op *op, Entry *entry)
{
  g_dbus_connection_call (op->self->connection,
                          entry->unique_name, VMSTATE_DBUS_PATH,
                          DBUS_PROPERTIES_INTERFACE, "Get",
                          g_variant_new ("(ss)", VMSTATE_DBUS_INTERFACE, "Id"),
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          op->timeout_msec, op->cancellable,
                          on_get_id, call_new (op, entry));
}

/* Phase: the pid of every helper (list only; best effort) */

static void
on_get_pid (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autofree Call *call = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply != NULL)
    g_variant_get (reply, "(u)", &call->entry->pid);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    op_take_error (call->op, NULL, g_steal_pointer (&error));
  op_call_done (call->op);
}

static void
call_get_pid (Op *op, Entry *entry)
{
  g_dbus_connection_call (op->self->connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "GetConnectionUnixProcessID",
                          g_variant_new ("(s)", entry->unique_name),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                          op->timeout_msec, op->cancellable,
                          on_get_pid, call_new (op, entry));
}

/* Phase: Save */

static void
on_save (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autofree Call *call = user_data;
  Op *op = call->op;
  Entry *entry = call->entry;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) data = NULL;
  g_autoptr(GError) error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      op_take_error (op, entry, call_error (op, entry, "Save", error));
      goto out;
    }
  if (!g_variant_is_of_type (reply, G_VARIANT_TYPE ("(ay)")))
    {
      g_autofree char *who = describe_helper (entry);

      op_take_error (op, entry, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_BAD_REPLY,
                                      "%s answered Save with type %s, expected (ay)", who,
                                      g_variant_get_type_string (reply)));
      goto out;
    }

  data = g_variant_get_child_value (reply, 0);
  if (g_variant_get_size (data) > op->max_state_size)
    {
      g_autofree char *who = describe_helper (entry);

      op_take_error (op, entry, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
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
  op_call_done (op);
}

static void
call_save (Op *op, Entry *entry)
{
  g_dbus_connection_call (op->self->connection,
                          entry->unique_name, VMSTATE_DBUS_PATH,
                          VMSTATE_DBUS_INTERFACE, "Save",
                          NULL, NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          op->timeout_msec, op->cancellable,
                          on_save, call_new (op, entry));
}

/* Phase: Load */

static void
on_load (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autofree Call *call = user_data;
  Op *op = call->op;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;

  op->bytes_in_flight -= entry_load_size (op, call->entry);
  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    op_take_error (op, call->entry, call_error (op, call->entry, "Load", error));
  else if (!g_variant_is_of_type (reply, G_VARIANT_TYPE_UNIT))
    {
      g_autofree char *who = describe_helper (call->entry);

      op_take_error (op, call->entry, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_BAD_REPLY,
                                      "%s answered Load with type %s, expected ()",
                                      who, g_variant_get_type_string (reply)));
    }
  op_call_done (op);
}

static void
call_load (Op *op, Entry *entry)
{
  GBytes *state = vmstate_blob_get_state (op->blob, entry->id);

  op->bytes_in_flight += g_bytes_get_size (state);
  g_dbus_connection_call (op->self->connection,
                          entry->unique_name, VMSTATE_DBUS_PATH,
                          VMSTATE_DBUS_INTERFACE, "Load",
                          g_variant_new ("(@ay)",
                                         g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                   state, TRUE)),
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          op->timeout_msec, op->cancellable,
                          on_load, call_new (op, entry));
}

/* After the Ids are known: duplicates, required Ids, selection */

/* By Id, then by unique name (the order list_helpers returns); entries
 * without an Id (see op_ignores_invalid_ids()) last. */
static int
compare_entries_by_id (gconstpointer a,
                       gconstpointer b)
{
  const Entry *ea = *(const Entry * const *) a;
  const Entry *eb = *(const Entry * const *) b;
  int c;

  if ((ea->id == NULL) != (eb->id == NULL))
    return ea->id == NULL ? 1 : -1;
  if (ea->id != NULL && (c = strcmp (ea->id, eb->id)) != 0)
    return c;
  return strcmp (ea->unique_name, eb->unique_name);
}

static char *
join_ids (GPtrArray *entries)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);
      g_autofree char *id = NULL;

      if (entry->id == NULL)
        continue;
      id = _vmstate_abbreviate_id (entry->id);
      g_string_append_printf (s, "%s'%s' (%s)", s->len > 0 ? ", " : "", id, entry->unique_name);
    }
  if (s->len == 0)
    g_string_append (s, "none");
  return g_string_free (s, FALSE);
}

/* Appends 'id' to a list in a message, cut short. */
static void
append_id (GString    *list,
           guint      *n,
           const char *id)
{
  g_autofree char *shown = _vmstate_abbreviate_id (id);

  g_string_append_printf (list, "%s'%s'", (*n)++ ? ", " : "", shown);
}

static Entry *
find_helper (Op *op, const char *id)
{
  for (guint i = 0; i < op->helpers->len; i++)
    {
      Entry *entry = g_ptr_array_index (op->helpers, i);

      if (g_strcmp0 (entry->id, id) == 0)
        return entry;
    }
  return NULL;
}

/* Does the operation call the helper with this Id (if it is unique)? */
static gboolean
op_wants_id (Op         *op,
             const char *id)
{
  return id != NULL &&
         (op->required_ids == NULL ||
          g_strv_contains ((const char * const *) op->required_ids, id));
}

/* Called when the pids of the holders of duplicated Ids (op->faults,
 * sorted by Id) are known. */
static void
duplicates_done (Op *op)
{
  g_autoptr(GString) message = g_string_new (NULL);
  guint i = 0;

  while (i < op->faults->len)
    {
      Entry *first = g_ptr_array_index (op->faults, i);
      g_autofree char *id = _vmstate_abbreviate_id (first->id);
      guint n = 0;

      while (i + n < op->faults->len &&
             g_str_equal (((Entry *) g_ptr_array_index (op->faults, i + n))->id, first->id))
        n++;

      g_string_append_printf (message, "%s%u helpers have the Id '%s': ",
                              message->len > 0 ? "; " : "", n, id);
      for (guint j = 0; j < n; j++)
        {
          Entry *entry = g_ptr_array_index (op->faults, i + j);

          g_string_append_printf (message, "%s%s (pid %u)",
                                  j == 0 ? "" : j + 1 == n ? " and " : ", ",
                                  entry->unique_name, entry->pid);
        }
      i += n;
    }
  op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_DUPLICATE_ID,
                           "%s (an Id must be unique on the bus)", message->str);
  op_fail (op);
}

/* Sorts op->helpers by Id and refuses an Id the operation wants held
 * twice (helpers outside required-ids do not matter, as with QEMU's
 * id-list). When there is one, returns FALSE and fails the operation
 * once it has the pids of every holder, to name them. */
static gboolean
op_check_duplicates (Op *op)
{
  g_ptr_array_sort (op->helpers, compare_entries_by_id);

  for (guint i = 0; i < op->helpers->len; i++)
    {
      Entry *entry = g_ptr_array_index (op->helpers, i);
      Entry *prev = i > 0 ? g_ptr_array_index (op->helpers, i - 1) : NULL;
      Entry *next = i + 1 < op->helpers->len ? g_ptr_array_index (op->helpers, i + 1) : NULL;

      if (op_wants_id (op, entry->id) &&
          ((prev != NULL && g_strcmp0 (prev->id, entry->id) == 0) ||
           (next != NULL && g_strcmp0 (next->id, entry->id) == 0)))
        g_ptr_array_add (op->faults, entry);
    }
  if (op->faults->len == 0)
    return TRUE;

  op_run_phase (op, op->faults, call_get_pid, duplicates_done);
  return FALSE;
}

/* Selects the helpers to call into op->selected: every helper, or the
 * required ones, which must all be present. Returns FALSE when the
 * operation fails (then, or once the holders of a duplicated Id are
 * known). */
static gboolean
op_select_helpers (Op *op)
{
  if (!op_check_duplicates (op))
    return FALSE;

  g_ptr_array_set_size (op->selected, 0);
  if (op->required_ids == NULL)
    {
      for (guint i = 0; i < op->helpers->len; i++)
        g_ptr_array_add (op->selected, g_ptr_array_index (op->helpers, i));
    }
  else
    {
      g_autoptr(GString) missing = g_string_new (NULL);
      guint n_missing = 0;

      for (guint i = 0; op->required_ids[i] != NULL; i++)
        {
          Entry *entry = find_helper (op, op->required_ids[i]);

          if (entry == NULL)
            append_id (missing, &n_missing, op->required_ids[i]);
          else if (!g_ptr_array_find (op->selected, entry, NULL))
            g_ptr_array_add (op->selected, entry);
        }

      if (n_missing > 0)
        {
          g_autofree char *present = join_ids (op->helpers);

          op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_MISSING_HELPER,
                                   "%u required helper%s missing from the bus: %s "
                                   "(present: %s)", n_missing,
                                   n_missing == 1 ? " is" : "s are",
                                   missing->str, present);
          op_fail (op);
          return FALSE;
        }
      g_ptr_array_sort (op->selected, compare_entries_by_id);
    }
  return TRUE;
}

/* list */

static void
list_done (Op *op)
{
  GPtrArray *helpers = g_ptr_array_new_with_free_func (g_object_unref);
  GTask *task = op->task;

  for (guint i = 0; i < op->helpers->len; i++)
    {
      Entry *entry = g_ptr_array_index (op->helpers, i);

      g_ptr_array_add (helpers, _vmstate_helper_new (entry->id, entry->unique_name, entry->pid));
    }
  g_task_return_pointer (task, helpers, (GDestroyNotify) g_ptr_array_unref);
  g_object_unref (task);
}

/* Every helper, duplicates included: listing is how one finds them. */
static void
list_ids_done (Op *op)
{
  g_ptr_array_sort (op->helpers, compare_entries_by_id);
  op_run_phase (op, op->helpers, call_get_pid, list_done);
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
save_done (Op *op)
{
  g_autoptr(GError) error = NULL;
  g_autofree const char **ids = g_new (const char *, op->selected->len + 1);
  g_autofree GBytes **states = g_new (GBytes *, op->selected->len + 1);
  GTask *task = op->task;
  GBytes *payload;

  /* op->selected is sorted by Id (op_select_helpers). */
  for (guint i = 0; i < op->selected->len; i++)
    {
      Entry *entry = g_ptr_array_index (op->selected, i);

      ids[i] = entry->id;
      states[i] = entry->state;
    }

  payload = _vmstate_blob_write (ids, states, op->selected->len, TRUE, &error);
  /* The write dropped the states it copied: forget them in the entries. */
  for (guint i = 0; i < op->selected->len; i++)
    {
      Entry *entry = g_ptr_array_index (op->selected, i);

      if (states[i] == NULL)
        entry->state = NULL;
    }
  if (payload == NULL)
    {
      op->error = g_error_new (VMSTATE_ERROR, error->code,
                               "cannot write the blob: %s", error->message);
      op_fail (op);
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
call_get_id_and_save (Op *op, Entry *entry)
{
  op->in_flight++;   /* op_pump counted the Id query; this is the Save */
  call_get_id (op, entry);
  call_save (op, entry);
}

static void
save_pipelined_done (Op *op)
{
  if (!op_select_helpers (op))
    return;
  save_done (op);
}

static void
save_ids_done (Op *op)
{
  if (!op_select_helpers (op))
    return;
  op_run_phase (op, op->selected, call_save, save_done);
}

/* load */

static void
load_done (Op *op)
{
  GTask *task = op->task;

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
load_ids_done (Op *op)
{
  g_auto(GStrv) ids = NULL;
  g_autoptr(GPtrArray) targets = g_ptr_array_new ();
  g_autoptr(GString) unknown = g_string_new (NULL);
  g_autoptr(GString) lacking = g_string_new (NULL);
  guint n_unknown = 0, n_lacking = 0;

  if (!op_select_helpers (op))
    return;

  /* Every entry must belong to a selected helper... */
  ids = vmstate_blob_get_ids (op->blob);
  for (guint i = 0; ids[i] != NULL; i++)
    {
      Entry *entry = NULL;

      for (guint j = 0; j < op->selected->len && entry == NULL; j++)
        if (g_str_equal (((Entry *) g_ptr_array_index (op->selected, j))->id, ids[i]))
          entry = g_ptr_array_index (op->selected, j);

      if (entry != NULL)
        g_ptr_array_add (targets, entry);
      else
        {
          append_id (unknown, &n_unknown, ids[i]);
        }
    }

  /* ...and every required helper must have an entry. */
  for (guint i = 0; op->required_ids != NULL && op->required_ids[i] != NULL; i++)
    {
      if (!vmstate_blob_contains (op->blob, op->required_ids[i]))
        {
          append_id (lacking, &n_lacking, op->required_ids[i]);
        }
    }

  if (n_unknown > 0)
    {
      g_autofree char *present = join_ids (op->selected);

      op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_MISSING_HELPER,
                               "the blob holds state for %s, but no %shelper%s on "
                               "the bus (present: %s); no helper was loaded",
                               unknown->str, op->required_ids ? "required " : "",
                               n_unknown == 1 ? " with that Id is" : "s with those Ids are",
                               present);
      op_fail (op);
      return;
    }
  if (n_lacking > 0)
    {
      op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_MISSING_STATE,
                               "the blob has no state for the required helper%s %s; "
                               "no helper was loaded",
                               n_lacking == 1 ? "" : "s", lacking->str);
      op_fail (op);
      return;
    }

  op_run_phase (op, targets, call_load, load_done);
}

/* The first phase of every operation: who owns org.qemu.VMState1? */

static void
on_list_queued_owners (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  Op *op = user_data;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree const char **names = NULL;
  PhaseDone ids_done;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
        {
          /* No helper at all: an empty bus is not an error by itself. */
          g_clear_error (&error);
          names = g_new0 (const char *, 1);
        }
      else
        {
          g_autofree char *detail = _vmstate_describe_dbus_error (error);

          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            op->error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                             "listing the helpers was cancelled");
          else
            op->error = g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                                     "cannot list the owners of %s on the bus: %s",
                                     VMSTATE_DBUS_NAME, detail);
          op_fail (op);
          return;
        }
    }
  else
    g_variant_get (reply, "(^a&s)", &names);

  for (guint i = 0; names[i] != NULL; i++)
    {
      Entry *entry = g_new0 (Entry, 1);

      entry->unique_name = g_strdup (names[i]);
      g_ptr_array_add (op->helpers, entry);
    }

  if (op->kind == OP_SAVE && op->required_ids == NULL && op->max_in_flight >= 2)
    {
      op_run_phase (op, op->helpers, call_get_id_and_save, save_pipelined_done);
      return;
    }

  switch (op->kind)
    {
    case OP_LIST: ids_done = list_ids_done; break;
    case OP_SAVE: ids_done = save_ids_done; break;
    case OP_LOAD: ids_done = load_ids_done; break;
    default: g_assert_not_reached ();
    }
  op_run_phase (op, op->helpers, call_get_id, ids_done);
}

/* A collector made by g_object_new() without a connection (it warned in
 * constructed): fails the operation at once, with an error that says
 * so, instead of handing GDBus a NULL connection. */
static gboolean
op_check_connection (Op *op)
{
  if (op->self->connection != NULL)
    return TRUE;

  op->error = g_error_new_literal (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                                   "the collector has no connection to a bus: "
                                   "create it with vmstate_collector_new() or "
                                   "vmstate_collector_new_for_address()");
  op_fail (op);
  return FALSE;
}

static void
op_start (Op *op)
{
  if (!op_check_connection (op))
    return;

  g_dbus_connection_call (op->self->connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "ListQueuedOwners",
                          g_variant_new ("(s)", VMSTATE_DBUS_NAME),
                          G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE,
                          op->timeout_msec, op->cancellable,
                          on_list_queued_owners, op);
}

/* Runs an async operation to completion on a private main context. */
typedef struct
{
  GMainContext *context;
  GAsyncResult *result;
} SyncData;

static void
on_sync_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  SyncData *data = user_data;

  data->result = g_object_ref (result);
  g_main_context_wakeup (data->context);
}

static SyncData *
sync_data_begin (SyncData *data)
{
  data->context = g_main_context_new ();
  data->result = NULL;
  g_main_context_push_thread_default (data->context);
  return data;
}

static void
sync_data_wait (SyncData *data)
{
  while (data->result == NULL)
    g_main_context_iteration (data->context, TRUE);
}

static void
sync_data_end (SyncData *data)
{
  g_main_context_pop_thread_default (data->context);
  /* Let the sources the operation left (GTask's idle completions) go. */
  while (g_main_context_iteration (data->context, FALSE))
    ;
  g_clear_object (&data->result);
  g_main_context_unref (data->context);
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

  op_start (op_new (self, OP_LIST, cancellable, callback, user_data,
                    vmstate_collector_list_helpers_async));
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
  SyncData data;
  GPtrArray *helpers;

  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sync_data_begin (&data);
  vmstate_collector_list_helpers_async (self, cancellable, on_sync_done, &data);
  sync_data_wait (&data);
  helpers = vmstate_collector_list_helpers_finish (self, data.result, error);
  sync_data_end (&data);
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

  op_start (op_new (self, OP_SAVE, cancellable, callback, user_data,
                    vmstate_collector_save_async));
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
  SyncData data;
  GBytes *blob;

  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  sync_data_begin (&data);
  vmstate_collector_save_async (self, cancellable, on_sync_done, &data);
  sync_data_wait (&data);
  blob = vmstate_collector_save_finish (self, data.result, error);
  sync_data_end (&data);
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
  Op *op;

  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (blob != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = op_new (self, OP_LOAD, cancellable, callback, user_data,
               vmstate_collector_load_async);
  if (!op_check_connection (op))
    return;

  op->blob = vmstate_blob_new_from_bytes (blob, &error);
  if (op->blob == NULL)
    {
      op->error = g_error_new (error->domain, error->code,
                               "cannot load: %s; no helper was loaded", error->message);
      op_fail (op);
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
          op_fail (op);
          return;
        }
    }

  op_start (op);
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
  SyncData data;
  gboolean ok;

  g_return_val_if_fail (VMSTATE_IS_COLLECTOR (self), FALSE);
  g_return_val_if_fail (blob != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  sync_data_begin (&data);
  vmstate_collector_load_async (self, blob, cancellable, on_sync_done, &data);
  sync_data_wait (&data);
  ok = vmstate_collector_load_finish (self, data.result, error);
  sync_data_end (&data);
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
  Op *op;

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
