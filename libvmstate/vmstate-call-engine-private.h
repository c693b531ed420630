/* vmstate-call-engine-private.h: a collector's operation, and the
 * engine that calls its helpers
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "vmstate-blob.h"

G_BEGIN_DECLS

/* Operations
 *
 * list, save and load are each a VmstateOp: a task, the settings the
 * collector had when the operation started, and the helpers found on
 * the bus. Their steps are in vmstate-collector-list.c, -save.c and
 * -load.c; each step that calls the helpers hands a send function to
 * _vmstate_op_call_each(), which calls each helper of a list
 * concurrently but never more than max-in-flight calls at once (and,
 * for the Loads, never more than LOAD_BYTES_IN_FLIGHT bytes of states
 * but one call). The first failure cancels the calls still in flight;
 * the step after runs, or the task fails with that first error, only
 * when the last call has returned, so no callback outlives the task.
 */

typedef enum {
  VMSTATE_OP_LIST,
  VMSTATE_OP_SAVE,
  VMSTATE_OP_LOAD,
} VmstateOpKind;

typedef struct
{
  char    *unique_name;
  char    *id;
  guint    pid;
  GBytes  *state;
} VmstateEntry;

typedef struct _VmstateOp VmstateOp;

/* A step of an operation. */
typedef void (*VmstateOpStep) (VmstateOp *op);

/* Sends the calls about one helper; the callback of each ends with
 * _vmstate_op_call_done(). */
typedef void (*VmstateSendFunc) (VmstateOp *op, VmstateEntry *entry);

struct _VmstateOp
{
  GTask            *task;
  gpointer          self;          /* the VmstateCollector, the task's source */
  GDBusConnection  *connection;    /* the collector's, borrowed */
  VmstateOpKind     kind;
  GCancellable     *cancellable;   /* ours, cancelled on failure */
  GCancellable     *user_cancellable;
  gulong            cancelled_id;

  /* settings, fixed when the operation starts */
  GStrv             required_ids;
  int               timeout_msec;
  guint             max_state_size;
  guint             max_in_flight;

  GPtrArray        *helpers;       /* VmstateEntry*, all helpers on the bus */
  GPtrArray        *selected;      /* VmstateEntry*, the helpers to save or load, borrowed */
  GPtrArray        *faults;        /* VmstateEntry*, the helpers the error is about, borrowed */
  GPtrArray        *failed_helpers; /* VmstateHelper*, made from faults by _vmstate_op_fail() */
  VmstateBlob      *blob;          /* load: the parsed input */
  VmstateOpStep     helpers_found; /* called when op->helpers holds the queued owners */
  GError           *error;         /* the first error */

  /* the engine: the helpers being called, and the step after */
  GPtrArray        *targets;       /* VmstateEntry*, borrowed */
  VmstateSendFunc   send;
  guint             calls_per_helper;
  gboolean          count_bytes;   /* the calls send states of op->blob (Load) */
  VmstateOpStep     then;
  guint             next;          /* the index in targets of the next helper to call */
  guint             in_flight;
  gsize             bytes_in_flight; /* states sent by calls in flight */
};

/* Keeps what it needs of the reply @reply of a call about @entry. */
typedef void (*VmstateReplyFunc) (VmstateOp *op, VmstateEntry *entry, GVariant *reply);

/* A method of a helper, for _vmstate_op_call_helper(). */
typedef struct
{
  const char       *what;        /* the call, as messages name it */
  const char       *interface;
  const char       *name;
  const char       *reply_type;
  VmstateReplyFunc  take_reply;  /* or %NULL: the reply has nothing to keep */
} VmstateHelperMethod;

/* The callback data of one call: the operation and the helper, and the
 * method called by _vmstate_op_call_helper(). */
typedef struct
{
  VmstateOp                 *op;
  VmstateEntry              *entry;
  const VmstateHelperMethod *method;
} VmstateCall;

VmstateOp    *_vmstate_op_new          (gpointer             source_object,
                                        VmstateOpKind        kind,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data,
                                        gpointer             source_tag);
void          _vmstate_op_fail         (VmstateOp    *op);
void          _vmstate_op_take_error   (VmstateOp    *op,
                                        VmstateEntry *entry,
                                        GError       *error);
void          _vmstate_op_call_each    (VmstateOp       *op,
                                        GPtrArray       *helpers,
                                        guint            calls_per_helper,
                                        VmstateSendFunc  send,
                                        VmstateOpStep    then);
void          _vmstate_op_load_each    (VmstateOp       *op,
                                        GPtrArray       *helpers,
                                        VmstateSendFunc  send,
                                        VmstateOpStep    then);
void          _vmstate_op_call_done    (VmstateOp    *op,
                                        VmstateEntry *entry);
gsize         _vmstate_op_entry_load_size (VmstateOp    *op,
                                           VmstateEntry *entry);
VmstateCall  *_vmstate_call_new        (VmstateOp    *op,
                                        VmstateEntry *entry);
void          _vmstate_op_call_helper  (VmstateOp                 *op,
                                        VmstateEntry              *entry,
                                        const VmstateHelperMethod *method,
                                        GVariant                  *parameters);

G_END_DECLS
