/* vmstate-discovery-private.h: finding and selecting the helpers of a
 * collector's operation
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "vmstate-call-engine-private.h"

G_BEGIN_DECLS

/* Send functions for _vmstate_op_call_each(), one call a helper: its
 * Id, its pid (best effort). */
void     _vmstate_discovery_send_get_id      (VmstateOp     *op,
                                              VmstateEntry  *entry);
void     _vmstate_discovery_send_get_pid     (VmstateOp     *op,
                                              VmstateEntry  *entry);
void     _vmstate_discovery_list_owners      (VmstateOp     *op,
                                              VmstateOpStep  helpers_found);
void     _vmstate_discovery_sort_helpers     (VmstateOp     *op);
gboolean _vmstate_discovery_select_helpers   (VmstateOp     *op);
gboolean _vmstate_discovery_match_blob       (VmstateOp     *op,
                                              GPtrArray     *targets);

G_END_DECLS
