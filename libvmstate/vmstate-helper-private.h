/* vmstate-helper-private.h
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include "vmstate-helper.h"

G_BEGIN_DECLS

VmstateHelper *_vmstate_helper_new (const char *id,
                                    const char *unique_name,
                                    guint       pid);

G_END_DECLS
