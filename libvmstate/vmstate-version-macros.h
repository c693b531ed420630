/* vmstate-version-macros.h: symbol visibility and availability macros
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(VMSTATE_INSIDE) && !defined(VMSTATE_COMPILATION)
# error "Only <libvmstate/libvmstate.h> can be included directly."
#endif

#include <glib.h>

#ifndef _VMSTATE_EXTERN
# define _VMSTATE_EXTERN __attribute__((visibility("default"))) extern
#endif

#define VMSTATE_AVAILABLE_IN_ALL _VMSTATE_EXTERN
#define VMSTATE_AVAILABLE_IN_1_0 _VMSTATE_EXTERN

#define VMSTATE_DEPRECATED _VMSTATE_EXTERN G_DEPRECATED
#define VMSTATE_DEPRECATED_FOR(f) _VMSTATE_EXTERN G_DEPRECATED_FOR(f)
