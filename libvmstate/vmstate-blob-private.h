/* vmstate-blob-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "vmstate-blob.h"

G_BEGIN_DECLS

GBytes *_vmstate_blob_write (const char * const  *ids,
                             GBytes             **states,
                             guint                n,
                             gboolean             consume,
                             GError             **error);

G_END_DECLS
