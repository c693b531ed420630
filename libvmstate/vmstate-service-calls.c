/* vmstate-service-calls.c: how a VmstateService answers Save and Load
 *
 * One call, top to bottom:
 *
 *   method_call              a Save or Load arrives (GDBus vtable)
 *     -> check_access        who is the caller? the peer's credentials,
 *                            the uid cache, or GetConnectionUnixUser
 *     -> on_uid_known        is that uid allowed?
 *     -> dispatch_call       the size limit and the envelope, then the
 *                            save_async or load_async vfunc
 *     -> on_save_done /      the reply
 *        on_load_done
 *
 * The uid cache belongs to one export: vmstate-service-export.c empties
 * it, has us watch the peers that leave the bus
 * (_vmstate_service_watch_peers), and cancels the calls on unexport
 * (_vmstate_service_cancel_calls).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "vmstate-error.h"
#include "vmstate-service.h"
#include "vmstate-service-private.h"
#include "vmstate-util-private.h"

/* The cache is emptied when it grows past this to bound its memory. */
#define UID_CACHE_MAX 256

/* Which limit refused a state, and how to raise it. */
#define MAX_STATE_SIZE_HINT \
  "the limit is the helper's VmstateService:max-state-size, 1 MiB by default; " \
  "raise it with vmstate_service_set_max_state_size(), up to 64 MiB, and the " \
  "collector's max-state-size with it; QEMU accepts no state over 1 MiB"

/* A Save or Load call being answered. */
typedef struct
{
  VmstateService        *self;
  /* until it is answered: every call_return_*() takes it over */
  GDBusMethodInvocation *invocation;
  /* NULL on a peer-to-peer connection */
  char                  *sender;
  /* cancelled when the caller leaves the bus or the service is
   * unexported; given to the vfuncs */
  GCancellable          *cancellable;
  /* the export this call came in under */
  guint                  generation;
  /* the bus daemon is being asked who the sender is */
  gboolean               asking_uid;
} Call;

/* The steps, in the order a call goes through them. */
static void check_access                (Call          *call);
static void on_get_connection_unix_user (GObject       *source,
                                         GAsyncResult  *result,
                                         gpointer       user_data);
static void on_uid_known                (Call          *call,
                                         guint32        uid);
static void dispatch_call               (Call          *call);
static void on_save_done                (GObject       *source,
                                         GAsyncResult  *result,
                                         gpointer       user_data);
static void on_load_done                (GObject       *source,
                                         GAsyncResult  *result,
                                         gpointer       user_data);

/* Calls */

static Call *
call_new (VmstateService        *self,
          GDBusMethodInvocation *invocation)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = invocation;
  call->sender = g_strdup (g_dbus_method_invocation_get_sender (invocation));
  call->cancellable = g_cancellable_new ();
  call->generation = priv->generation;
  g_ptr_array_add (priv->calls, call);
  return call;
}

static void
call_free (Call *call)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);

  g_assert (call->invocation == NULL);
  g_ptr_array_remove_fast (priv->calls, call);
  g_object_unref (call->cancellable);
  g_free (call->sender);
  g_object_unref (call->self);
  g_free (call);
}

/* Whether the service is still exported as it was when @call came in. */
static gboolean
call_is_current (Call *call)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);

  return priv->connection != NULL && call->generation == priv->generation;
}

static const char *
call_method (Call *call)
{
  return g_dbus_method_invocation_get_method_name (call->invocation);
}

/* Replies */

/* Answers @call with @error, logs it on the helper's side, and frees
 * both. The log says why a Save or Load failed: the caller may show the
 * error somewhere else, or badly (GJS's own message for a vfunc_save
 * that returns the wrong type names no helper). A message, not a
 * warning: a failure can be the helper's intent (a state it does not
 * accept), and warnings abort GTest programs. */
static void
call_return_failure (Call   *call,
                     GError *error)
{
  _vmstate_service_log (call->self, G_LOG_LEVEL_MESSAGE, "VMSTATE_METHOD", call_method (call),
                        " (%s): %s failed: %s", _vmstate_service_bus_name (call->self),
                        call_method (call), error->message);
  g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
  g_error_free (error);
  call_free (call);
}

/* Refuses @call (a caller not allowed, a service unexported): not a
 * failure of the helper's, so not logged. Frees @call. */
static void
call_return_refusal (Call       *call,
                     int         code,
                     const char *format,
                     ...) G_GNUC_PRINTF (3, 4);

static void
call_return_refusal (Call       *call,
                     int         code,
                     const char *format,
                     ...)
{
  g_autoptr(GError) error = NULL;
  va_list ap;

  va_start (ap, format);
  error = g_error_new_valist (G_DBUS_ERROR, code, format, ap);
  va_end (ap);
  g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
  call_free (call);
}

static void
call_return_unexported (Call *call)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);

  call_return_refusal (call, G_DBUS_ERROR_UNKNOWN_OBJECT,
                       "helper '%s' was unexported before it answered %s",
                       priv->id, call_method (call));
}

/* A state over max-state-size, on its way out (Save) or in (Load). */
static void
call_return_too_large (Call       *call,
                       const char *what,
                       gsize       size,
                       const char *refusal)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);
  g_autofree char *id = _vmstate_abbreviate_id (priv->id);

  call_return_failure (call, g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                                          "helper '%s' %s of %" G_GSIZE_FORMAT " bytes, more "
                                          "than its max-state-size of %u bytes%s ("
                                          MAX_STATE_SIZE_HINT ")",
                                          id, what, size, priv->max_state_size, refusal));
}

/* 1. A call arrives */

static void
vmstate_service_method_call (GDBusConnection       *connection,
                             const char            *sender,
                             const char            *object_path,
                             const char            *interface_name,
                             const char            *method_name,
                             GVariant              *parameters,
                             GDBusMethodInvocation *invocation,
                             gpointer               user_data)
{
  VmstateService *self = user_data;
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);

  if (!g_str_equal (method_name, "Save") && !g_str_equal (method_name, "Load"))
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_METHOD,
                                             "No such method %s", method_name);
      return;
    }

  /* A call that was on its way when the service moved to another
   * connection: this connection's peers are not checked any more. */
  if (connection != priv->connection)
    {
      g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR,
                                             G_DBUS_ERROR_UNKNOWN_OBJECT,
                                             "helper '%s' is not exported on this connection",
                                             priv->id);
      return;
    }

  check_access (call_new (self, invocation));
}

static GVariant *
vmstate_service_get_dbus_property (GDBusConnection  *connection,
                                   const char       *sender,
                                   const char       *object_path,
                                   const char       *interface_name,
                                   const char       *property_name,
                                   GError          **error,
                                   gpointer          user_data)
{
  VmstateService *self = user_data;
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);

  if (g_str_equal (property_name, "Id"))
    return g_variant_new_string (priv->id);

  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
               "No such property %s", property_name);
  return NULL;
}

const GDBusInterfaceVTable _vmstate_service_vtable = {
  .method_call = vmstate_service_method_call,
  .get_property = vmstate_service_get_dbus_property,
};

/* 2. Who is calling */

/* Refuses @call: @why says what is wrong with the caller's uid. */
static void
call_return_access_denied (Call       *call,
                           const char *why)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);

  call_return_refusal (call, G_DBUS_ERROR_ACCESS_DENIED,
                       "helper '%s' does not answer %s from %s: its uid %s",
                       priv->id, call_method (call),
                       call->sender ? call->sender : "this peer", why);
}

static void
refuse_unknown_uid (Call       *call,
                    const char *reason)
{
  g_autofree char *why = g_strdup_printf ("is unknown (%s)", reason);

  call_return_access_denied (call, why);
}

/* Finds the caller's uid and goes on to on_uid_known, or refuses the
 * call if it cannot be known. */
static void
check_access (Call *call)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);
  GDBusConnection *connection = priv->connection;
  gpointer cached;

  /* Peer-to-peer: the peer's credentials, from the socket. */
  if (call->sender == NULL || g_dbus_connection_get_unique_name (connection) == NULL)
    {
      GCredentials *credentials = g_dbus_connection_get_peer_credentials (connection);
      g_autoptr(GError) error = NULL;
      uid_t uid;

      if (credentials == NULL)
        {
          refuse_unknown_uid (call, "the connection has no peer credentials");
          return;
        }
      uid = g_credentials_get_unix_user (credentials, &error);
      if (uid == (uid_t) -1)
        {
          refuse_unknown_uid (call, error->message);
          return;
        }
      on_uid_known (call, uid);
      return;
    }

  /* A message bus: ask the bus daemon who the sender is, once per
   * export. */
  cached = g_hash_table_lookup (priv->uid_cache, call->sender);
  if (cached != NULL)
    {
      on_uid_known (call, GPOINTER_TO_UINT (cached) - 1);
      return;
    }

  call->asking_uid = TRUE;
  g_dbus_connection_call (connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "GetConnectionUnixUser",
                          g_variant_new ("(s)", call->sender),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                          -1, call->cancellable, on_get_connection_unix_user, call);
}

static void
on_get_connection_unix_user (GObject      *source,
                             GAsyncResult *result,
                             gpointer      user_data)
{
  Call *call = user_data;
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  guint32 uid;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  call->asking_uid = FALSE;

  /* unexport already answered it */
  if (call->invocation == NULL)
    {
      call_free (call);
      return;
    }

  /* Unexported (and perhaps exported again, on another bus where the
   * same unique name is someone else) while the bus daemon was asked:
   * the answer is about a connection that no longer matters. (unexport
   * answers such calls itself; the generation, bumped by every export
   * and unexport, also covers a new connection.) */
  if (!call_is_current (call))
    {
      call_return_unexported (call);
      return;
    }

  if (reply == NULL)
    {
      g_autofree char *detail = _vmstate_describe_dbus_error (error);

      refuse_unknown_uid (call, detail);
      return;
    }

  g_variant_get (reply, "(u)", &uid);
  if (g_hash_table_size (priv->uid_cache) >= UID_CACHE_MAX)
    g_hash_table_remove_all (priv->uid_cache);
  g_hash_table_insert (priv->uid_cache, g_strdup (call->sender),
                       GUINT_TO_POINTER ((guint) uid + 1));
  on_uid_known (call, uid);
}

static gboolean
uid_is_allowed (VmstateService *self,
                guint32         uid)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  const guint32 *uids;
  gsize n;

  uids = g_variant_get_fixed_array (priv->allowed_uids, &n, sizeof (guint32));
  for (gsize i = 0; i < n; i++)
    if (uids[i] == uid)
      return TRUE;
  return FALSE;
}

/* 3. May they call: dispatches @call if @uid may call, refuses it
 * otherwise. */
static void
on_uid_known (Call    *call,
              guint32  uid)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);
  g_autofree char *why = NULL;

  if (uid_is_allowed (call->self, uid))
    {
      dispatch_call (call);
      return;
    }

  g_debug ("helper '%s': refused %s from %s (uid %u)", priv->id, call_method (call),
           call->sender ? call->sender : "the peer", uid);
  why = g_strdup_printf ("%u is not allowed", uid);
  call_return_access_denied (call, why);
}

/* 4. The vfunc */

static void
dispatch_call (Call *call)
{
  VmstateService *self = call->self;
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (call->invocation);
  g_autoptr(GVariant) data = NULL;
  g_autoptr(GBytes) state = NULL;
  GError *error = NULL;
  guint version = 0;
  guint outer_version;

  /* GDBus checked the signature against the introspection data. */
  if (g_str_equal (call_method (call), "Save"))
    {
      vmstate_service_save_async (self, call->cancellable, on_save_done, call);
      return;
    }

  g_assert (g_str_equal (call_method (call), "Load"));
  data = g_variant_get_child_value (parameters, 0);
  if (g_variant_get_size (data) > priv->max_state_size)
    {
      call_return_too_large (call, "was sent a state", g_variant_get_size (data), "");
      return;
    }

  state = g_variant_get_data_as_bytes (data);
  if (priv->state_version > 0)
    {
      /* Issue 13: checked and unwrapped before the load vfunc runs */
      GBytes *wrapped = g_steal_pointer (&state);

      state = _vmstate_service_unwrap_state (self, wrapped, &version, &error);
      g_bytes_unref (wrapped);
      if (state == NULL)
        {
          call_return_failure (call, error);
          return;
        }
    }

  /* what vmstate_service_get_loading_version() says while the vfunc
   * starts */
  outer_version = priv->loading_version;
  priv->loading_version = version;
  vmstate_service_load_async (self, state, call->cancellable, on_load_done, call);
  priv->loading_version = outer_version;
}

/* 5. The reply */

static void
on_save_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;
  VmstateService *self = call->self;
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  g_autoptr(GBytes) state = NULL;
  GError *error = NULL;

  state = vmstate_service_save_finish (self, result, &error);
  if (state == NULL)
    {
      call_return_failure (call, error);
      return;
    }

  /* Never send a state once the service is unexported: the caller may
   * be someone the next export would not let in. */
  if (!call_is_current (call))
    {
      call_return_unexported (call);
      return;
    }

  if (priv->state_version > 0)
    {
      /* Issue 13: the envelope, before the size check */
      GBytes *raw = g_steal_pointer (&state);

      state = _vmstate_service_wrap_state (self, raw, &error);
      g_bytes_unref (raw);
      if (state == NULL)
        {
          call_return_failure (call, error);
          return;
        }
    }

  if (g_bytes_get_size (state) > priv->max_state_size)
    {
      call_return_too_large (call, "has a state", g_bytes_get_size (state),
                             "; refusing to send a truncated state");
      return;
    }

  g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation),
                                         g_variant_new ("(@ay)",
                                                        g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                                  state, TRUE)));
  call_free (call);
}

static void
on_load_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;
  g_autoptr(VmstateService) self = g_object_ref (call->self);
  GError *error = NULL;

  if (!vmstate_service_load_finish (self, result, &error))
    {
      call_return_failure (call, error);
      return;
    }

  /* The state is loaded even if the service was unexported meanwhile:
   * say so truthfully. */
  g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation), NULL);
  call_free (call);
  _vmstate_service_emit_loaded (self);
}

/* Peers leaving, and the end of the export */

/* A peer left the bus: cancel what it asked for, forget its uid. */
static void
on_name_owner_changed (GDBusConnection *connection,
                       const char      *sender_name,
                       const char      *object_path,
                       const char      *interface_name,
                       const char      *signal_name,
                       GVariant        *parameters,
                       gpointer         user_data)
{
  VmstateService *self = user_data;
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  const char *name, *old_owner, *new_owner;

  if (!g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sss)")))
    return;
  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (name[0] != ':' || new_owner[0] != '\0' || connection != priv->connection)
    return;

  g_hash_table_remove (priv->uid_cache, name);
  for (guint i = 0; i < priv->calls->len; i++)
    {
      Call *call = g_ptr_array_index (priv->calls, i);

      if (g_strcmp0 (call->sender, name) == 0)
        {
          g_debug ("helper '%s': %s left the bus; cancelling its call",
                   priv->id, name);
          g_cancellable_cancel (call->cancellable);
        }
    }
}

void
_vmstate_service_watch_peers (VmstateService *self)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);

  /* No reference for the subscription: GDBus drops its destroy notify
   * in an idle after unsubscribing, which would keep an unexported
   * service alive a little longer; and a signal is never delivered
   * after it is unsubscribed (in the subscribing context). */
  if (g_dbus_connection_get_unique_name (priv->connection) != NULL)
    priv->name_owner_changed_id =
      g_dbus_connection_signal_subscribe (priv->connection, DBUS_NAME, DBUS_INTERFACE,
                                          "NameOwnerChanged", DBUS_PATH, NULL,
                                          G_DBUS_SIGNAL_FLAGS_NONE,
                                          on_name_owner_changed,
                                          self, NULL);
}

void
_vmstate_service_unwatch_peers (VmstateService  *self,
                                GDBusConnection *connection)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);

  if (priv->name_owner_changed_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (connection, priv->name_owner_changed_id);
      priv->name_owner_changed_id = 0;
    }
}



void
_vmstate_service_cancel_calls (VmstateService *self)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  g_autoptr(GPtrArray) calls = NULL;

  g_hash_table_remove_all (priv->uid_cache);

  /* Cancelling may complete a call at once, which removes it from
   * priv->calls: walk a copy. A call whose sender the bus daemon is
   * still being asked about is answered now: whatever the daemon says
   * later is about a connection the service has left (see
   * on_get_connection_unix_user, which then only frees it). */
  calls = g_ptr_array_copy (priv->calls, NULL, NULL);
  for (guint i = 0; i < calls->len; i++)
    {
      Call *call = g_ptr_array_index (calls, i);

      if (call->asking_uid && call->invocation != NULL)
        {
          const char *method = call_method (call);

          g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation),
                                                 G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                                                 "helper '%s' was unexported before it answered %s",
                                                 priv->id, method);
        }
      g_cancellable_cancel (call->cancellable);
    }
}
