/* libvmstate.h: the one public header of libvmstate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

#define VMSTATE_INSIDE
# include "vmstate-version-macros.h"
# include "vmstate-version.h"
# include "vmstate-enums.h"
# include "vmstate-error.h"
# include "vmstate-blob.h"
# include "vmstate-envelope.h"
# include "vmstate-helper.h"
# include "vmstate-service.h"
# include "vmstate-collector.h"
#undef VMSTATE_INSIDE
