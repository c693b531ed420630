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

/**
 * VMSTATE_AVAILABLE_IN_ALL:
 *
 * Marks a declaration of libvmstate's public API that is in every
 * version: it exports the symbol from the shared library. For the
 * library's own headers; applications have no use for it.
 *
 * Since: 1.0
 */
#define VMSTATE_AVAILABLE_IN_ALL _VMSTATE_EXTERN

/**
 * VMSTATE_AVAILABLE_IN_1_0:
 *
 * Marks a declaration of libvmstate's public API that appeared in 1.0:
 * it exports the symbol from the shared library. For the library's own
 * headers.
 *
 * Since: 1.0
 */
#define VMSTATE_AVAILABLE_IN_1_0 _VMSTATE_EXTERN

/**
 * VMSTATE_DEPRECATED:
 *
 * Marks a declaration of libvmstate's public API as deprecated, with no
 * replacement: it stays exported, and the compiler warns when it is
 * used. For the library's own headers.
 *
 * Since: 1.0
 */
#define VMSTATE_DEPRECATED _VMSTATE_EXTERN G_DEPRECATED

/**
 * VMSTATE_DEPRECATED_FOR:
 * @f: the name of the function to use instead
 *
 * Marks a declaration of libvmstate's public API as deprecated in favour
 * of @f: it stays exported, and the compiler's warning names @f. For the
 * library's own headers.
 *
 * Since: 1.0
 */
#define VMSTATE_DEPRECATED_FOR(f) _VMSTATE_EXTERN G_DEPRECATED_FOR(f)
