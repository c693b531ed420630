/* vmstate-collector-load.c: the steps of vmstate_collector_load_async()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * No helper is changed before the whole load is known to be possible. In
 * the order they run:
 *
 * 1. _vmstate_collector_load(): parse and check the blob, then list the
 *    queued owners of org.qemu.VMState1 (vmstate-discovery.c);
 * 2. load_ask_ids(): ask each helper its Id;
 * 3. load_send_states(): select the helpers, match every entry of the
 *    blob to one of them, and only then send each its Load;
 * 4. load_return().
 */

#include "config.h"

#include "vmstate-collector-private.h"
#include "vmstate-discovery-private.h"
#include "vmstate-error.h"
#include "vmstate-util-private.h"

static void load_ask_ids     (VmstateOp    *op);
static void load_send_states (VmstateOp    *op);
static void load_return      (VmstateOp    *op);
static void send_load        (VmstateOp    *op,
                              VmstateEntry *entry);

/* Parses @blob into op->blob and checks every state against
 * max-state-size. If it cannot be loaded, fails the operation and
 * returns FALSE. */
static gboolean
load_check_blob (VmstateOp *op,
                 GBytes    *blob)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) ids = NULL;

  op->blob = vmstate_blob_new_from_bytes (blob, &error);
  if (op->blob == NULL)
    {
      op->error = g_error_new (error->domain, error->code,
                               "cannot load: %s; no helper was loaded", error->message);
      _vmstate_op_fail (op);
      return FALSE;
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
          return FALSE;
        }
    }
  return TRUE;
}

void
_vmstate_collector_load (VmstateOp *op,
                         GBytes    *blob)
{
  if (load_check_blob (op, blob))
    _vmstate_discovery_list_owners (op, load_ask_ids);
}

static void
load_ask_ids (VmstateOp *op)
{
  _vmstate_op_call_each (op, op->helpers, 1, _vmstate_discovery_send_get_id, load_send_states);
}

static void
load_send_states (VmstateOp *op)
{
  g_autoptr(GPtrArray) targets = g_ptr_array_new ();

  if (!_vmstate_discovery_select_helpers (op))
    return;
  if (!_vmstate_discovery_match_blob (op, targets))
    return;
  _vmstate_op_load_each (op, targets, send_load, load_return);
}

static void
load_return (VmstateOp *op)
{
  GTask *task = op->task;

  g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* The Load of one helper: its reply, (), has nothing to keep. */

static const VmstateHelperMethod load = {
  "Load", VMSTATE_DBUS_INTERFACE, "Load", "()", NULL
};

static void
send_load (VmstateOp    *op,
           VmstateEntry *entry)
{
  GBytes *state = vmstate_blob_get_state (op->blob, entry->id);

  _vmstate_op_call_helper (op, entry, &load,
                           g_variant_new ("(@ay)",
                                          g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                    state, TRUE)));
}
