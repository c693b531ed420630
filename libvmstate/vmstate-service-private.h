/* vmstate-service-private.h: what vmstate-service.c and the helper
 * runtime (vmstate-service-run.c) share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "vmstate-service.h"

G_BEGIN_DECLS

/* Installs the runtime's properties (ids from @first_prop_id on) and
 * signals; called by vmstate_service_class_init(). */
void     _vmstate_service_run_class_init   (VmstateServiceClass *klass,
                                            guint                first_prop_id);
/* @prop_id counts from 0 at the runtime's first property; FALSE if it is
 * not one of them. */
gboolean _vmstate_service_run_get_property (VmstateService      *self,
                                            guint                prop_id,
                                            GValue              *value);
gboolean _vmstate_service_run_set_property (VmstateService      *self,
                                            guint                prop_id,
                                            const GValue        *value);

G_END_DECLS
