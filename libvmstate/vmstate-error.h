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
 * @VMSTATE_ERROR_FAILED: a failure no other code describes; the message
 *   says more. The collector has no connection, the bus refused to list
 *   the helpers, or the connection closed during a call; a service could
 *   not queue for its bus name. Helpers may use it for their own failures,
 *   such as a state that `load` rejects. On D-Bus:
 *   `org.libvmstate.Error.Failed`.
 * @VMSTATE_ERROR_INVALID_ID: an Id is empty, longer than 255 bytes, not
 *   UTF-8, or not a string: the service's own Id at
 *   [method@Vmstate.Service.export], a helper's Id that a collector read,
 *   or an Id in a blob. On D-Bus: `org.libvmstate.Error.InvalidId`.
 * @VMSTATE_ERROR_DUPLICATE_ID: two helpers that a collector would save
 *   or load share an Id, or two entries of a blob do. On D-Bus:
 *   `org.libvmstate.Error.DuplicateId`.
 * @VMSTATE_ERROR_MISSING_HELPER: a helper of
 *   [property@Vmstate.Collector:required-ids] is not on the bus (save or
 *   load), or a blob holds a state for an Id that no helper on the bus
 *   has (load; no helper was loaded). On D-Bus:
 *   `org.libvmstate.Error.MissingHelper`.
 * @VMSTATE_ERROR_MISSING_STATE: a blob being loaded has no state for a
 *   helper of [property@Vmstate.Collector:required-ids]; no helper was
 *   loaded. On D-Bus: `org.libvmstate.Error.MissingState`.
 * @VMSTATE_ERROR_INVALID_BLOB: a blob is malformed (truncated, a wrong
 *   count, a length past the end, garbage after the entries), from
 *   [ctor@Vmstate.Blob.new_from_bytes] or a collector's load, which then
 *   loads nothing. On D-Bus: `org.libvmstate.Error.InvalidBlob`.
 * @VMSTATE_ERROR_STATE_TOO_LARGE: a state is larger than allowed: a
 *   service's `save` returned, or its `Load` was sent, more than
 *   [property@Vmstate.Service:max-state-size]; a helper answered `Save`,
 *   or a blob being loaded holds, more than
 *   [property@Vmstate.Collector:max-state-size]; or an entry would not
 *   fit the blob format (4 GiB). Never truncated. On D-Bus:
 *   `org.libvmstate.Error.StateTooLarge`.
 * @VMSTATE_ERROR_HELPER_FAILED: a helper answered `Save` or `Load` with
 *   an error outside this domain (its message follows the helper's Id and
 *   unique name), or its vfunc failed without setting an error. On D-Bus:
 *   `org.libvmstate.Error.HelperFailed`.
 * @VMSTATE_ERROR_TIMED_OUT: a helper did not answer within
 *   [property@Vmstate.Collector:timeout-msec]. On D-Bus:
 *   `org.libvmstate.Error.TimedOut`.
 * @VMSTATE_ERROR_HELPER_VANISHED: a helper left the bus, or died, before
 *   it answered. On D-Bus: `org.libvmstate.Error.HelperVanished`.
 * @VMSTATE_ERROR_BAD_REPLY: a helper answered with an unexpected reply
 *   type (`Save` must answer `(ay)`, `Load` `()`). On D-Bus:
 *   `org.libvmstate.Error.BadReply`.
 * @VMSTATE_ERROR_NOT_SUPPORTED: the service does not implement the
 *   requested operation: a subclass that does not override `save` or
 *   `load`. On D-Bus: `org.libvmstate.Error.NotSupported`.
 * @VMSTATE_ERROR_EXPORTED: the service is already exported, or another
 *   object is exported at `/org/qemu/VMState1` on that connection. On
 *   D-Bus: `org.libvmstate.Error.Exported`.
 * @VMSTATE_ERROR_NOT_ENVELOPE: a state is not a libvmstate envelope (it
 *   does not start with the envelope's magic) where one is expected: a
 *   `Load` sent to a service with a
 *   [property@Vmstate.Service:state-version] (and a
 *   [property@Vmstate.Service:min-state-version] above 0), or
 *   [ctor@Vmstate.Envelope.new_from_bytes]. Usually a raw state from a
 *   helper that does not use envelopes. On D-Bus:
 *   `org.libvmstate.Error.NotEnvelope`.
 * @VMSTATE_ERROR_INVALID_ENVELOPE: an envelope is malformed: truncated
 *   (shorter than its header says), followed by bytes its header does not
 *   account for, of an unknown envelope format, with unknown flags, or
 *   with compressed data that does not inflate to exactly the length its
 *   header gives. On D-Bus: `org.libvmstate.Error.InvalidEnvelope`.
 * @VMSTATE_ERROR_BAD_CHECKSUM: an envelope's payload (or header) does not
 *   match its CRC-32C: the state was damaged on its way. On D-Bus:
 *   `org.libvmstate.Error.BadChecksum`.
 * @VMSTATE_ERROR_VERSION_TOO_NEW: a state sent to `Load` has a state
 *   version newer than the service's
 *   [property@Vmstate.Service:state-version]: it was saved by a newer
 *   helper. The message gives both versions. On D-Bus:
 *   `org.libvmstate.Error.VersionTooNew`.
 * @VMSTATE_ERROR_VERSION_TOO_OLD: a state sent to `Load` has a state
 *   version older than the service's
 *   [property@Vmstate.Service:min-state-version]: the helper no longer
 *   converts states that old. The message gives both versions. On D-Bus:
 *   `org.libvmstate.Error.VersionTooOld`.
 *
 * Error codes of the %VMSTATE_ERROR domain.
 *
 * [class@Vmstate.Collector] fails with these codes, with a message that
 * names the helper concerned by its Id and unique bus name. A helper's
 * `save` or `load` that fails with a code of this domain keeps it: the
 * collector reports that same code (a helper that rejects a state as
 * not its own may fail with %VMSTATE_ERROR_INVALID_BLOB, for instance),
 * while an error of any other domain becomes
 * %VMSTATE_ERROR_HELPER_FAILED. A cancelled operation fails with
 * %G_IO_ERROR_CANCELLED, not with a code of this domain.
 *
 * ## On the bus
 *
 * The domain is registered as a D-Bus error domain: each code travels as
 * the D-Bus error name given above, and a libvmstate collector turns the
 * name back into the code. A helper written without libvmstate (with
 * sd-bus, zbus or dbus-python) can answer `Save` or `Load` with, say,
 * `org.libvmstate.Error.StateTooLarge`, and the collector reports
 * %VMSTATE_ERROR_STATE_TOO_LARGE. QEMU does not know these names: it
 * fails the migration whatever the error.
 *
 * ## Matching an error
 *
 * In C, `g_error_matches (error, VMSTATE_ERROR, VMSTATE_ERROR_MISSING_HELPER)`.
 *
 * In Python, a failure raises a `GLib.Error`:
 *
 * ```python
 * try:
 *     blob = collector.save_sync(None)
 * except GLib.Error as e:
 *     if e.matches(Vmstate.error_quark(), Vmstate.Error.MISSING_HELPER):
 *         ...
 * ```
 *
 * In GJS, a failure throws a `GLib.Error`, which is also an instance of
 * `Vmstate.Error`:
 *
 * ```js
 * try {
 *     collector.save_sync(null);
 * } catch (e) {
 *     if (e.matches(Vmstate.Error, Vmstate.Error.MISSING_HELPER))
 *         ...
 * }
 * ```
 *
 * In Vala, the domain is the error domain `Vmstate.Error`:
 *
 * ```vala
 * try {
 *     collector.save_sync (null);
 * } catch (Vmstate.Error.MISSING_HELPER e) {
 *     ...
 * }
 * ```
 *
 * To fail with a code of the domain from a helper: `g_set_error (error,
 * VMSTATE_ERROR, VMSTATE_ERROR_INVALID_BLOB, ...)` in C,
 * `raise GLib.Error.new_literal(Vmstate.error_quark(), "...",
 * Vmstate.Error.INVALID_BLOB)` in Python, `throw new
 * GLib.Error(Vmstate.Error, Vmstate.Error.INVALID_BLOB, '...')` in GJS,
 * `throw new Vmstate.Error.INVALID_BLOB ("...")` in Vala.
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
  VMSTATE_ERROR_NOT_ENVELOPE,
  VMSTATE_ERROR_INVALID_ENVELOPE,
  VMSTATE_ERROR_BAD_CHECKSUM,
  VMSTATE_ERROR_VERSION_TOO_NEW,
  VMSTATE_ERROR_VERSION_TOO_OLD,
} VmstateError;

VMSTATE_AVAILABLE_IN_ALL
GQuark vmstate_error_quark (void);

G_END_DECLS
