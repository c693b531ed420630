/* vmstate-blob.h: the dbus-vmstate section payload codec
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

#define VMSTATE_TYPE_BLOB (vmstate_blob_get_type ())

VMSTATE_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (VmstateBlob, vmstate_blob, VMSTATE, BLOB, GObject)

VMSTATE_AVAILABLE_IN_ALL
VmstateBlob  *vmstate_blob_new            (void);
VMSTATE_AVAILABLE_IN_ALL
VmstateBlob  *vmstate_blob_new_from_bytes (GBytes       *data,
                                           GError      **error);
VMSTATE_AVAILABLE_IN_ALL
gboolean      vmstate_blob_add            (VmstateBlob  *self,
                                           const char   *id,
                                           GBytes       *state,
                                           GError      **error);
VMSTATE_AVAILABLE_IN_ALL
gboolean      vmstate_blob_remove         (VmstateBlob  *self,
                                           const char   *id);
VMSTATE_AVAILABLE_IN_ALL
gboolean      vmstate_blob_contains       (VmstateBlob  *self,
                                           const char   *id);
VMSTATE_AVAILABLE_IN_ALL
GBytes       *vmstate_blob_get_state      (VmstateBlob  *self,
                                           const char   *id);
VMSTATE_AVAILABLE_IN_ALL
guint         vmstate_blob_get_n_entries  (VmstateBlob  *self);
VMSTATE_AVAILABLE_IN_ALL
char        **vmstate_blob_get_ids        (VmstateBlob  *self);
VMSTATE_AVAILABLE_IN_ALL
gsize         vmstate_blob_get_size       (VmstateBlob  *self);
VMSTATE_AVAILABLE_IN_ALL
GBytes       *vmstate_blob_to_bytes       (VmstateBlob  *self);

G_END_DECLS
