/* vmstate-util.c: helpers shared inside libvmstate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include "vmstate-error.h"
#include "vmstate-resources.h"
#include "vmstate-util-private.h"

/*
 * _vmstate_check_id:
 * @id: the Id, not necessarily NUL-terminated
 * @len: its length in bytes
 *
 * Checks an Id against the contract: 1..255 bytes of UTF-8, no NUL.
 * The message does not name a helper; callers prefix it.
 */
gboolean
_vmstate_check_id (const char  *id,
                   gsize        len,
                   GError     **error)
{
  if (id == NULL || len == 0)
    {
      g_set_error_literal (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                           "the Id is empty (it must be 1 to 255 bytes)");
      return FALSE;
    }
  if (len > VMSTATE_ID_MAX_LEN)
    {
      g_set_error (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                   "the Id is %" G_GSIZE_FORMAT " bytes long (at most %d are allowed)",
                   len, VMSTATE_ID_MAX_LEN);
      return FALSE;
    }
  if (memchr (id, '\0', len) != NULL)
    {
      g_set_error_literal (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                           "the Id contains a NUL byte");
      return FALSE;
    }
  if (!g_utf8_validate_len (id, len, NULL))
    {
      g_set_error_literal (error, VMSTATE_ERROR, VMSTATE_ERROR_INVALID_ID,
                           "the Id is not valid UTF-8");
      return FALSE;
    }
  return TRUE;
}

GDBusInterfaceInfo *
_vmstate_get_interface_info (void)
{
  static gsize info = 0;

  if (g_once_init_enter (&info))
    {
      g_autoptr(GBytes) xml = NULL;
      g_autoptr(GDBusNodeInfo) node = NULL;
      g_autoptr(GError) error = NULL;
      GDBusInterfaceInfo *iface;

      xml = g_resources_lookup_data ("/org/libvmstate/org.qemu.VMState1.xml",
                                     G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
      g_assert_no_error (error);
      node = g_dbus_node_info_new_for_xml (g_bytes_get_data (xml, NULL), &error);
      g_assert_no_error (error);
      iface = g_dbus_node_info_lookup_interface (node, VMSTATE_DBUS_INTERFACE);
      g_assert (iface != NULL);
      g_dbus_interface_info_cache_build (iface);
      g_once_init_leave (&info, (gsize) g_dbus_interface_info_ref (iface));
    }

  return (GDBusInterfaceInfo *) info;
}

/*
 * _vmstate_describe_dbus_error:
 *
 * The message of an error that came over the bus, without GDBus's
 * "GDBus.Error:name: " prefix but keeping the remote error name in
 * parentheses, which is what an operator wants to grep for.
 */
char *
_vmstate_describe_dbus_error (const GError *error)
{
  g_autofree char *remote = g_dbus_error_get_remote_error (error);
  g_autoptr(GError) copy = g_error_copy (error);

  g_dbus_error_strip_remote_error (copy);
  /* GDBus's encoding of a GError from a domain it does not know says
   * nothing to an operator; the message is what matters then. */
  if (remote != NULL && !g_str_has_prefix (remote, "org.gtk.GDBus.UnmappedGError."))
    return g_strdup_printf ("%s (%s)", copy->message, remote);
  return g_strdup (copy->message);
}

/*
 * _vmstate_abbreviate_id:
 *
 * An Id as a message shows it: whole up to VMSTATE_ID_SHOWN_CHARS
 * characters, cut there with "…" beyond (an Id may be 255 bytes, and an
 * invalid one longer). Whoever needs the whole Id has it in structured
 * form (VmstateHelper, vmstate_collector_get_failed_helpers()).
 */
char *
_vmstate_abbreviate_id (const char *id)
{
  g_autofree char *valid = g_utf8_make_valid (id, -1);
  g_autofree char *head = NULL;

  if (g_utf8_strlen (valid, -1) <= VMSTATE_ID_SHOWN_CHARS)
    return g_steal_pointer (&valid);
  head = g_utf8_substring (valid, 0, VMSTATE_ID_SHOWN_CHARS);
  return g_strconcat (head, "…", NULL);
}
