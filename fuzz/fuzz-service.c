/* fuzz-service.c: libFuzzer target for a VmstateService's handling of
 * incoming D-Bus messages
 *
 * A real VmstateService is exported on one end of a real peer-to-peer
 * D-Bus connection (a socketpair, EXTERNAL authentication), dispatched by
 * its own thread; the fuzzer sends every input as a message from the
 * other end and waits for the answer. Inputs are decoded as:
 *
 *   byte 0  selector: low 3 bits pick the member (Save, Load,
 *           Properties.Get, Properties.GetAll, Properties.Set,
 *           Introspect, Peer.Ping, a member named by the input);
 *           bit 3 sends a raw message parsed from the rest of the input
 *           instead; bit 4 sets NO_REPLY_EXPECTED; bit 5 uses another
 *           object path
 *   byte 1  length L of a GVariant type string, then L bytes of it
 *           (invalid or empty: the member's real signature)
 *   rest    the body, as serialized GVariant data of that type
 *
 * Invariants: every call that expects a reply gets one (no hang, no
 * crash); Save answers the service's state or an error; Load of a state
 * larger than max-state-size is refused and never reaches the vfunc; the
 * service keeps answering.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <gio/gio.h>
#include <libvmstate/libvmstate.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz-common.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);

#define MAX_STATE_SIZE 4096
#define REPLY_TIMEOUT_MSEC 10000

/* The service under test */

#define FUZZ_TYPE_SERVICE (fuzz_service_get_type ())
G_DECLARE_FINAL_TYPE (FuzzService, fuzz_service, FUZZ, SERVICE, VmstateService)

struct _FuzzService
{
  VmstateService parent_instance;
};

G_DEFINE_FINAL_TYPE (FuzzService, fuzz_service, VMSTATE_TYPE_SERVICE)

static const char service_state[] = "fuzz-state";
static gint loads_too_large;

static GBytes *
fuzz_service_save (VmstateService *service, GError **error)
{
  return g_bytes_new_static (service_state, sizeof service_state - 1);
}

static gboolean
fuzz_service_load (VmstateService *service, GBytes *state, GError **error)
{
  if (g_bytes_get_size (state) > MAX_STATE_SIZE)
    g_atomic_int_inc (&loads_too_large);
  /* fail on an odd first byte, to cover the error path */
  if (g_bytes_get_size (state) > 0 && (((const guint8 *) g_bytes_get_data (state, NULL))[0] & 1))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "odd state");
      return FALSE;
    }
  return TRUE;
}

static void
fuzz_service_class_init (FuzzServiceClass *klass)
{
  VMSTATE_SERVICE_CLASS (klass)->save = fuzz_service_save;
  VMSTATE_SERVICE_CLASS (klass)->load = fuzz_service_load;
}

static void
fuzz_service_init (FuzzService *self)
{
}

/* The two ends */

static GDBusConnection *client;
static GMutex server_lock;
static GCond server_cond;
static gboolean server_ready;

typedef struct
{
  GSocketConnection *stream;
  char              *guid;
} ServerArgs;

static gpointer
server_thread (gpointer user_data)
{
  ServerArgs *args = user_data;
  GMainContext *context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  GDBusConnection *server;
  VmstateService *service;

  g_main_context_push_thread_default (context);
  server = g_dbus_connection_new_sync (G_IO_STREAM (args->stream), args->guid,
                                       G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_SERVER,
                                       NULL, NULL, &error);
  g_assert_no_error (error);
  service = g_object_new (FUZZ_TYPE_SERVICE, "id", "fuzz", NULL);
  vmstate_service_set_max_state_size (service, MAX_STATE_SIZE);
  vmstate_service_export (service, server, &error);
  g_assert_no_error (error);

  g_mutex_lock (&server_lock);
  server_ready = TRUE;
  g_cond_signal (&server_cond);
  g_mutex_unlock (&server_lock);

  /* Serves until the process exits. */
  for (;;)
    g_main_context_iteration (context, TRUE);
  return NULL;
}

static gpointer
client_connect (gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  GDBusConnection *connection;

  connection = g_dbus_connection_new_sync (G_IO_STREAM (user_data), NULL,
                                           G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT,
                                           NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static GSocketConnection *
stream_for_fd (int fd)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = g_socket_new_from_fd (fd, &error);

  g_assert_no_error (error);
  return g_socket_connection_factory_create_connection (socket);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  static ServerArgs args;
  GThread *client_thread;
  int fds[2];

  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    abort ();

  args.stream = stream_for_fd (fds[0]);
  args.guid = g_dbus_generate_guid ();
  /* Both ends authenticate at once: the server in its thread, the client
   * in another one joined here. */
  g_thread_unref (g_thread_new ("fuzz-server", server_thread, &args));
  client_thread = g_thread_new ("fuzz-client", client_connect, stream_for_fd (fds[1]));
  client = g_thread_join (client_thread);

  g_mutex_lock (&server_lock);
  while (!server_ready)
    g_cond_wait (&server_cond, &server_lock);
  g_mutex_unlock (&server_lock);
  return 0;
}

static const struct {
  const char *interface;
  const char *member;
  const char *signature;
} members[8] = {
  { "org.qemu.VMState1", "Save", "()" },
  { "org.qemu.VMState1", "Load", "(ay)" },
  { "org.freedesktop.DBus.Properties", "Get", "(ss)" },
  { "org.freedesktop.DBus.Properties", "GetAll", "(s)" },
  { "org.freedesktop.DBus.Properties", "Set", "(ssv)" },
  { "org.freedesktop.DBus.Introspectable", "Introspect", "()" },
  { "org.freedesktop.DBus.Peer", "Ping", "()" },
  { "org.qemu.VMState1", NULL, "()" },
};

static GDBusMessage *
build_message (const guint8 *data,
               gsize         size)
{
  guint8 selector = data[0];
  guint kind = selector & 7;
  g_autofree char *type_string = NULL;
  g_autofree char *member = NULL;
  const char *path = (selector & 0x20) ? "/org/qemu" : "/org/qemu/VMState1";
  g_autoptr(GVariant) body = NULL;
  GDBusMessage *message;
  gsize pos = 1;

  if (selector & 0x08)
    {
      g_autoptr(GError) error = NULL;

      /* A raw message: GDBus's parser is the first line of defence. */
      message = g_dbus_message_new_from_blob ((guchar *) data + 1, size - 1,
                                              G_DBUS_CAPABILITY_FLAGS_NONE, &error);
      if (message == NULL)
        return NULL;
      if (g_dbus_message_get_message_type (message) != G_DBUS_MESSAGE_TYPE_METHOD_CALL)
        {
          g_object_unref (message);
          return NULL;
        }
      g_dbus_message_set_serial (message, 0);
      return message;
    }

  if (pos < size)
    {
      guint len = data[pos++];

      if (len <= size - pos)
        {
          type_string = g_strndup ((const char *) data + pos, len);
          pos += len;
        }
    }
  if (type_string == NULL || !g_variant_type_string_is_valid (type_string) ||
      !g_variant_type_is_definite (G_VARIANT_TYPE (type_string)) ||
      !g_variant_type_is_tuple (G_VARIANT_TYPE (type_string)))
    {
      g_free (type_string);
      type_string = g_strdup (members[kind].signature);
    }

  if (members[kind].member != NULL)
    member = g_strdup (members[kind].member);
  else
    {
      /* a member name from the input, if it is a valid one */
      member = g_strndup ((const char *) data + pos, MIN (size - pos, 16));
      if (!g_dbus_is_member_name (member))
        {
          g_free (member);
          member = g_strdup ("Frobnicate");
        }
    }

  {
    g_autoptr(GBytes) bytes = g_bytes_new (data + pos, size - pos);
    g_autoptr(GVariant) raw = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (type_string),
                                                                           bytes, FALSE));

    /* a full, non-floating reference */
    body = g_variant_get_normal_form (raw);
  }

  message = g_dbus_message_new_method_call (NULL, path, members[kind].interface, member);
  if (!g_variant_type_equal (g_variant_get_type (body), G_VARIANT_TYPE_UNIT))
    g_dbus_message_set_body (message, body);
  if (selector & 0x10)
    g_dbus_message_set_flags (message, G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED);
  return message;
}

/* A round trip that must always work: the service is still answering. */
static void
check_alive (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  const guint8 *state;
  gsize len;

  reply = g_dbus_connection_call_sync (client, NULL, "/org/qemu/VMState1",
                                       "org.qemu.VMState1", "Save", NULL,
                                       G_VARIANT_TYPE ("(ay)"), G_DBUS_CALL_FLAGS_NONE,
                                       REPLY_TIMEOUT_MSEC, NULL, &error);
  g_assert_no_error (error);
  {
    g_autoptr(GVariant) child = g_variant_get_child_value (reply, 0);

    state = g_variant_get_fixed_array (child, &len, 1);
    CHECK (len == sizeof service_state - 1 && memcmp (state, service_state, len) == 0);
  }
}

/* GDBus may refuse to send a message the fuzzer made (say, one whose
 * header announces file descriptors it does not carry): that is the
 * sender's own check. Silence (a timeout) or a closed connection would
 * mean the service hung or broke the connection: a finding. */
static void
check_send_error (const GError *error)
{
  CHECK (error != NULL);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
      g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    {
      g_printerr ("the service did not answer: %s\n", error->message);
      abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GDBusMessage) message = NULL;
  g_autoptr(GDBusMessage) reply = NULL;
  g_autoptr(GError) error = NULL;
  static guint n;

  if (size < 1)
    return 0;
  message = build_message (data, size);
  if (message == NULL)
    return 0;

  if (g_dbus_message_get_flags (message) & G_DBUS_MESSAGE_FLAGS_NO_REPLY_EXPECTED)
    {
      if (!g_dbus_connection_send_message (client, message, G_DBUS_SEND_MESSAGE_FLAGS_NONE,
                                           NULL, &error))
        check_send_error (error);
      check_alive ();
    }
  else
    {
      reply = g_dbus_connection_send_message_with_reply_sync (client, message,
                                                              G_DBUS_SEND_MESSAGE_FLAGS_NONE,
                                                              REPLY_TIMEOUT_MSEC, NULL, NULL,
                                                              &error);
      if (reply == NULL)
        {
          check_send_error (error);
          check_alive ();
          return 0;
        }

      if (g_dbus_message_get_message_type (reply) == G_DBUS_MESSAGE_TYPE_METHOD_RETURN &&
          g_strcmp0 (g_dbus_message_get_interface (message), "org.qemu.VMState1") == 0 &&
          g_strcmp0 (g_dbus_message_get_member (message), "Save") == 0)
        CHECK (g_strcmp0 (g_dbus_message_get_signature (reply), "ay") == 0);
      if (++n % 64 == 0)
        check_alive ();
    }

  /* An oversized Load never reached the vfunc. */
  CHECK (g_atomic_int_get (&loads_too_large) == 0);
  return 0;
}
