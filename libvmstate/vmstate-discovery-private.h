/* vmstate-discovery-private.h: finding and selecting the helpers of a
 * collector's operation
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "vmstate-call-engine-private.h"

G_BEGIN_DECLS

/* Phases: the Id of each helper, its pid (best effort). */
extern const VmstatePhase _vmstate_phase_get_id;
extern const VmstatePhase _vmstate_phase_get_pid;

void     _vmstate_discovery_call_get_id      (VmstateOp     *op,
                                              VmstateEntry  *entry);
void     _vmstate_discovery_list_owners      (VmstateOp     *op,
                                              VmstateOpDone  helpers_found);
void     _vmstate_discovery_sort_helpers     (VmstateOp     *op);
gboolean _vmstate_discovery_select_helpers   (VmstateOp     *op);
gboolean _vmstate_discovery_match_blob       (VmstateOp     *op,
                                              GPtrArray     *targets);

G_END_DECLS
