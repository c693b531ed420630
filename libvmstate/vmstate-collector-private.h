/* vmstate-collector-private.h: the collector's operations inside
 * libvmstate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Where the collector lives:
 *
 *   vmstate-collector.c          the class: properties, constructors
 *   vmstate-collector-methods.c  list_helpers, save and load: the public
 *                                async, finish and sync methods
 *   vmstate-collector-list.c     the steps of a listing
 *   vmstate-collector-save.c     the steps of a save
 *   vmstate-collector-load.c     the steps of a load
 *   vmstate-collector-errors.c   what the errors about a helper say
 *   vmstate-discovery.c          finding and selecting the helpers
 *   vmstate-call-engine.c        the operation, and calling its helpers
 *                                within the window
 */

#pragma once

#include "vmstate-call-engine-private.h"

G_BEGIN_DECLS

/* The first step of each operation: vmstate-collector-list.c, -save.c
 * and -load.c. */
void       _vmstate_collector_list     (VmstateOp    *op);
void       _vmstate_collector_save     (VmstateOp    *op);
void       _vmstate_collector_load     (VmstateOp    *op,
                                        GBytes       *blob);

/* vmstate-collector-errors.c */
char      *_vmstate_describe_helper    (VmstateEntry *entry);
GError    *_vmstate_call_error         (VmstateOp    *op,
                                        VmstateEntry *entry,
                                        const char   *method,
                                        const GError *error);
GVariant  *_vmstate_call_finish        (VmstateCall  *call,
                                        GObject      *source,
                                        GAsyncResult *result);

G_END_DECLS
