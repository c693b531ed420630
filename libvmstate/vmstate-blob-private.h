/* vmstate-blob-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "vmstate-blob.h"

G_BEGIN_DECLS

GBytes *_vmstate_blob_consume_to_bytes (VmstateBlob *self);

G_END_DECLS
