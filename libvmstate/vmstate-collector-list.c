/* vmstate-collector-list.c: the steps of
 * vmstate_collector_list_helpers_async()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * In the order they run:
 *
 * 1. _vmstate_collector_list(): list the queued owners of
 *    org.qemu.VMState1 (vmstate-discovery.c);
 * 2. list_ask_ids(): ask each helper its Id;
 * 3. list_ask_pids(): sort them, and ask the bus daemon each one's pid;
 * 4. list_return().
 */

#include "config.h"

#include "vmstate-collector-private.h"
#include "vmstate-discovery-private.h"
#include "vmstate-helper-private.h"

static void list_ask_ids  (VmstateOp *op);
static void list_ask_pids (VmstateOp *op);
static void list_return   (VmstateOp *op);

void
_vmstate_collector_list (VmstateOp *op)
{
  _vmstate_discovery_list_owners (op, list_ask_ids);
}

static void
list_ask_ids (VmstateOp *op)
{
  _vmstate_op_call_each (op, op->helpers, 1, _vmstate_discovery_send_get_id, list_ask_pids);
}

/* Every helper, duplicates included: listing is how one finds them. */
static void
list_ask_pids (VmstateOp *op)
{
  _vmstate_discovery_sort_helpers (op);
  _vmstate_op_call_each (op, op->helpers, 1, _vmstate_discovery_send_get_pid, list_return);
}

static void
list_return (VmstateOp *op)
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
