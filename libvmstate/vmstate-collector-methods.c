/* vmstate-collector-methods.c: the collector's list_helpers, save and
 * load methods (async, finish and sync), and its failed helpers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each async method makes a VmstateOp (vmstate-call-engine.c) with the
 * collector's settings, and runs the operation's steps:
 * vmstate-collector-list.c, vmstate-collector-save.c and
 * vmstate-collector-load.c. Each sync method runs its async twin on a
 * private main context (vmstate-sync-private.c).
 */

#include "config.h"

#include "vmstate-collector.h"
#include "vmstate-collector-private.h"
#include "vmstate-error.h"
#include "vmstate-sync-private.h"

/* A new operation of @self, with the collector's settings as they are
 * now; or %NULL when the collector has no connection (it was made by
 * g_object_new() without one, and warned in constructed): the operation
 * has then failed already, with an error that says so, instead of
 * handing GDBus a %NULL connection. */
static VmstateOp *
op_new (VmstateCollector    *self,
        VmstateOpKind        kind,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data,
        gpointer             source_tag)
{
  VmstateOp *op = _vmstate_op_new (self, kind, cancellable, callback, user_data, source_tag);

  op->connection = vmstate_collector_get_connection (self);
  op->required_ids = g_strdupv ((char **) vmstate_collector_get_required_ids (self));
  op->timeout_msec = vmstate_collector_get_timeout_msec (self);
  op->max_state_size = vmstate_collector_get_max_state_size (self);
  op->max_in_flight = vmstate_collector_get_max_in_flight (self);

  if (op->connection != NULL)
    return op;

  op->error = g_error_new_literal (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                                   "the collector has no connection to a bus: "
                                   "create it with vmstate_collector_new() or "
                                   "vmstate_collector_new_for_address()");
  _vmstate_op_fail (op);
  return NULL;
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
  VmstateOp *op;

  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = op_new (self, VMSTATE_OP_LIST, cancellable, callback, user_data,
               vmstate_collector_list_helpers_async);
  if (op != NULL)
    _vmstate_collector_list (op);
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
  VmstateOp *op;

  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = op_new (self, VMSTATE_OP_SAVE, cancellable, callback, user_data,
               vmstate_collector_save_async);
  if (op != NULL)
    _vmstate_collector_save (op);
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
  VmstateOp *op;

  g_return_if_fail (VMSTATE_IS_COLLECTOR (self));
  g_return_if_fail (blob != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  op = op_new (self, VMSTATE_OP_LOAD, cancellable, callback, user_data,
               vmstate_collector_load_async);
  if (op != NULL)
    _vmstate_collector_load (op, blob);
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

