/* vmstate-collector.h: the VMM side of org.qemu.VMState1
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(VMSTATE_INSIDE) && !defined(VMSTATE_COMPILATION)
# error "Only <libvmstate/libvmstate.h> can be included directly."
#endif

#include <gio/gio.h>

#include "vmstate-version-macros.h"

G_BEGIN_DECLS

#define VMSTATE_TYPE_COLLECTOR (vmstate_collector_get_type ())

VMSTATE_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (VmstateCollector, vmstate_collector, VMSTATE, COLLECTOR, GObject)

VMSTATE_AVAILABLE_IN_ALL
VmstateCollector    *vmstate_collector_new                     (GDBusConnection      *connection);
VMSTATE_AVAILABLE_IN_ALL
void                 vmstate_collector_new_for_address         (const char           *address,
                                                                GCancellable         *cancellable,
                                                                GAsyncReadyCallback   callback,
                                                                gpointer              user_data);
VMSTATE_AVAILABLE_IN_ALL
VmstateCollector    *vmstate_collector_new_for_address_finish  (GAsyncResult         *result,
                                                                GError              **error);
VMSTATE_AVAILABLE_IN_ALL
VmstateCollector    *vmstate_collector_new_for_address_sync    (const char           *address,
                                                                GCancellable         *cancellable,
                                                                GError              **error);

VMSTATE_AVAILABLE_IN_ALL
GDBusConnection     *vmstate_collector_get_connection          (VmstateCollector     *self);
VMSTATE_AVAILABLE_IN_ALL
const char * const  *vmstate_collector_get_required_ids        (VmstateCollector     *self);
VMSTATE_AVAILABLE_IN_ALL
void                 vmstate_collector_set_required_ids        (VmstateCollector     *self,
                                                                const char * const   *required_ids);
VMSTATE_AVAILABLE_IN_ALL
int                  vmstate_collector_get_timeout_msec        (VmstateCollector     *self);
VMSTATE_AVAILABLE_IN_ALL
void                 vmstate_collector_set_timeout_msec        (VmstateCollector     *self,
                                                                int                   timeout_msec);
VMSTATE_AVAILABLE_IN_ALL
guint                vmstate_collector_get_max_state_size      (VmstateCollector     *self);
VMSTATE_AVAILABLE_IN_ALL
void                 vmstate_collector_set_max_state_size      (VmstateCollector     *self,
                                                                guint                 max_state_size);
VMSTATE_AVAILABLE_IN_ALL
guint                vmstate_collector_get_max_in_flight       (VmstateCollector     *self);
VMSTATE_AVAILABLE_IN_ALL
void                 vmstate_collector_set_max_in_flight       (VmstateCollector     *self,
                                                                guint                 max_in_flight);

VMSTATE_AVAILABLE_IN_ALL
void                 vmstate_collector_list_helpers_async      (VmstateCollector     *self,
                                                                GCancellable         *cancellable,
                                                                GAsyncReadyCallback   callback,
                                                                gpointer              user_data);
VMSTATE_AVAILABLE_IN_ALL
GPtrArray           *vmstate_collector_list_helpers_finish     (VmstateCollector     *self,
                                                                GAsyncResult         *result,
                                                                GError              **error);
VMSTATE_AVAILABLE_IN_ALL
GPtrArray           *vmstate_collector_list_helpers_sync       (VmstateCollector     *self,
                                                                GCancellable         *cancellable,
                                                                GError              **error);

VMSTATE_AVAILABLE_IN_ALL
void                 vmstate_collector_save_async              (VmstateCollector     *self,
                                                                GCancellable         *cancellable,
                                                                GAsyncReadyCallback   callback,
                                                                gpointer              user_data);
VMSTATE_AVAILABLE_IN_ALL
GBytes              *vmstate_collector_save_finish             (VmstateCollector     *self,
                                                                GAsyncResult         *result,
                                                                GError              **error);
VMSTATE_AVAILABLE_IN_ALL
GBytes              *vmstate_collector_save_sync               (VmstateCollector     *self,
                                                                GCancellable         *cancellable,
                                                                GError              **error);

VMSTATE_AVAILABLE_IN_ALL
void                 vmstate_collector_load_async              (VmstateCollector     *self,
                                                                GBytes               *blob,
                                                                GCancellable         *cancellable,
                                                                GAsyncReadyCallback   callback,
                                                                gpointer              user_data);
VMSTATE_AVAILABLE_IN_ALL
gboolean             vmstate_collector_load_finish             (VmstateCollector     *self,
                                                                GAsyncResult         *result,
                                                                GError              **error);
VMSTATE_AVAILABLE_IN_ALL
gboolean             vmstate_collector_load_sync               (VmstateCollector     *self,
                                                                GBytes               *blob,
                                                                GCancellable         *cancellable,
                                                                GError              **error);

VMSTATE_AVAILABLE_IN_ALL
GPtrArray           *vmstate_collector_get_failed_helpers      (VmstateCollector     *self,
                                                                GAsyncResult         *result);

G_END_DECLS
