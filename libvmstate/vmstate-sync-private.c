/* vmstate-sync-private.c: runs an async operation to completion on a
 * private main context, for the _sync twins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "vmstate-sync-private.h"

/* The callback to give the async function: keeps its result. */
void
_vmstate_sync_done (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  VmstateSync *sync = user_data;

  sync->result = g_object_ref (result);
  g_main_context_wakeup (sync->context);
}

/* Makes a private main context the thread default: the operation
 * started next runs there. */
VmstateSync *
_vmstate_sync_begin (VmstateSync *sync)
{
  sync->context = g_main_context_new ();
  sync->result = NULL;
  g_main_context_push_thread_default (sync->context);
  return sync;
}

/* Iterates the private context until the operation has completed. */
void
_vmstate_sync_wait (VmstateSync *sync)
{
  while (sync->result == NULL)
    g_main_context_iteration (sync->context, TRUE);
}

/* Call after the _finish function: drops the result and the context. */
void
_vmstate_sync_end (VmstateSync *sync)
{
  g_main_context_pop_thread_default (sync->context);
  /* Let the sources the operation left (GTask's idle completions) go. */
  while (g_main_context_iteration (sync->context, FALSE))
    ;
  g_clear_object (&sync->result);
  g_main_context_unref (sync->context);
}
