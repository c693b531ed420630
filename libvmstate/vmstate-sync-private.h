/* vmstate-sync-private.h: runs an async operation to completion on a
 * private main context, for the _sync twins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Usage:
 *
 *   VmstateSync sync;
 *
 *   _vmstate_sync_begin (&sync);
 *   foo_async (..., _vmstate_sync_done, &sync);
 *   _vmstate_sync_wait (&sync);
 *   ret = foo_finish (..., sync.result, error);
 *   _vmstate_sync_end (&sync);
 */
typedef struct
{
  GMainContext *context;
  GAsyncResult *result;
} VmstateSync;

VmstateSync *_vmstate_sync_begin (VmstateSync  *sync);
void         _vmstate_sync_done  (GObject      *source,
                                  GAsyncResult *result,
                                  gpointer      user_data);
void         _vmstate_sync_wait  (VmstateSync  *sync);
void         _vmstate_sync_end   (VmstateSync  *sync);

G_END_DECLS
