/* vmstate-envelope-private.h: what the service needs of the envelope codec
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "vmstate-envelope.h"

G_BEGIN_DECLS

/* The zstd level of every compressed envelope: 1, zstd's fastest
 * non-negative level, since a Save runs inside the VM's downtime. */
#define VMSTATE_ENVELOPE_ZSTD_LEVEL 1

/* The default of VmstateService:max-uncompressed-size. */
#define VMSTATE_DEFAULT_MAX_UNCOMPRESSED_SIZE (64u * 1024 * 1024)

/* What a service asks of its envelopes: its envelope properties, and
 * its Id and unique name for the errors. */
typedef struct
{
  guint       state_version;
  guint       min_state_version;
  gboolean    compress;
  gsize       max_uncompressed_size;
  const char *id;
  const char *unique_name;
} VmstateEnvelopeRules;

/* What a service with state-version > 0 does with the state its Save
 * vfunc returned: checks it against max_uncompressed_size and wraps it. */
GBytes *_vmstate_envelope_wrap_for_service   (GBytes                     *state,
                                              const VmstateEnvelopeRules *rules,
                                              GError                    **error);

/* What it does with a state sent to Load, before its load vfunc runs:
 * unwraps and checks it (envelope, versions from min_state_version to
 * state_version, checksum, sizes). A min_state_version of 0 also
 * accepts a state that is not an envelope, as version 0 (the raw state
 * of a helper from before it set a state-version). */
GBytes *_vmstate_envelope_unwrap_for_service (GBytes                     *data,
                                              const VmstateEnvelopeRules *rules,
                                              guint                      *version,
                                              GError                    **error);

G_END_DECLS
