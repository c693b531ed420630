/* vmstate-call-engine.c: calls the helpers of a collector's operation
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The engine under list, save and load (see vmstate-call-engine-private.h):
 *
 * - the operation's life: its task, its own cancellable linked to the
 *   caller's, its first error and the helpers that error is about;
 * - the window of calls in flight (max-in-flight) and the byte budget of
 *   the Loads, under _vmstate_op_call_each() and _vmstate_op_load_each();
 * - calling a method of a helper (_vmstate_op_call_helper()): one
 *   callback for every such call, which checks the reply's type and
 *   hands the reply to the step that asked for it.
 *
 * What the errors of calls say is in vmstate-collector-errors.c.
 */

#include "config.h"

#include "vmstate-call-engine-private.h"
#include "vmstate-collector-private.h"
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
  g_clear_pointer (&op->targets, g_ptr_array_unref);
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
  op->targets = g_ptr_array_new ();
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
bytes_sent (VmstateOp    *op,
            VmstateEntry *entry)
{
  return op->count_bytes ? _vmstate_op_entry_load_size (op, entry) : 0;
}

/* May the calls about @entry go now? */
static gboolean
op_may_send (VmstateOp    *op,
             VmstateEntry *entry)
{
  if (op->in_flight + op->calls_per_helper > op->max_in_flight)
    return FALSE;
  if (op->count_bytes && op->in_flight > 0 &&
      op->bytes_in_flight + bytes_sent (op, entry) > LOAD_BYTES_IN_FLIGHT)
    return FALSE;
  return TRUE;
}

/* Sends the calls the window allows; when none is left in flight,
 * fails the operation with its first error, or goes on with the next
 * step once every helper was called. */
static void
op_pump (VmstateOp *op)
{
  while (op->error == NULL &&
         op->next < op->targets->len &&
         op_may_send (op, g_ptr_array_index (op->targets, op->next)))
    {
      VmstateEntry *entry = g_ptr_array_index (op->targets, op->next++);

      op->in_flight += op->calls_per_helper;
      op->bytes_in_flight += bytes_sent (op, entry);
      op->send (op, entry);
    }

  if (op->in_flight > 0)
    return;

  if (op->error != NULL)
    _vmstate_op_fail (op);
  else if (op->next == op->targets->len)
    op->then (op);
}

static void
op_start_calls (VmstateOp       *op,
                GPtrArray       *helpers,
                guint            calls_per_helper,
                gboolean         count_bytes,
                VmstateSendFunc  send,
                VmstateOpStep    then)
{
  g_assert (calls_per_helper >= 1);
  g_assert (op->in_flight == 0);

  g_ptr_array_set_size (op->targets, 0);
  for (guint i = 0; i < helpers->len; i++)
    g_ptr_array_add (op->targets, g_ptr_array_index (helpers, i));
  op->send = send;
  op->calls_per_helper = calls_per_helper;
  op->count_bytes = count_bytes;
  op->then = then;
  op->next = 0;
  op_pump (op);
}

/* Calls every helper of @helpers, max-in-flight calls at most at once:
 * @send sends the @calls_per_helper calls about one helper. When every
 * call has returned, runs @then, or fails the operation with its first
 * error. */
void
_vmstate_op_call_each (VmstateOp       *op,
                       GPtrArray       *helpers,
                       guint            calls_per_helper,
                       VmstateSendFunc  send,
                       VmstateOpStep    then)
{
  op_start_calls (op, helpers, calls_per_helper, FALSE, send, then);
}

/* The same for the Loads, one call a helper: the states of the calls in
 * flight also stay within LOAD_BYTES_IN_FLIGHT (but one call). */
void
_vmstate_op_load_each (VmstateOp       *op,
                       GPtrArray       *helpers,
                       VmstateSendFunc  send,
                       VmstateOpStep    then)
{
  op_start_calls (op, helpers, 1, TRUE, send, then);
}

/* Called at the end of the callback of every call about @entry. */
void
_vmstate_op_call_done (VmstateOp    *op,
                       VmstateEntry *entry)
{
  g_assert (op->in_flight > 0);
  op->in_flight--;
  op->bytes_in_flight -= bytes_sent (op, entry);
  op_pump (op);
}

VmstateCall *
_vmstate_call_new (VmstateOp    *op,
                   VmstateEntry *entry)
{
  VmstateCall *call = g_new0 (VmstateCall, 1);

  call->op = op;
  call->entry = entry;
  return call;
}

/* Calling a helper */

static void
on_helper_reply (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autofree VmstateCall *call = user_data;
  g_autoptr(GVariant) reply = _vmstate_call_finish (call, source, result);

  if (reply != NULL && call->method->take_reply != NULL)
    call->method->take_reply (call->op, call->entry, reply);
  _vmstate_op_call_done (call->op, call->entry);
}

/* Calls @method on the helper of @entry, one of the calls a send
 * function makes. A reply of the method's reply type goes to its
 * take_reply function; any other answer is the operation's error,
 * naming the helper and the call. */
void
_vmstate_op_call_helper (VmstateOp                 *op,
                         VmstateEntry              *entry,
                         const VmstateHelperMethod *method,
                         GVariant                  *parameters)
{
  VmstateCall *call = _vmstate_call_new (op, entry);

  call->method = method;
  g_dbus_connection_call (op->connection,
                          entry->unique_name, VMSTATE_DBUS_PATH,
                          method->interface, method->name, parameters,
                          NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START,
                          op->timeout_msec, op->cancellable,
                          on_helper_reply, call);
}
