/* vmstate-service.h: the helper side of org.qemu.VMState1
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

#define VMSTATE_TYPE_SERVICE (vmstate_service_get_type ())

VMSTATE_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (VmstateService, vmstate_service, VMSTATE, SERVICE, GObject)

/**
 * VmstateServiceClass:
 * @parent_class: the parent class
 * @save: returns the helper's whole state for a `Save` call, on the
 *   source of a migration; %NULL with an error set on failure. See
 *   vmstate_service_save()
 * @load: restores the helper's state from a `Load` call, on the
 *   destination; returns %TRUE on success, or %FALSE with an error set.
 *   %FALSE without an error still fails the Load (with an error naming
 *   the helper), so a GJS `vfunc_load` must `return true`; with the
 *   Python override a `do_load` that simply ends has succeeded. See
 *   vmstate_service_load()
 * @save_async: starts gathering the state without blocking; the default
 *   calls @save. Its cancellable is cancelled when the caller leaves the
 *   bus or the service is unexported
 * @save_finish: returns the state @save_async gathered
 * @load_async: starts restoring the state without blocking; the default
 *   calls @load. Its cancellable is cancelled when the caller leaves the
 *   bus or the service is unexported
 * @load_finish: returns whether @load_async restored the state
 * @loaded: class closure of the [signal@Vmstate.Service::loaded] signal,
 *   run after a successful Load
 *
 * The class structure of #VmstateService: the virtual functions a helper
 * implements.
 *
 * A helper implements [vfunc@Vmstate.Service.save], which returns its
 * whole state as bytes, and [vfunc@Vmstate.Service.load], which checks
 * and restores such a state and returns %TRUE. A helper whose state takes
 * time to gather or apply implements the asynchronous pairs instead
 * ([vfunc@Vmstate.Service.save_async] with
 * [vfunc@Vmstate.Service.save_finish], [vfunc@Vmstate.Service.load_async]
 * with [vfunc@Vmstate.Service.load_finish]); their defaults call the
 * synchronous vfuncs. [vfunc@Vmstate.Service.loaded] runs after every
 * successful Load.
 *
 * For all of them:
 *
 * - they run in the thread-default main context of the thread that
 *   exported the service, which must be running for the helper to
 *   answer;
 * - an error they set becomes the D-Bus error reply to the `Save` or
 *   `Load` call, with its message; its code survives for %VMSTATE_ERROR
 *   and other registered D-Bus error domains;
 * - a state is at most [property@Vmstate.Service:max-state-size] bytes
 *   (1 MiB by default, QEMU's limit): a larger one is refused with
 *   %VMSTATE_ERROR_STATE_TOO_LARGE, never truncated;
 * - the #GCancellable of the asynchronous ones is cancelled when the
 *   caller leaves the bus or the service is unexported.
 *
 * A Python helper implements `do_save`, `do_load` (and `do_save_async`
 * and so on), a GJS helper `vfunc_save`, `vfunc_load`, a Vala helper
 * `public override` methods `save` and `load`. See the guides for
 * [C](helper-c.html), [Python](helper-python.html),
 * [GJS](helper-gjs.html) and [Vala](helper-vala.html).
 *
 * Since: 1.0
 */
struct _VmstateServiceClass
{
  GObjectClass parent_class;

  GBytes   *(*save)        (VmstateService       *self,
                            GError              **error);
  gboolean  (*load)        (VmstateService       *self,
                            GBytes               *state,
                            GError              **error);

  void      (*save_async)  (VmstateService       *self,
                            GCancellable         *cancellable,
                            GAsyncReadyCallback   callback,
                            gpointer              user_data);
  GBytes   *(*save_finish) (VmstateService       *self,
                            GAsyncResult         *result,
                            GError              **error);
  void      (*load_async)  (VmstateService       *self,
                            GBytes               *state,
                            GCancellable         *cancellable,
                            GAsyncReadyCallback   callback,
                            gpointer              user_data);
  gboolean  (*load_finish) (VmstateService       *self,
                            GAsyncResult         *result,
                            GError              **error);

  void      (*loaded)      (VmstateService       *self);

  /*< private >*/
  gpointer padding[12];
};

VMSTATE_AVAILABLE_IN_ALL
const char      *vmstate_service_get_id             (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
guint            vmstate_service_get_max_state_size (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_max_state_size (VmstateService   *self,
                                                     guint             max_state_size);
VMSTATE_AVAILABLE_IN_ALL
GVariant        *vmstate_service_get_allowed_uids   (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_allowed_uids   (VmstateService   *self,
                                                     GVariant         *uids);
VMSTATE_AVAILABLE_IN_ALL
GDBusConnection *vmstate_service_get_connection     (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
gboolean         vmstate_service_export             (VmstateService   *self,
                                                     GDBusConnection  *connection,
                                                     GError          **error);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_export_async       (VmstateService       *self,
                                                     GDBusConnection      *connection,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
VMSTATE_AVAILABLE_IN_ALL
gboolean         vmstate_service_export_finish      (VmstateService       *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_unexport           (VmstateService   *self);

VMSTATE_AVAILABLE_IN_ALL
GBytes          *vmstate_service_save               (VmstateService   *self,
                                                     GError          **error);
VMSTATE_AVAILABLE_IN_ALL
gboolean         vmstate_service_load               (VmstateService   *self,
                                                     GBytes           *state,
                                                     GError          **error);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_save_async         (VmstateService       *self,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
VMSTATE_AVAILABLE_IN_ALL
GBytes          *vmstate_service_save_finish        (VmstateService       *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_load_async         (VmstateService       *self,
                                                     GBytes               *state,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
VMSTATE_AVAILABLE_IN_ALL
gboolean         vmstate_service_load_finish        (VmstateService       *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);

VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_id             (VmstateService   *self,
                                                     const char       *id);

/* Envelopes: versioned, checksummed, compressed states (issue 13) */

VMSTATE_AVAILABLE_IN_ALL
guint            vmstate_service_get_state_version  (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_state_version  (VmstateService   *self,
                                                     guint             state_version);
VMSTATE_AVAILABLE_IN_ALL
guint            vmstate_service_get_min_state_version (VmstateService *self);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_min_state_version (VmstateService *self,
                                                        guint           min_state_version);
VMSTATE_AVAILABLE_IN_ALL
gboolean         vmstate_service_get_compress       (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_compress       (VmstateService   *self,
                                                     gboolean          compress);
VMSTATE_AVAILABLE_IN_ALL
guint            vmstate_service_get_max_uncompressed_size (VmstateService *self);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_max_uncompressed_size (VmstateService *self,
                                                            guint           max_uncompressed_size);
VMSTATE_AVAILABLE_IN_ALL
guint            vmstate_service_get_loading_version (VmstateService  *self);

/* The helper runtime (vmstate-service-run.c) */

VMSTATE_AVAILABLE_IN_ALL
int              vmstate_service_run                (VmstateService   *self,
                                                     int               argc,
                                                     char            **argv);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_quit               (VmstateService   *self,
                                                     int               exit_status);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_add_option_group   (VmstateService   *self,
                                                     GOptionGroup     *group);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_add_main_option    (VmstateService   *self,
                                                     const char       *long_name,
                                                     char              short_name,
                                                     GOptionFlags      flags,
                                                     GOptionArg        arg,
                                                     const char       *description,
                                                     const char       *arg_description);
VMSTATE_AVAILABLE_IN_ALL
GVariantDict    *vmstate_service_get_options        (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
const char      *vmstate_service_get_helper_type    (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_helper_type    (VmstateService   *self,
                                                     const char       *helper_type);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_add_feature        (VmstateService   *self,
                                                     const char       *feature);
VMSTATE_AVAILABLE_IN_ALL
char           **vmstate_service_dup_features       (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
gboolean         vmstate_service_get_incoming       (VmstateService   *self);
VMSTATE_AVAILABLE_IN_ALL
guint            vmstate_service_get_incoming_timeout_msec (VmstateService *self);
VMSTATE_AVAILABLE_IN_ALL
void             vmstate_service_set_incoming_timeout_msec (VmstateService *self,
                                                            guint           timeout_msec);

G_END_DECLS
