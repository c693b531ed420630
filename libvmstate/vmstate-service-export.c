/* vmstate-service-export.c: putting a VmstateService on a connection
 * and taking it off again
 *
 * export_async, top to bottom:
 *
 *   vmstate_service_export_async
 *     -> export_begin        checks, registers /org/qemu/VMState1, takes
 *                            the reference an exported service holds,
 *                            watches the connection and the peers
 *     -> request_name        RequestName org.qemu.VMState1, queueing
 *     -> on_request_name     stale (unexported meanwhile)? cancelled?
 *     -> export_complete     what the bus answered: exported, or undone
 *
 * vmstate_service_export() takes the same steps, and waits for the
 * answer to RequestName on a private main context
 * (vmstate-sync-private.h). unexport undoes export_begin, releases the
 * name and cancels the calls being answered (vmstate-service-calls.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "vmstate-error.h"
#include "vmstate-service.h"
#include "vmstate-service-private.h"
#include "vmstate-sync-private.h"
#include "vmstate-util-private.h"

/* RequestName's answers (the D-Bus specification). */
#define REQUEST_NAME_PRIMARY_OWNER 1
#define REQUEST_NAME_IN_QUEUE      2
#define REQUEST_NAME_EXISTS        3
#define REQUEST_NAME_ALREADY_OWNER 4

static gboolean export_begin      (VmstateService   *self,
                                   GDBusConnection  *connection,
                                   GError          **error);
static void     request_name      (GDBusConnection  *connection,
                                   GAsyncReadyCallback callback,
                                   gpointer          user_data);
static void     on_request_name   (GObject          *source,
                                   GAsyncResult     *result,
                                   gpointer          user_data);
static guint32  request_name_code (GVariant         *reply);
static gboolean export_complete   (VmstateService   *self,
                                   guint32           code,
                                   GError           *request_error,
                                   GError          **error);

/**
 * vmstate_service_export:
 * @self: a #VmstateService
 * @connection: a connection to the VM's private message bus
 * @error: return location for a #GError
 *
 * Exports the service on @connection: registers `/org/qemu/VMState1`
 * and requests the bus name `org.qemu.VMState1` with queueing allowed.
 * When this returns %TRUE the name request has been answered, so a
 * collector listing the bus from then on sees this helper. This blocks
 * until the bus daemon answers; [method@Vmstate.Service.export_async]
 * does not.
 *
 * The service then keeps itself alive until
 * [method@Vmstate.Service.unexport] or until @connection closes, and
 * answers calls in the thread-default main context of the caller.
 *
 * One service can be exported per connection. On a peer-to-peer
 * connection (not to a message bus) only the object is registered. If
 * the connection already owns the name (something else on it asked for
 * it), the service uses it and leaves it to its owner when unexported.
 *
 * Returns: %TRUE on success; %FALSE with @error set, to
 *   %VMSTATE_ERROR_INVALID_ID if the Id is not valid, to
 *   %VMSTATE_ERROR_EXPORTED if the service is already exported or the
 *   object path is taken on @connection, or to %VMSTATE_ERROR_FAILED if
 *   the bus did not queue the name
 *
 * Since: 1.0
 */
gboolean
vmstate_service_export (VmstateService   *self,
                        GDBusConnection  *connection,
                        GError          **error)
{
  g_autoptr(GError) request_error = NULL;
  g_autoptr(GVariant) reply = NULL;
  VmstateSync sync;

  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (G_IS_DBUS_CONNECTION (connection), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* In the caller's context: the object and the signal subscriptions
   * deliver there. */
  if (!export_begin (self, connection, error))
    return FALSE;

  /* A peer-to-peer connection has no bus, so no name to request. */
  if (g_dbus_connection_get_unique_name (connection) == NULL)
    return export_complete (self, REQUEST_NAME_PRIMARY_OWNER, NULL, error);

  _vmstate_sync_begin (&sync);
  request_name (connection, _vmstate_sync_done, &sync);
  _vmstate_sync_wait (&sync);
  reply = g_dbus_connection_call_finish (connection, sync.result, &request_error);
  _vmstate_sync_end (&sync);

  return export_complete (self, request_name_code (reply), request_error, error);
}

/**
 * vmstate_service_export_async:
 * @self: a #VmstateService
 * @connection: a connection to the VM's private message bus
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the service is exported
 * @user_data: data for @callback
 *
 * Exports the service on @connection without blocking; see
 * [method@Vmstate.Service.export]. The object is registered at once;
 * @callback is called when the bus daemon has answered the name request,
 * in the thread-default main context of the caller. Cancelling
 * @cancellable unexports the service again, and so does a failure.
 *
 * Since: 1.0
 */
void
vmstate_service_export_async (VmstateService      *self,
                              GDBusConnection     *connection,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  VmstateServicePrivate *priv;
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));
  g_return_if_fail (G_IS_DBUS_CONNECTION (connection));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  priv = _vmstate_service_get_private (self);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, vmstate_service_export_async);
  /* The outcome is decided in on_request_name, not by the cancellable
   * alone: a name the bus gave us must be given back first. */
  g_task_set_check_cancellable (task, FALSE);

  if (!export_begin (self, connection, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (g_dbus_connection_get_unique_name (connection) == NULL)
    {
      if (export_complete (self, REQUEST_NAME_PRIMARY_OWNER, NULL, &error))
        g_task_return_boolean (task, TRUE);
      else
        g_task_return_error (task, error);
      return;
    }

  /* The export the answer is for: another one may have come by then. */
  g_task_set_task_data (task, GUINT_TO_POINTER (priv->generation), NULL);
  request_name (connection, on_request_name, g_steal_pointer (&task));
}

/**
 * vmstate_service_export_finish:
 * @self: a #VmstateService
 * @result: the #GAsyncResult given to the callback
 * @error: return location for a #GError
 *
 * Finishes [method@Vmstate.Service.export_async].
 *
 * Returns: %TRUE if the service is exported; %FALSE with @error set, as
 *   for [method@Vmstate.Service.export], or to %G_IO_ERROR_CANCELLED
 *
 * Since: 1.0
 */
gboolean
vmstate_service_export_finish (VmstateService  *self,
                               GAsyncResult    *result,
                               GError         **error)
{
  g_return_val_if_fail (VMSTATE_IS_SERVICE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == vmstate_service_export_async, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Watching the connection */

typedef struct
{
  VmstateService *self;
  guint           generation;
} ClosedData;

static void
closed_data_free (gpointer data)
{
  ClosedData *closed = data;

  g_object_unref (closed->self);
  g_free (closed);
}

static gboolean
unexport_if_current (gpointer data)
{
  ClosedData *closed = data;
  VmstateServicePrivate *priv = _vmstate_service_get_private (closed->self);

  if (priv->connection != NULL && priv->generation == closed->generation)
    {
      g_debug ("helper '%s': the connection closed; unexporting", priv->id);
      vmstate_service_unexport (closed->self);
    }
  return G_SOURCE_REMOVE;
}

/* GDBus emits ::closed in the context the connection was made in: go
 * over to the service's. */
static void
on_connection_closed (GDBusConnection *connection,
                      gboolean         remote_peer_vanished,
                      GError          *error,
                      gpointer         user_data)
{
  VmstateService *self = user_data;
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  ClosedData *closed = g_new0 (ClosedData, 1);

  closed->self = g_object_ref (self);
  closed->generation = priv->generation;
  g_main_context_invoke_full (priv->context, G_PRIORITY_DEFAULT,
                              unexport_if_current, closed, closed_data_free);
}

/* The steps of an export */

/* 1. Checks, registers the object, takes the reference that keeps an
 * exported service alive. */
static gboolean
export_begin (VmstateService   *self,
              GDBusConnection  *connection,
              GError          **error)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  g_autoptr(GError) local_error = NULL;
  guint registration_id;

  if (priv->connection != NULL)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_EXPORTED,
                   "helper '%s' is already exported", priv->id);
      return FALSE;
    }

  if (!_vmstate_check_id (priv->id, priv->id ? strlen (priv->id) : 0, &local_error))
    {
      g_autofree char *shown = _vmstate_abbreviate_id (priv->id ? priv->id : "");

      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                   "cannot export helper '%s': %s", shown, local_error->message);
      return FALSE;
    }

  if (g_dbus_connection_is_closed (connection))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_CLOSED,
                   "cannot export helper '%s': the connection is closed", priv->id);
      return FALSE;
    }

  registration_id = g_dbus_connection_register_object (connection,
                                                       VMSTATE_DBUS_PATH,
                                                       _vmstate_get_interface_info (),
                                                       &_vmstate_service_vtable,
                                                       self, NULL,
                                                       &local_error);
  if (registration_id == 0)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_EXISTS))
        g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_EXPORTED,
                     "cannot export helper '%s': %s is already exported on this "
                     "connection (one service per connection)",
                     priv->id, VMSTATE_DBUS_PATH);
      else
        g_propagate_prefixed_error (error, g_steal_pointer (&local_error),
                                    "cannot export helper '%s': ", priv->id);
      return FALSE;
    }

  g_object_ref (self);
  priv->generation++;
  priv->registration_id = registration_id;
  priv->connection = g_object_ref (connection);
  priv->context = g_main_context_ref_thread_default ();
  priv->owns_name = FALSE;
  priv->exported = FALSE;
  g_hash_table_remove_all (priv->uid_cache);
  priv->closed_id = g_signal_connect (connection, "closed",
                                      G_CALLBACK (on_connection_closed), self);
  _vmstate_service_watch_peers (self);
  return TRUE;
}

/* 2. Flags 0: queue behind the current owner instead of failing, like
 * every other helper on the bus. No cancellable: the bus may act on the
 * call anyway, and we must know what it did. */
static void
request_name (GDBusConnection     *connection,
              GAsyncReadyCallback  callback,
              gpointer             user_data)
{
  g_dbus_connection_call (connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "RequestName",
                          g_variant_new ("(su)", VMSTATE_DBUS_NAME, 0),
                          G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          callback, user_data);
}

static guint32
request_name_code (GVariant *reply)
{
  guint32 code = 0;

  if (reply != NULL)
    g_variant_get (reply, "(u)", &code);
  return code;
}

static void
release_name (GDBusConnection *connection)
{
  if (!g_dbus_connection_is_closed (connection))
    g_dbus_connection_call (connection,
                            DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                            "ReleaseName",
                            g_variant_new ("(s)", VMSTATE_DBUS_NAME),
                            G_VARIANT_TYPE ("(u)"),
                            G_DBUS_CALL_FLAGS_NONE, -1, NULL, NULL, NULL);
}

/* 3. (export_async) The answer may come after an unexport, or after the
 * caller cancelled. */
static void
on_request_name (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GDBusConnection *connection = G_DBUS_CONNECTION (source);
  VmstateService *self = g_task_get_source_object (task);
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) request_error = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_finish (connection, result, &request_error);

  /* The generation is bumped by every export and unexport. */
  if (priv->generation != GPOINTER_TO_UINT (g_task_get_task_data (task)))
    {
      guint32 code = request_name_code (reply);

      /* Unexported meanwhile: give back a name the bus just gave us. */
      if (code == REQUEST_NAME_PRIMARY_OWNER || code == REQUEST_NAME_IN_QUEUE)
        release_name (connection);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "helper '%s' was unexported before its export finished",
                               priv->id);
      return;
    }

  if (!export_complete (self, request_name_code (reply), request_error, &error))
    {
      g_task_return_error (task, error);
      return;
    }

  if (g_cancellable_set_error_if_cancelled (g_task_get_cancellable (task), &error))
    {
      vmstate_service_unexport (self);
      g_task_return_error (task, error);
      return;
    }

  g_task_return_boolean (task, TRUE);
}

/* 4. What the bus daemon answered to RequestName (@code, or 0 and
 * @request_error). Undoes export_begin on failure. */
static gboolean
export_complete (VmstateService  *self,
                 guint32          code,
                 GError          *request_error,
                 GError         **error)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);

  switch (code)
    {
    case REQUEST_NAME_PRIMARY_OWNER:
    case REQUEST_NAME_IN_QUEUE:
      priv->owns_name = TRUE;
      break;
    case REQUEST_NAME_ALREADY_OWNER:
      /* Someone else on this connection holds the name: it is theirs to
       * release, not ours. */
      priv->owns_name = FALSE;
      break;
    case 0:
      {
        g_autofree char *detail = _vmstate_describe_dbus_error (request_error);

        g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                     "helper '%s' cannot request the bus name %s: %s",
                     priv->id, VMSTATE_DBUS_NAME, detail);
        vmstate_service_unexport (self);
        return FALSE;
      }
    default:
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                   "helper '%s' cannot queue for the bus name %s: the bus "
                   "answered RequestName with %u (%s)",
                   priv->id, VMSTATE_DBUS_NAME, code,
                   code == REQUEST_NAME_EXISTS ? "EXISTS" : "unknown");
      vmstate_service_unexport (self);
      return FALSE;
    }

  priv->exported = TRUE;
  _vmstate_service_notify (self, SERVICE_PROP_CONNECTION);
  return TRUE;
}

/**
 * vmstate_service_unexport:
 * @self: a #VmstateService
 *
 * Undoes [method@Vmstate.Service.export]: unregisters the object,
 * releases the bus name if the export took it, cancels the Save and Load
 * calls still being answered (their vfuncs see their #GCancellable
 * cancelled) and drops the reference the export took, which may
 * finalize the service. Does nothing if the service is not exported.
 *
 * This is the way to take a helper off the bus: dropping your own
 * references does not, since an exported service keeps itself alive. A
 * service is also unexported when its connection closes.
 *
 * Since: 1.0
 */
void
vmstate_service_unexport (VmstateService *self)
{
  VmstateServicePrivate *priv;
  g_autoptr(GDBusConnection) connection = NULL;
  gboolean was_exported;

  g_return_if_fail (VMSTATE_IS_SERVICE (self));

  priv = _vmstate_service_get_private (self);
  if (priv->connection == NULL)
    return;

  connection = g_steal_pointer (&priv->connection);
  was_exported = priv->exported;
  priv->exported = FALSE;
  priv->generation++;

  g_dbus_connection_unregister_object (connection, priv->registration_id);
  priv->registration_id = 0;
  g_clear_signal_handler (&priv->closed_id, connection);
  _vmstate_service_unwatch_peers (self, connection);
  if (priv->owns_name)
    release_name (connection);
  priv->owns_name = FALSE;
  g_clear_pointer (&priv->context, g_main_context_unref);
  _vmstate_service_cancel_calls (self);

  if (was_exported)
    _vmstate_service_notify (self, SERVICE_PROP_CONNECTION);

  /* The reference export took; it may be the last one. */
  g_object_unref (self);
}
