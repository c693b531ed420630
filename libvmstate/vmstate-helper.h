/* vmstate-helper.h: a helper found on the bus
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(VMSTATE_INSIDE) && !defined(VMSTATE_COMPILATION)
# error "Only <libvmstate/libvmstate.h> can be included directly."
#endif

#include <glib-object.h>

#include "vmstate-version-macros.h"

G_BEGIN_DECLS

#define VMSTATE_TYPE_HELPER (vmstate_helper_get_type ())

VMSTATE_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (VmstateHelper, vmstate_helper, VMSTATE, HELPER, GObject)

VMSTATE_AVAILABLE_IN_ALL
const char *vmstate_helper_get_id          (VmstateHelper *self);
VMSTATE_AVAILABLE_IN_ALL
const char *vmstate_helper_get_unique_name (VmstateHelper *self);
VMSTATE_AVAILABLE_IN_ALL
guint       vmstate_helper_get_pid         (VmstateHelper *self);

VMSTATE_AVAILABLE_IN_ALL
gboolean    vmstate_id_is_valid            (const char    *id,
                                            GError       **error);

G_END_DECLS
