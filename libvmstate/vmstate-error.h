/* vmstate-error.h: the libvmstate error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(VMSTATE_INSIDE) && !defined(VMSTATE_COMPILATION)
# error "Only <libvmstate/libvmstate.h> can be included directly."
#endif

#include <glib.h>

#include "vmstate-version-macros.h"

G_BEGIN_DECLS

/**
 * VMSTATE_ERROR:
 *
 * The error domain of libvmstate. Errors in this domain are from the
 * [error@Vmstate.Error] enumeration. The domain is registered as a D-Bus
 * error domain (names `org.libvmstate.Error.*`), so a code raised by a
 * helper reaches the collector unchanged.
 */
#define VMSTATE_ERROR (vmstate_error_quark ())

/**
 * VmstateError:
 * @VMSTATE_ERROR_FAILED: a generic failure; the message says more.
 * @VMSTATE_ERROR_INVALID_ID: a helper Id is empty, longer than 255 bytes,
 *   not UTF-8, or not a string.
 * @VMSTATE_ERROR_DUPLICATE_ID: two helpers (or two blob entries) share an Id.
 * @VMSTATE_ERROR_MISSING_HELPER: a required helper, or the helper a blob
 *   entry belongs to, is not on the bus.
 * @VMSTATE_ERROR_MISSING_STATE: a blob lacks the state of a required helper.
 * @VMSTATE_ERROR_INVALID_BLOB: a blob is malformed (truncated, wrong count,
 *   a length past the end, garbage after the entries).
 * @VMSTATE_ERROR_STATE_TOO_LARGE: a state exceeds the allowed maximum size.
 * @VMSTATE_ERROR_HELPER_FAILED: a helper answered Save or Load with an error.
 * @VMSTATE_ERROR_TIMED_OUT: a helper did not answer in time.
 * @VMSTATE_ERROR_HELPER_VANISHED: a helper left the bus (or died) before
 *   it answered.
 * @VMSTATE_ERROR_BAD_REPLY: a helper answered with an unexpected reply
 *   type.
 * @VMSTATE_ERROR_NOT_SUPPORTED: the service does not implement the
 *   requested operation.
 * @VMSTATE_ERROR_EXPORTED: the service is already exported, or the object
 *   path is taken on that connection.
 *
 * Error codes of the %VMSTATE_ERROR domain.
 *
 * Since: 1.0
 */
typedef enum {
  VMSTATE_ERROR_FAILED,
  VMSTATE_ERROR_INVALID_ID,
  VMSTATE_ERROR_DUPLICATE_ID,
  VMSTATE_ERROR_MISSING_HELPER,
  VMSTATE_ERROR_MISSING_STATE,
  VMSTATE_ERROR_INVALID_BLOB,
  VMSTATE_ERROR_STATE_TOO_LARGE,
  VMSTATE_ERROR_HELPER_FAILED,
  VMSTATE_ERROR_TIMED_OUT,
  VMSTATE_ERROR_HELPER_VANISHED,
  VMSTATE_ERROR_BAD_REPLY,
  VMSTATE_ERROR_NOT_SUPPORTED,
  VMSTATE_ERROR_EXPORTED,
} VmstateError;

VMSTATE_AVAILABLE_IN_ALL
GQuark vmstate_error_quark (void);

G_END_DECLS
