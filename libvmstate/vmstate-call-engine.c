/* vmstate-call-engine.c: calls the helpers of a collector's operation
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The engine under list, save and load (see vmstate-call-engine-private.h):
 *
 * - the operation's life: its task, its own cancellable linked to the
 *   caller's, its first error and the helpers that error is about;
 * - the window of calls in flight (max-in-flight) and the byte budget of
 *   the phases that send states (Load);
 * - the wording of the errors of calls to a helper.
 */

#include "config.h"

#include "vmstate-call-engine-private.h"
#include "vmstate-error.h"
#include "vmstate-helper-private.h"
#include "vmstate-util-private.h"

/* The operation */

static void
entry_free (VmstateEntry *entry)
{
  g_free (entry->unique_name);
  g_free (entry->id);
  g_clear_pointer (&entry->state, g_bytes_unref);
  g_free (entry);
}

static void
op_free (VmstateOp *op)
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

/* The caller's cancellable cancels ours, which every call of the
 * operation uses (and which a failure cancels too). */
static void
on_user_cancelled (GCancellable *user_cancellable,
                   gpointer      user_data)
{
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/* A new operation of @kind, its task owning it. The caller fills in the
 * settings and the connection. */
VmstateOp *
_vmstate_op_new (gpointer             source_object,
                 VmstateOpKind        kind,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data,
                 gpointer             source_tag)
{
  VmstateOp *op = g_new0 (VmstateOp, 1);

  op->task = g_task_new (source_object, cancellable, callback, user_data);
  g_task_set_source_tag (op->task, source_tag);
  g_task_set_task_data (op->task, op, (GDestroyNotify) op_free);
  op->self = source_object;
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
  op->helpers = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  op->selected = g_ptr_array_new ();
  op->faults = g_ptr_array_new ();
  op->failed_helpers = g_ptr_array_new_with_free_func (g_object_unref);
  return op;
}

/* Completes the operation with op->error, and keeps the helpers it is
 * about for vmstate_collector_get_failed_helpers(). The states already
 * saved go now, not with the task. Takes the task's reference. */
void
_vmstate_op_fail (VmstateOp *op)
{
  GTask *task = op->task;

  for (guint i = 0; i < op->faults->len; i++)
    {
      VmstateEntry *entry = g_ptr_array_index (op->faults, i);

      g_ptr_array_add (op->failed_helpers,
                       _vmstate_helper_new (entry->id, entry->unique_name, entry->pid));
    }
  for (guint i = 0; i < op->helpers->len; i++)
    g_clear_pointer (&((VmstateEntry *) g_ptr_array_index (op->helpers, i))->state, g_bytes_unref);

  g_task_return_error (task, g_steal_pointer (&op->error));
  g_object_unref (task);
}

/* Records the operation's first error, and @entry (when not %NULL) as
 * the helper it is about; later errors (including the cancellations the
 * first one causes) are dropped. A cancellation by the caller is about
 * no helper. */
void
_vmstate_op_take_error (VmstateOp    *op,
                        VmstateEntry *entry,
                        GError       *error)
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

/* The window */

/* Load calls carry the states: beyond this many bytes in flight, GDBus's
 * serialized copies of them only add memory, not speed (the bus moves
 * one message at a time). One call is always allowed, whatever its size. */
#define LOAD_BYTES_IN_FLIGHT (4 * 1024 * 1024)

/* The size of the state a Load sends to the helper of @entry. */
gsize
_vmstate_op_entry_load_size (VmstateOp    *op,
                             VmstateEntry *entry)
{
  return g_bytes_get_size (vmstate_blob_get_state (op->blob, entry->id));
}

static gsize
phase_bytes (VmstateOp    *op,
             VmstateEntry *entry)
{
  return op->phase->sends_state ? _vmstate_op_entry_load_size (op, entry) : 0;
}

/* May the calls about @entry go now? */
static gboolean
op_may_send (VmstateOp    *op,
             VmstateEntry *entry)
{
  if (op->in_flight + op->phase->calls_per_entry > op->max_in_flight)
    return FALSE;
  if (op->phase->sends_state && op->in_flight > 0 &&
      op->bytes_in_flight + phase_bytes (op, entry) > LOAD_BYTES_IN_FLIGHT)
    return FALSE;
  return TRUE;
}

/* Sends the calls the window allows; when none is left in flight,
 * ends the phase: fails the operation with its first error, or goes on
 * with the phase's done function once every helper was called. */
static void
op_pump (VmstateOp *op)
{
  while (op->error == NULL &&
         op->next < op->selected->len &&
         op_may_send (op, g_ptr_array_index (op->selected, op->next)))
    {
      VmstateEntry *entry = g_ptr_array_index (op->selected, op->next++);

      op->in_flight += op->phase->calls_per_entry;
      op->bytes_in_flight += phase_bytes (op, entry);
      op->phase->call (op, entry);
    }

  if (op->in_flight > 0)
    return;

  if (op->error != NULL)
    _vmstate_op_fail (op);
  else if (op->next == op->selected->len)
    op->phase_done (op);
}

/* Runs @phase on every helper of @targets (copied into op->selected,
 * unless it is op->selected), then @phase_done. */
void
_vmstate_op_run_phase (VmstateOp          *op,
                       GPtrArray          *targets,
                       const VmstatePhase *phase,
                       VmstateOpDone       phase_done)
{
  g_assert (phase->calls_per_entry >= 1);

  if (targets != op->selected)
    {
      g_ptr_array_set_size (op->selected, 0);
      for (guint i = 0; i < targets->len; i++)
        g_ptr_array_add (op->selected, g_ptr_array_index (targets, i));
    }
  op->phase = phase;
  op->phase_done = phase_done;
  op->next = 0;
  op->in_flight = 0;
  op_pump (op);
}

/* Called at the end of the callback of every call about @entry. */
void
_vmstate_op_call_done (VmstateOp    *op,
                       VmstateEntry *entry)
{
  g_assert (op->in_flight > 0);
  op->in_flight--;
  if (op->phase->sends_state)
    op->bytes_in_flight -= phase_bytes (op, entry);
  op_pump (op);
}

VmstateCall *
_vmstate_call_new (VmstateOp    *op,
                   VmstateEntry *entry)
{
  VmstateCall *call = g_new (VmstateCall, 1);

  call->op = op;
  call->entry = entry;
  return call;
}

/* The errors of calls */

/* Names a helper in a message: its Id, when known (cut short, see
 * _vmstate_abbreviate_id()), and its unique name. */
char *
_vmstate_describe_helper (VmstateEntry *entry)
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
GError *
_vmstate_call_error (VmstateOp    *op,
                     VmstateEntry *entry,
                     const char   *method,
                     const GError *error)
{
  g_autofree char *detail = _vmstate_describe_dbus_error (error);
  g_autofree char *who = _vmstate_describe_helper (entry);

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
          message_may_exceed_bus_limit (_vmstate_op_entry_load_size (op, entry)))
        return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                            "the connection to the bus closed during %s of %s: %s; "
                            "its state of %" G_GSIZE_FORMAT " bytes is over 32 MiB: "
                            BUS_LIMIT_HINT, method, who, detail,
                            _vmstate_op_entry_load_size (op, entry));
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

