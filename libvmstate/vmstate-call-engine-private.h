/* vmstate-call-engine-private.h: the collector's operations and the
 * engine that calls the helpers of one
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#include "vmstate-blob.h"

G_BEGIN_DECLS

/* Operations
 *
 * list, save and load share one engine: a VmstateOp walks through
 * phases, and each phase makes one kind of call to every helper of a
 * list, concurrently but never more than max-in-flight at once (and, for
 * a phase that sends states, never more than LOAD_BYTES_IN_FLIGHT bytes
 * of them but one call). The first failure cancels the calls still in
 * flight; the task completes when the last of them has returned, so no
 * callback outlives it.
 *
 * A phase is a VmstatePhase: its call function sends exactly
 * calls_per_entry calls for one helper, and each of their callbacks ends
 * with _vmstate_op_call_done(). When every call of the phase has
 * returned, the engine calls the phase's done function, or fails the
 * operation with its first error.
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
typedef void (*VmstateOpDone) (VmstateOp *op);

typedef struct
{
  /* sends calls_per_entry calls about @entry */
  void   (*call) (VmstateOp *op, VmstateEntry *entry);
  guint    calls_per_entry;
  /* the calls send the entry's state of op->blob (Load) */
  gboolean sends_state;
} VmstatePhase;

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
  GPtrArray        *selected;      /* VmstateEntry*, the ones to call, borrowed */
  GPtrArray        *faults;        /* VmstateEntry*, the helpers the error is about, borrowed */
  GPtrArray        *failed_helpers; /* VmstateHelper*, made from faults by _vmstate_op_fail() */
  VmstateBlob      *blob;          /* load: the parsed input */
  VmstateOpDone     helpers_found; /* called when op->helpers holds the queued owners */

  /* the engine: the phase running */
  const VmstatePhase *phase;
  VmstateOpDone     phase_done;
  guint             next;
  guint             in_flight;
  gsize             bytes_in_flight; /* states sent by calls in flight */
  GError           *error;
};

/* The callback data of one call: the operation and the helper. */
typedef struct
{
  VmstateOp    *op;
  VmstateEntry *entry;
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
void          _vmstate_op_run_phase    (VmstateOp          *op,
                                        GPtrArray          *targets,
                                        const VmstatePhase *phase,
                                        VmstateOpDone       phase_done);
void          _vmstate_op_call_done    (VmstateOp    *op,
                                        VmstateEntry *entry);
gsize         _vmstate_op_entry_load_size (VmstateOp    *op,
                                           VmstateEntry *entry);
VmstateCall  *_vmstate_call_new        (VmstateOp    *op,
                                        VmstateEntry *entry);
char         *_vmstate_describe_helper (VmstateEntry *entry);
GError       *_vmstate_call_error      (VmstateOp    *op,
                                        VmstateEntry *entry,
                                        const char   *method,
                                        const GError *error);

G_END_DECLS
