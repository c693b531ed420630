/* vmstate-collector-errors.c: what a collector's errors about a call to
 * a helper say
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Every error about one helper names it by Id (when known) and unique
 * name, and says which call failed and how: an error of its own, a
 * timeout, a helper gone from the bus, a reply of the wrong type. The
 * errors about the helpers as a whole (a duplicated Id, a missing
 * helper, a blob that does not match the bus) are in
 * vmstate-discovery.c, next to the checks that find them.
 */

#include "config.h"

#include "vmstate-collector-private.h"
#include "vmstate-error.h"
#include "vmstate-util-private.h"

/* Names a helper in a message: its Id, when known (cut short, see
 * _vmstate_abbreviate_id()), and its unique name. */
char *
_vmstate_describe_helper (VmstateEntry *entry)
{
  g_autofree char *id = NULL;

  if (entry->id == NULL)
    return g_strdup_printf ("helper %s", entry->unique_name);
  id = _vmstate_abbreviate_id (entry->id);
  return g_strdup_printf ("helper '%s' (%s)", id, entry->unique_name);
}

/* A bus daemon disconnects a client that sends a message larger than its
 * max_message_size, and nobody is told why: the callers of a helper
 * whose Save reply was too large get NoReply, a collector whose Load was
 * too large loses its connection. When the size could be the cause, the
 * error says which limit it is and how to raise it. */
static gboolean
message_may_exceed_bus_limit (gsize state_size)
{
  return state_size + VMSTATE_MESSAGE_OVERHEAD > VMSTATE_DBUS_DAEMON_MAX_MESSAGE_SIZE;
}

#define BUS_LIMIT_HINT \
  "a message over the bus's max_message_size (dbus-daemon's default is " \
  "32 MiB) makes the bus daemon disconnect its sender; raise max_message_size " \
  "in the bus configuration (to 128 MiB for states up to 64 MiB, as " \
  "'vmstate bus' does)"

/* Turns the error of a call to a helper into one that names it. */
GError *
_vmstate_call_error (VmstateOp    *op,
                     VmstateEntry *entry,
                     const char   *method,
                     const GError *error)
{
  g_autofree char *detail = _vmstate_describe_dbus_error (error);
  g_autofree char *who = _vmstate_describe_helper (entry);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "%s of %s was cancelled", method, who);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_TIMED_OUT,
                        "%s did not answer %s within %d ms",
                        who, method, op->timeout_msec);
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
      g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    {
      /* the helper's reply may be as large as max-state-size allows */
      if (g_str_equal (method, "Save") && message_may_exceed_bus_limit (op->max_state_size))
        return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_HELPER_VANISHED,
                            "%s left the bus or died before it answered %s: %s; "
                            "if its state was over 32 MiB, the bus dropped it: "
                            BUS_LIMIT_HINT, who, method, detail);
      return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_HELPER_VANISHED,
                          "%s left the bus or died before it answered %s: %s",
                          who, method, detail);
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CLOSED))
    {
      /* the collector's own Load message carried the state */
      if (g_str_equal (method, "Load") &&
          message_may_exceed_bus_limit (_vmstate_op_entry_load_size (op, entry)))
        return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                            "the connection to the bus closed during %s of %s: %s; "
                            "its state of %" G_GSIZE_FORMAT " bytes is over 32 MiB: "
                            BUS_LIMIT_HINT, method, who, detail,
                            _vmstate_op_entry_load_size (op, entry));
      return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_FAILED,
                          "the connection to the bus closed during %s of %s: %s",
                          method, who, detail);
    }
  if (error->domain == VMSTATE_ERROR)
    return g_error_new (VMSTATE_ERROR, error->code, "%s failed %s: %s",
                        who, method, detail);
  return g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_HELPER_FAILED,
                      "%s failed %s: %s", who, method, detail);
}

/* Finishes a call of _vmstate_op_call_helper(): returns its reply when
 * it is of call->method->reply_type; else records the error, which names the
 * helper and the call, and returns %NULL. */
GVariant *
_vmstate_call_finish (VmstateCall  *call,
                      GObject      *source,
                      GAsyncResult *result)
{
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *who = NULL;

  reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  if (reply == NULL)
    {
      _vmstate_op_take_error (call->op, call->entry,
                              _vmstate_call_error (call->op, call->entry, call->method->what, error));
      return NULL;
    }
  if (g_variant_is_of_type (reply, G_VARIANT_TYPE (call->method->reply_type)))
    return g_steal_pointer (&reply);

  who = _vmstate_describe_helper (call->entry);
  _vmstate_op_take_error (call->op, call->entry,
                          g_error_new (VMSTATE_ERROR, VMSTATE_ERROR_BAD_REPLY,
                                       "%s answered %s with type %s, expected %s",
                                       who, call->method->what, g_variant_get_type_string (reply),
                                       call->method->reply_type));
  return NULL;
}
