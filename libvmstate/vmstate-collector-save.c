/* vmstate-collector-save.c: the steps of vmstate_collector_save_async()
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * In the order they run:
 *
 * 1. _vmstate_collector_save(): list the queued owners of
 *    org.qemu.VMState1 (vmstate-discovery.c);
 * 2. save_ask(): without required-ids, ask each helper its Id and its
 *    state, the two calls sent back to back, then 3a; with required-ids
 *    (or a window of one call), ask each helper its Id, then 3b;
 * 3a. save_check_ids(): check the Ids are valid and unique, then 4;
 * 3b. save_ask_states(): select the required helpers, ask each its
 *    state;
 * 4. save_write_blob(): write the states, sorted by Id, into the blob.
 *
 * Any failure ends the save (vmstate-call-engine.c): it never returns a
 * partial blob.
 */

#include "config.h"

#include "vmstate-blob-private.h"
#include "vmstate-collector-private.h"
#include "vmstate-discovery-private.h"
#include "vmstate-error.h"
#include "vmstate-util-private.h"

static void save_ask            (VmstateOp    *op);
static void save_check_ids      (VmstateOp    *op);
static void save_ask_states     (VmstateOp    *op);
static void save_write_blob     (VmstateOp    *op);
static void send_get_id_and_save (VmstateOp    *op,
                                  VmstateEntry *entry);
static void send_save           (VmstateOp    *op,
                                 VmstateEntry *entry);

void
_vmstate_collector_save (VmstateOp *op)
{
  _vmstate_discovery_list_owners (op, save_ask);
}

/* Without a required-ids list every helper is saved, so the Id query and
 * the Save of each helper are sent back to back (a helper answers them
 * in order) instead of one after the other, and the Ids are checked
 * when both have answered: one round trip fewer inside the VM's
 * downtime. A Save has no effect on the helper, so saving one whose Id
 * turns out invalid or duplicated costs nothing but the wasted reply:
 * the save fails just the same. The two calls of a helper need a window
 * of two.
 *
 * With a required-ids list, the Ids come first, and only the required
 * helpers are saved. */
static void
save_ask (VmstateOp *op)
{
  if (op->required_ids == NULL && op->max_in_flight >= 2)
    _vmstate_op_call_each (op, op->helpers, 2, send_get_id_and_save, save_check_ids);
  else
    _vmstate_op_call_each (op, op->helpers, 1, _vmstate_discovery_send_get_id, save_ask_states);
}

static void
save_check_ids (VmstateOp *op)
{
  if (_vmstate_discovery_select_helpers (op))
    save_write_blob (op);
}

static void
save_ask_states (VmstateOp *op)
{
  if (_vmstate_discovery_select_helpers (op))
    _vmstate_op_call_each (op, op->selected, 1, send_save, save_write_blob);
}

/* The Save of one helper */

/* Keeps the state of the Save reply @reply in @entry, if it is not too
 * large. */
static void
entry_take_state (VmstateOp    *op,
                  VmstateEntry *entry,
                  GVariant     *reply)
{
  g_autoptr(GVariant) data = g_variant_get_child_value (reply, 0);

  if (g_variant_get_size (data) > op->max_state_size)
    {
      g_autofree char *who = _vmstate_describe_helper (entry);

      _vmstate_op_take_error (op, entry, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                                      "%s saved a state of %" G_GSIZE_FORMAT " bytes, more "
                                      "than the collector's max-state-size of %u bytes",
                                      who, g_variant_get_size (data), op->max_state_size));
      return;
    }
  /* A slice of the reply's body, no copy: GDBus has already copied the
   * bytes out of its read buffer, and the message, its header and the
   * tuple go when the call's callback returns. See save_write_blob() for
   * the memory bound. */
  entry->state = g_variant_get_data_as_bytes (data);
}

static void
send_get_id_and_save (VmstateOp    *op,
                      VmstateEntry *entry)
{
  _vmstate_discovery_send_get_id (op, entry);
  send_save (op, entry);
}

static const VmstateHelperMethod save = {
  "Save", VMSTATE_DBUS_INTERFACE, "Save", "(ay)", entry_take_state
};

static void
send_save (VmstateOp    *op,
           VmstateEntry *entry)
{
  _vmstate_op_call_helper (op, entry, &save, NULL);
}

/* The blob */

/* Memory. The collector's peak is bounded by design at about two copies of
 * the total state T, whatever the allocator does with freed memory:
 *
 * - GDBus reads each reply into its connection's read buffer (reused, as
 *   large as the largest message) and copies the `ay` out of it into the
 *   reply's body; entry_take_state() keeps a slice of that body (no
 *   copy) and the rest of the reply (message, header, tuple) is gone
 *   when the call's callback returns.
 *   So while the helpers answer, each state exists once: T in all.
 * - When every state has arrived, and only then, all sizes are known:
 *   save_write_blob() hands the states, already sorted by Id, to
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
save_write_blob (VmstateOp *op)
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
