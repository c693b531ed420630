/* vmstate-service-dbus.c: VmstateService on the bus
 *
 * The D-Bus side of vmstate-service.c: the Save and Load calls being
 * answered (Call), who may make them (the allowed uids, asked of the bus
 * daemon once per sender and export, or read from a peer-to-peer
 * socket), their dispatch to the vfuncs, and the internals of export,
 * export_async and unexport: registering the object, RequestName and
 * ReleaseName, NameOwnerChanged (a caller that left) and the
 * connection closing.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include "vmstate-envelope-private.h"
#include "vmstate-error.h"
#include "vmstate-service.h"
#include "vmstate-service-private.h"
#include "vmstate-util-private.h"

/* RequestName's answers (the D-Bus specification). */
#define REQUEST_NAME_PRIMARY_OWNER 1
#define REQUEST_NAME_IN_QUEUE      2
#define REQUEST_NAME_EXISTS        3
#define REQUEST_NAME_ALREADY_OWNER 4

/* The cache is emptied when it grows past this to bound its memory. */
#define UID_CACHE_MAX 256

/* The unique name of the service on its bus, for messages. */
const char *
_vmstate_service_bus_name (VmstateService *self)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  const char *name = NULL;

  if (priv->connection != NULL)
    name = g_dbus_connection_get_unique_name (priv->connection);
  return name != NULL ? name : "not on a bus";
}

/* A Save or Load call being answered. */
typedef struct
{
  VmstateService        *self;
  /* until it is answered: every return_*() takes it over */
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

/* Says on the helper's side why a Save or Load failed: the caller may
 * show the error somewhere else, or badly (GJS's own message for a
 * vfunc_save that returns the wrong type names no helper). A message,
 * not a warning: a failure can be the helper's intent (a state it does
 * not accept), and warnings abort GTest programs. Structured, so that
 * the journal keeps the Id and the method as fields. */
static void
log_call_failed (VmstateService *self,
                 const char     *method,
                 const GError   *error)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);

  g_log_structured (G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE,
                    "VMSTATE_HELPER_ID", priv->id ? priv->id : "",
                    "VMSTATE_METHOD", method,
                    "MESSAGE", "helper '%s' (%s): %s failed: %s",
                    priv->id ? priv->id : "", _vmstate_service_bus_name (self),
                    method, error->message);
}

/* Answers @call with an error and frees it. */
static void
call_return_error (Call       *call,
                   GQuark      domain,
                   int         code,
                   const char *format,
                   ...) G_GNUC_PRINTF (4, 5);

static void
call_return_error (Call       *call,
                   GQuark      domain,
                   int         code,
                   const char *format,
                   ...)
{
  g_autofree char *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  /* A VMSTATE_ERROR here is a state too large to send or to load: a
   * failure of the helper's to log. The refusals of other domains (a
   * caller not allowed, a service unexported) are not. */
  if (domain == VMSTATE_ERROR)
    {
      g_autoptr(GError) error = g_error_new_literal (domain, code, message);

      log_call_failed (call->self, g_dbus_method_invocation_get_method_name (call->invocation),
                       error);
    }
  g_dbus_method_invocation_return_error_literal (g_steal_pointer (&call->invocation),
                                                 domain, code, message);
  call_free (call);
}

static void
call_return_unexported (Call *call)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);

  call_return_error (call, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                     "helper '%s' was unexported before it answered %s",
                     priv->id,
                     g_dbus_method_invocation_get_method_name (call->invocation));
}

/* Which limit refused a state, and how to raise it. */
#define MAX_STATE_SIZE_HINT \
  "the limit is the helper's VmstateService:max-state-size, 1 MiB by default; " \
  "raise it with vmstate_service_set_max_state_size(), up to 64 MiB, and the " \
  "collector's max-state-size with it; QEMU accepts no state over 1 MiB"

static void
on_save_done (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Call *call = user_data;
  VmstateService *self = call->self;
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  g_autoptr(GBytes) state = NULL;
  g_autoptr(GError) error = NULL;
  gsize size;

  state = vmstate_service_save_finish (self, result, &error);
  if (state == NULL)
    {
      log_call_failed (self, "Save", error);
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      call_free (call);
      return;
    }

  /* Never send a state once the service is unexported: the caller may
   * be someone the next export would not let in. */
  if (!call_is_current (call))
    {
      call_return_unexported (call);
      return;
    }

  /* Issue 13: the envelope, before the size check */
  if (priv->state_version > 0)
    {
      GBytes *raw = g_steal_pointer (&state);

      state = _vmstate_envelope_wrap_for_service (raw, priv->state_version, priv->compress,
                                                  priv->max_uncompressed_size, priv->id,
                                                  _vmstate_service_bus_name (self), &error);
      size = g_bytes_get_size (raw);
      g_bytes_unref (raw);
      if (state == NULL)
        {
          log_call_failed (self, "Save", error);
          g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
          call_free (call);
          return;
        }
      if (g_bytes_get_size (state) > priv->max_state_size)
        {
          call_return_error (call, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                             "helper '%s' has a state of %" G_GSIZE_FORMAT " bytes, %s"
                             " to %" G_GSIZE_FORMAT " bytes, more than its max-state-size"
                             " of %u bytes; refusing to send a truncated state",
                             priv->id, size, priv->compress ? "compressed and enveloped" : "enveloped",
                             g_bytes_get_size (state), priv->max_state_size);
          return;
        }
    }

  size = g_bytes_get_size (state);
  if (size > priv->max_state_size)
    {
      g_autofree char *id = _vmstate_abbreviate_id (priv->id);

      call_return_error (call, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                         "helper '%s' has a state of %" G_GSIZE_FORMAT
                         " bytes, more than its max-state-size of %u "
                         "bytes; refusing to send a truncated state "
                         "(" MAX_STATE_SIZE_HINT ")",
                         id, size, priv->max_state_size);
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
  g_autoptr(GError) error = NULL;

  if (!vmstate_service_load_finish (self, result, &error))
    {
      log_call_failed (self, "Load", error);
      g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
      call_free (call);
      return;
    }

  /* The state is loaded even if the service was unexported meanwhile:
   * say so truthfully. */
  g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation), NULL);
  call_free (call);
  _vmstate_service_emit_loaded (self);
}

/* Runs Save or Load once the caller has been allowed. */
static void
dispatch_call (Call *call)
{
  VmstateService *self = call->self;
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  const char *method_name = g_dbus_method_invocation_get_method_name (call->invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (call->invocation);

  /* GDBus checked the signature against the introspection data. */
  if (g_str_equal (method_name, "Save"))
    {
      vmstate_service_save_async (self, call->cancellable, on_save_done, call);
    }
  else if (g_str_equal (method_name, "Load"))
    {
      g_autoptr(GVariant) data = g_variant_get_child_value (parameters, 0);
      g_autoptr(GBytes) state = NULL;
      gsize size = g_variant_get_size (data);

      if (size > priv->max_state_size)
        {
          g_autofree char *id = _vmstate_abbreviate_id (priv->id);

          call_return_error (call, VMSTATE_ERROR, VMSTATE_ERROR_STATE_TOO_LARGE,
                             "helper '%s' was sent a state of %" G_GSIZE_FORMAT
                             " bytes, more than its max-state-size of %u bytes "
                             "(" MAX_STATE_SIZE_HINT ")",
                             id, size, priv->max_state_size);
          return;
        }

      state = g_variant_get_data_as_bytes (data);

      /* Issue 13: checked and unwrapped before the load vfunc runs */
      if (priv->state_version > 0)
        {
          g_autoptr(GError) error = NULL;
          GBytes *wrapped = g_steal_pointer (&state);
          guint version = 0;
          guint outer_version = priv->loading_version;

          state = _vmstate_envelope_unwrap_for_service (wrapped, priv->state_version,
                                                        priv->min_state_version,
                                                        priv->max_uncompressed_size,
                                                        priv->id, _vmstate_service_bus_name (self),
                                                        &version, &error);
          g_bytes_unref (wrapped);
          if (state == NULL)
            {
              log_call_failed (self, "Load", error);
              g_dbus_method_invocation_return_gerror (g_steal_pointer (&call->invocation), error);
              call_free (call);
              return;
            }
          priv->loading_version = version;
          vmstate_service_load_async (self, state, call->cancellable, on_load_done, call);
          priv->loading_version = outer_version;
          return;
        }

      vmstate_service_load_async (self, state, call->cancellable, on_load_done, call);
    }
  else
    g_assert_not_reached ();
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

/* Takes over @call: dispatches it if @uid may call, refuses it
 * otherwise. */
static void
check_uid_and_dispatch (Call    *call,
                        guint32  uid)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);
  const char *method_name = g_dbus_method_invocation_get_method_name (call->invocation);

  if (uid_is_allowed (call->self, uid))
    {
      dispatch_call (call);
      return;
    }

  g_debug ("helper '%s': refused %s from %s (uid %u)", priv->id, method_name,
           call->sender ? call->sender : "the peer", uid);
  call_return_error (call, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                     "helper '%s' does not answer %s from %s: "
                     "its uid %u is not allowed",
                     priv->id, method_name,
                     call->sender ? call->sender : "this peer", uid);
}

static void
refuse_unknown_uid (Call       *call,
                    const char *why)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (call->self);

  call_return_error (call, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED,
                     "helper '%s' does not answer %s from %s: "
                     "its uid is unknown (%s)",
                     priv->id,
                     g_dbus_method_invocation_get_method_name (call->invocation),
                     call->sender ? call->sender : "this peer", why);
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
  check_uid_and_dispatch (call, uid);
}

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
  Call *call;
  gpointer cached;

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

  call = call_new (self, invocation);

  /* Peer-to-peer: the peer's credentials, from the socket. */
  if (sender == NULL || g_dbus_connection_get_unique_name (connection) == NULL)
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
      check_uid_and_dispatch (call, uid);
      return;
    }

  /* A message bus: ask the bus daemon who the sender is, once per
   * export. */
  cached = g_hash_table_lookup (priv->uid_cache, sender);
  if (cached != NULL)
    {
      check_uid_and_dispatch (call, GPOINTER_TO_UINT (cached) - 1);
      return;
    }

  call->asking_uid = TRUE;
  g_dbus_connection_call (connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "GetConnectionUnixUser",
                          g_variant_new ("(s)", sender),
                          G_VARIANT_TYPE ("(u)"), G_DBUS_CALL_FLAGS_NONE,
                          -1, call->cancellable, on_get_connection_unix_user, call);
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

static const GDBusInterfaceVTable vmstate_service_vtable = {
  .method_call = vmstate_service_method_call,
  .get_property = vmstate_service_get_dbus_property,
};

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

/* The first half of an export: checks, registers the object, takes the
 * reference that keeps an exported service alive. */
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
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                   "cannot export helper '%s': %s",
                   priv->id ? priv->id : "", local_error->message);
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
                                                       &vmstate_service_vtable,
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
  /* No reference for the subscription: GDBus drops its destroy notify
   * in an idle after unsubscribing, which would keep an unexported
   * service alive a little longer; and a signal is never delivered
   * after it is unsubscribed (in the subscribing context). */
  if (g_dbus_connection_get_unique_name (connection) != NULL)
    priv->name_owner_changed_id =
      g_dbus_connection_signal_subscribe (connection, DBUS_NAME, DBUS_INTERFACE,
                                          "NameOwnerChanged", DBUS_PATH, NULL,
                                          G_DBUS_SIGNAL_FLAGS_NONE,
                                          on_name_owner_changed,
                                          self, NULL);
  return TRUE;
}

/* The second half: what the bus daemon answered to RequestName (@code,
 * or 0 and @request_error). Undoes the first half on failure. */
static guint32
request_name_code (GVariant *reply)
{
  guint32 code = 0;

  if (reply != NULL)
    g_variant_get (reply, "(u)", &code);
  return code;
}

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
  _vmstate_service_notify_connection (self);
  return TRUE;
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

typedef struct
{
  GDBusConnection *connection;
  guint            generation;
} ExportData;

static void
export_data_free (gpointer data)
{
  ExportData *export = data;

  g_object_unref (export->connection);
  g_free (export);
}

static void
on_request_name (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  VmstateService *self = g_task_get_source_object (task);
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  ExportData *export = g_task_get_task_data (task);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) request_error = NULL;
  GError *error = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &request_error);

  if (priv->connection != export->connection || priv->generation != export->generation)
    {
      guint32 code = request_name_code (reply);

      /* Unexported meanwhile: give back a name the bus just gave us. */
      if (code == REQUEST_NAME_PRIMARY_OWNER || code == REQUEST_NAME_IN_QUEUE)
        release_name (export->connection);
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

/* vmstate_service_export() once its arguments are checked. */
gboolean
_vmstate_service_export (VmstateService   *self,
                         GDBusConnection  *connection,
                         GError          **error)
{
  g_autoptr(GError) request_error = NULL;
  g_autoptr(GVariant) reply = NULL;

  if (!export_begin (self, connection, error))
    return FALSE;

  /* A peer-to-peer connection has no bus, so no name to request. */
  if (g_dbus_connection_get_unique_name (connection) == NULL)
    return export_complete (self, REQUEST_NAME_PRIMARY_OWNER, NULL, error);

  /* Flags 0: queue behind the current owner instead of failing, like
   * every other helper on the bus. */
  reply = g_dbus_connection_call_sync (connection,
                                       DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                                       "RequestName",
                                       g_variant_new ("(su)", VMSTATE_DBUS_NAME, 0),
                                       G_VARIANT_TYPE ("(u)"),
                                       G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                       &request_error);
  return export_complete (self, request_name_code (reply), request_error, error);
}

/* vmstate_service_export_async() once its arguments are checked: takes
 * over @export_task, and returns the outcome through it. */
void
_vmstate_service_export_async (VmstateService  *self,
                               GDBusConnection *connection,
                               GTask           *export_task)
{
  VmstateServicePrivate *priv = _vmstate_service_get_private (self);
  g_autoptr(GTask) task = export_task;
  GError *error = NULL;
  ExportData *export;

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

  export = g_new0 (ExportData, 1);
  export->connection = g_object_ref (connection);
  export->generation = priv->generation;
  g_task_set_task_data (task, export, export_data_free);

  /* No cancellable on the call: the bus may act on it anyway, and we
   * must know what it did. */
  g_dbus_connection_call (connection,
                          DBUS_NAME, DBUS_PATH, DBUS_INTERFACE,
                          "RequestName",
                          g_variant_new ("(su)", VMSTATE_DBUS_NAME, 0),
                          G_VARIANT_TYPE ("(u)"),
                          G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                          on_request_name, g_steal_pointer (&task));
}

/* vmstate_service_unexport() once its argument is checked. */
void
_vmstate_service_unexport (VmstateService *self)
{
  VmstateServicePrivate *priv;
  g_autoptr(GDBusConnection) connection = NULL;
  g_autoptr(GPtrArray) calls = NULL;
  gboolean was_exported;

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
  if (priv->name_owner_changed_id != 0)
    {
      g_dbus_connection_signal_unsubscribe (connection, priv->name_owner_changed_id);
      priv->name_owner_changed_id = 0;
    }
  if (priv->owns_name)
    release_name (connection);
  priv->owns_name = FALSE;
  g_hash_table_remove_all (priv->uid_cache);
  g_clear_pointer (&priv->context, g_main_context_unref);

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
          const char *method_name = g_dbus_method_invocation_get_method_name (call->invocation);

          g_dbus_method_invocation_return_error (g_steal_pointer (&call->invocation),
                                                 G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_OBJECT,
                                                 "helper '%s' was unexported before it answered %s",
                                                 priv->id, method_name);
        }
      g_cancellable_cancel (call->cancellable);
    }

  if (was_exported)
    _vmstate_service_notify_connection (self);

  /* The reference export took; it may be the last one. */
  g_object_unref (self);
}
