/* vmstate-envelope.h: versioned, checksummed, compressed helper states
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

/**
 * VMSTATE_ENVELOPE_HEADER_SIZE:
 *
 * The size in bytes of an envelope's header, which the stored payload
 * follows. See [class@Vmstate.Envelope] for its layout.
 *
 * Since: 1.0
 */
#define VMSTATE_ENVELOPE_HEADER_SIZE 24

/**
 * VMSTATE_ENVELOPE_FORMAT:
 *
 * The envelope format this libvmstate writes and reads.
 *
 * Since: 1.0
 */
#define VMSTATE_ENVELOPE_FORMAT 1

/**
 * VmstateEnvelopeFlags:
 * @VMSTATE_ENVELOPE_FLAGS_NONE: the payload is stored as it is
 * @VMSTATE_ENVELOPE_FLAGS_ZSTD: the payload is stored compressed with
 *   zstd (one or more zstd frames)
 *
 * The flags of an envelope's header. A reader refuses an envelope with a
 * flag it does not know.
 *
 * Since: 1.0
 */
typedef enum /*< flags >*/ {
  VMSTATE_ENVELOPE_FLAGS_NONE = 0,
  VMSTATE_ENVELOPE_FLAGS_ZSTD = 1 << 0,
} VmstateEnvelopeFlags;

#define VMSTATE_TYPE_ENVELOPE (vmstate_envelope_get_type ())

VMSTATE_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (VmstateEnvelope, vmstate_envelope, VMSTATE, ENVELOPE, GObject)

VMSTATE_AVAILABLE_IN_ALL
GBytes               *vmstate_envelope_encode            (GBytes           *payload,
                                                          guint             version,
                                                          gboolean          compress,
                                                          GError          **error);
VMSTATE_AVAILABLE_IN_ALL
GBytes               *vmstate_envelope_decode            (GBytes           *data,
                                                          gsize             max_payload_size,
                                                          guint            *version,
                                                          GError          **error);
VMSTATE_AVAILABLE_IN_ALL
gboolean              vmstate_envelope_is_envelope       (GBytes           *data);
VMSTATE_AVAILABLE_IN_ALL
VmstateEnvelope      *vmstate_envelope_new_from_bytes    (GBytes           *data,
                                                          GError          **error);
VMSTATE_AVAILABLE_IN_ALL
guint                 vmstate_envelope_get_version       (VmstateEnvelope  *self);
VMSTATE_AVAILABLE_IN_ALL
VmstateEnvelopeFlags  vmstate_envelope_get_flags         (VmstateEnvelope  *self);
VMSTATE_AVAILABLE_IN_ALL
guint64               vmstate_envelope_get_payload_size  (VmstateEnvelope  *self);
VMSTATE_AVAILABLE_IN_ALL
guint64               vmstate_envelope_get_stored_size   (VmstateEnvelope  *self);
VMSTATE_AVAILABLE_IN_ALL
guint                 vmstate_envelope_get_checksum      (VmstateEnvelope  *self);
VMSTATE_AVAILABLE_IN_ALL
GBytes               *vmstate_envelope_get_payload       (VmstateEnvelope  *self,
                                                          gsize             max_payload_size,
                                                          GError          **error);

G_END_DECLS
