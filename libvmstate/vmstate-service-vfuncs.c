/* vmstate-service-vfuncs.c: what a helper implements, save and load,
 * synchronous or asynchronous
 *
 * The public functions of the vfuncs call them and check what they
 * return (an error without failure, a failure without an error); the
 * default implementations come last: save and load fail with
 * NOT_SUPPORTED, and save_async and load_async call them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "vmstate-error.h"
#include "vmstate-service.h"
#include "vmstate-service-private.h"

/* The error for a vfunc that returned failure without an error: what a
 * language binding does when an exception escapes, and what a GJS
 * vfunc_load that forgets to return true does. */
static GError *
no_reason_error (VmstateService *self,
                 const char     *vfunc)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);

  return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED,
                      "helper '%s' (%s): %s.%s() failed without setting an error "
                      "(a %s that returns FALSE or nothing, such as a GJS vfunc "
                      "that does not return true, or an exception that escaped "
                      "a Python do_ method without the Vmstate override)",
                      priv->id ? priv->id : "", _vmstate_service_bus_name (self),
                      G_OBJECT_TYPE_NAME (self), vfunc, vfunc);
}

/**
 * vmstate_service_save:
 * @self: a #VmstateService
 * @error: return location for a #GError
 *
 * Gets the helper's state: the bytes its `Save` D-Bus method answers.
 *
 * This is the virtual function a helper implements: `save` in C and
 * Vala, `do_save` in Python, `vfunc_save` in GJS. The service calls it
 * (through the default [vfunc@Vmstate.Service.save_async]) for every
 * `Save` call from an allowed peer, on the source of a migration. QEMU
 * calls `Save` while the VM is stopped, so every millisecond spent here
 * is downtime.
 *
 * What it must do: return the helper's whole state as a new #GBytes, in a
 * form that [vfunc@Vmstate.Service.load] on the destination (perhaps a
 * newer version of the helper) can restore, and change nothing. The
 * helper keeps running after `Save`, and if the migration fails the VM
 * resumes on the source with this helper. Start the state with a version
 * byte: it lets a newer helper recognise an older state, and QEMU 7.2
 * cannot migrate an empty state (see [Limits](limits.html)).
 *
 * Where it runs: in the thread-default main context of the thread that
 * exported the service (see [method@Vmstate.Service.export]), which must
 * be running for the helper to answer. The helper answers nothing else
 * until the vfunc returns: a helper whose state takes time to gather
 * implements [vfunc@Vmstate.Service.save_async] instead.
 *
 * What an error does: return %NULL with @error set, and the caller gets
 * a D-Bus error reply carrying the error's message. Its code survives the
 * bus for %VMSTATE_ERROR and for every other domain registered as a D-Bus
 * error domain (g_dbus_error_register_error_domain()), and the service
 * logs it on the helper's side too. [class@Vmstate.Collector] fails
 * the whole save with an error naming the helper, keeping a
 * %VMSTATE_ERROR code and reporting any other error as
 * %VMSTATE_ERROR_HELPER_FAILED. A vfunc that returns %NULL without
 * setting @error (what a language binding does when an exception
 * escapes) fails the `Save` too, with %VMSTATE_ERROR_HELPER_FAILED naming
 * the helper; one that returns a state and sets @error fails, with a
 * warning.
 *
 * The size limit: a state larger than
 * [property@Vmstate.Service:max-state-size] (1 MiB by default, QEMU's
 * limit) is never sent, truncated or whole: the `Save` fails with
 * %VMSTATE_ERROR_STATE_TOO_LARGE.
 *
 * Calling this method calls the vfunc, with the same checks on what it
 * returns.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_service_save (VmstateService  *self,
                      GError         **error)
{
  GError *local_error = NULL;
  GBytes *state;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  state = VMSTATE_SERVICE_GET_CLASS (self)->save (self, &local_error);
  if (state != NULL && local_error != NULL)
    {
      g_warning ("%s.save() returned a state and set an error; the error wins: %s",
                 G_OBJECT_TYPE_NAME (self), local_error->message);
      g_clear_pointer (&state, g_bytes_unref);
    }
  if (state == NULL && local_error == NULL)
    local_error = no_reason_error (self, "save");
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return state;
}

/**
 * vmstate_service_load:
 * @self: a #VmstateService
 * @state: the state to restore, as the source's save returned it
 * @error: return location for a #GError
 *
 * Restores the helper's state from the bytes of a `Load` D-Bus call.
 *
 * This is the virtual function a helper implements: `load` in C and
 * Vala, `do_load` in Python, `vfunc_load` in GJS. The service calls it
 * (through the default [vfunc@Vmstate.Service.load_async]) for every
 * `Load` call from an allowed peer, on the destination of a migration,
 * before the VM runs there.
 *
 * What it must do: check @state completely, then make it the helper's
 * state, and return %TRUE. @state is exactly what
 * [vfunc@Vmstate.Service.save] returned on the source, possibly from an
 * older version of the helper. Validate it before changing anything: a
 * failed `Load` fails the incoming migration, and the helper should be
 * left as it was. After a successful `Load` the service emits
 * [signal@Vmstate.Service::loaded].
 *
 * It must return %TRUE (`true` in GJS and Vala) to succeed. The vfunc
 * follows the GError rules: %TRUE, or %FALSE with @error set. A GJS
 * `vfunc_load` that ends without `return true` returns `undefined`, that
 * is %FALSE, and the `Load` fails; with the Python override a `do_load`
 * that simply ends has succeeded.
 *
 * Where it runs: in the thread-default main context of the thread that
 * exported the service (see [method@Vmstate.Service.export]), which must
 * be running for the helper to answer. The helper answers nothing else
 * until the vfunc returns: a helper that needs time implements
 * [vfunc@Vmstate.Service.load_async] instead.
 *
 * What an error does: the caller gets a D-Bus error reply carrying the
 * error's message, and its code survives the bus for %VMSTATE_ERROR and
 * every other domain registered as a D-Bus error domain; the service logs
 * it on the helper's side too.
 * [class@Vmstate.Collector]
 * fails the load with an error naming the helper (%VMSTATE_ERROR_HELPER_FAILED
 * unless the code was of %VMSTATE_ERROR); QEMU fails the incoming
 * migration. A vfunc that returns %FALSE without setting @error fails the
 * `Load` with %VMSTATE_ERROR_HELPER_FAILED naming the helper; one that
 * returns %TRUE and sets @error fails, with a warning.
 *
 * The size limit: a state larger than
 * [property@Vmstate.Service:max-state-size] (1 MiB by default, QEMU's
 * limit) never reaches the vfunc: the service refuses the `Load` with
 * %VMSTATE_ERROR_STATE_TOO_LARGE.
 *
 * Calling this method calls the vfunc, with the same checks on what it
 * returns.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
vmstate_service_load (VmstateService  *self,
                      GBytes          *state,
                      GError         **error)
{
  GError *local_error = NULL;
  gboolean ok;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (state != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  ok = VMSTATE_SERVICE_GET_CLASS (self)->load (self, state, &local_error);
  if (ok && local_error != NULL)
    {
      g_warning ("%s.load() returned TRUE and set an error; the error wins: %s",
                 G_OBJECT_TYPE_NAME (self), local_error->message);
      ok = FALSE;
    }
  if (!ok && local_error == NULL)
    local_error = no_reason_error (self, "load");
  if (local_error != NULL)
    g_propagate_error (error, local_error);
  return ok;
}

/**
 * vmstate_service_save_async:
 * @self: a #VmstateService
 * @cancellable: (nullable): cancelled when the caller leaves the bus or
 *   the service is unexported
 * @callback: (scope async): called when the state is ready
 * @user_data: data for @callback
 *
 * Gets the helper's state without blocking: the asynchronous form of
 * [vfunc@Vmstate.Service.save].
 *
 * The service calls this virtual function for every `Save` call from an
 * allowed peer, in the thread-default main context of the thread that
 * exported it, and answers the call from
 * [vfunc@Vmstate.Service.save_finish]. The default implementation calls
 * [vfunc@Vmstate.Service.save] and completes at once.
 *
 * A helper whose state takes time to gather (it asks a kernel, another
 * process or a worker thread) overrides this and `save_finish` together:
 * start the work, return, and call @callback later in the same main
 * context (a #GTask does all of that). Meanwhile the helper keeps
 * answering its other callers.
 *
 * @cancellable is cancelled when the caller leaves the bus (the
 * collector died or gave up) and when the service is unexported: an
 * implementation that waits should watch it and stop, since nobody will
 * read the answer. The rules of [vfunc@Vmstate.Service.save] for the
 * state and for errors apply to what `save_finish` returns, and so does
 * the limit of [property@Vmstate.Service:max-state-size] (1 MiB by
 * default).
 *
 * Since: 1.0
 */
void
vmstate_service_save_async (VmstateService      *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  VMSTATE_SERVICE_GET_CLASS (self)->save_async (self, cancellable, callback, user_data);
}

/**
 * vmstate_service_save_finish:
 * @self: a #VmstateService
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes getting the state that [vfunc@Vmstate.Service.save_async]
 * started, and returns it.
 *
 * As a virtual function, it is overridden together with `save_async`,
 * and gets the #GAsyncResult that `save_async` gave its callback. It
 * returns the state as [vfunc@Vmstate.Service.save] does: a new #GBytes
 * of at most [property@Vmstate.Service:max-state-size] bytes, or %NULL
 * with @error set, which the caller gets as a D-Bus error reply (see
 * [vfunc@Vmstate.Service.save] for what the error and the state become).
 * Returning %NULL without setting @error fails the `Save` with
 * %VMSTATE_ERROR_HELPER_FAILED naming the helper.
 *
 * Returns: (transfer full): the state, or %NULL with @error set
 *
 * Since: 1.0
 */
GBytes *
vmstate_service_save_finish (VmstateService  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  GError *local_error = NULL;
  GBytes *state;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), NULL);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  state = VMSTATE_SERVICE_GET_CLASS (self)->save_finish (self, result, &local_error);
  if (state == NULL && local_error == NULL)
    local_error = no_reason_error (self, "save_finish");
  if (local_error != NULL)
    {
      g_clear_pointer (&state, g_bytes_unref);
      g_propagate_error (error, local_error);
    }
  return state;
}

/**
 * vmstate_service_load_async:
 * @self: a #VmstateService
 * @state: the state to restore, as the source's save returned it
 * @cancellable: (nullable): cancelled when the caller leaves the bus or
 *   the service is unexported
 * @callback: (scope async): called when the state is restored
 * @user_data: data for @callback
 *
 * Restores the helper's state without blocking: the asynchronous form of
 * [vfunc@Vmstate.Service.load].
 *
 * The service calls this virtual function for every `Load` call from an
 * allowed peer, in the thread-default main context of the thread that
 * exported it, and answers the call from
 * [vfunc@Vmstate.Service.load_finish]. The default implementation calls
 * [vfunc@Vmstate.Service.load] and completes at once.
 *
 * A helper that needs time to apply its state overrides this and
 * `load_finish` together: start the work, return, and call @callback
 * later in the same main context (a #GTask does all of that). @state is
 * at most [property@Vmstate.Service:max-state-size] bytes: a larger
 * `Load` is refused before this is called.
 *
 * @cancellable is cancelled when the caller leaves the bus (the
 * collector died or gave up) and when the service is unexported: an
 * implementation that waits should watch it. The rules of
 * [vfunc@Vmstate.Service.load] apply to the outcome: validate before
 * changing anything, and fail with an error that the caller gets as a
 * D-Bus error reply.
 *
 * Since: 1.0
 */
void
vmstate_service_load_async (VmstateService      *self,
                            GBytes              *state,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (state != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  VMSTATE_SERVICE_GET_CLASS (self)->load_async (self, state, cancellable, callback, user_data);
}

/**
 * vmstate_service_load_finish:
 * @self: a #VmstateService
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes restoring the state that [vfunc@Vmstate.Service.load_async]
 * started.
 *
 * As a virtual function, it is overridden together with `load_async`,
 * and gets the #GAsyncResult that `load_async` gave its callback. It
 * must return %TRUE when the state was restored (the service then answers
 * the `Load` and emits [signal@Vmstate.Service::loaded]), or %FALSE with
 * @error set, which the caller gets as a D-Bus error reply (see
 * [vfunc@Vmstate.Service.load]). %FALSE without an error fails the `Load`
 * with %VMSTATE_ERROR_HELPER_FAILED naming the helper.
 *
 * Returns: %TRUE on success, %FALSE with @error set
 *
 * Since: 1.0
 */
gboolean
vmstate_service_load_finish (VmstateService  *self,
                             GAsyncResult    *result,
                             GError         **error)
{
  GError *local_error = NULL;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (G_IS_ASYNC_RESULT (result), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (VMSTATE_SERVICE_GET_CLASS (self)->load_finish (self, result, &local_error))
    {
      if (local_error == NULL)
        return TRUE;
      g_warning ("%s.load_finish() returned TRUE and set an error; the error wins: %s",
                 G_OBJECT_TYPE_NAME (self), local_error->message);
    }
  if (local_error == NULL)
    local_error = no_reason_error (self, "load_finish");
  g_propagate_error (error, local_error);
  return FALSE;
}

/* The defaults */

static GBytes *
vmstate_service_real_save (VmstateService  *self,
                           GError         **error)
{
  g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_SUPPORTED,
               "%s does not implement save", G_OBJECT_TYPE_NAME (self));
  return NULL;
}

static gboolean
vmstate_service_real_load (VmstateService  *self,
                           GBytes          *state,
                           GError         **error)
{
  g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_NOT_SUPPORTED,
               "%s does not implement load", G_OBJECT_TYPE_NAME (self));
  return FALSE;
}

static void
vmstate_service_real_save_async (VmstateService      *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  GBytes *state;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, vmstate_service_real_save_async);

  state = vmstate_service_save (self, &error);
  if (state != NULL)
    g_task_return_pointer (task, state, (GDestroyNotify) g_bytes_unref);
  else
    g_task_return_error (task, error);
}

static GBytes *
vmstate_service_real_save_finish (VmstateService  *self,
                                  GAsyncResult    *result,
                                  GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_service_real_save_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
vmstate_service_real_load_async (VmstateService      *self,
                                 GBytes              *state,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, vmstate_service_real_load_async);

  if (vmstate_service_load (self, state, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
vmstate_service_real_load_finish (VmstateService  *self,
                                  GAsyncResult    *result,
                                  GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_service_real_load_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

void
_vmstate_service_class_init_vfuncs (VmstateServiceClass *klass)
{
  klass->save = vmstate_service_real_save;
  klass->load = vmstate_service_real_load;
  klass->save_async = vmstate_service_real_save_async;
  klass->save_finish = vmstate_service_real_save_finish;
  klass->load_async = vmstate_service_real_load_async;
  klass->load_finish = vmstate_service_real_load_finish;
}
