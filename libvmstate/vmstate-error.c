/* vmstate-error.c: the libvmstate error domain
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <gio/gio.h>

#include "vmstate-error.h"

static const GDBusErrorEntry vmstate_error_entries[] = {
  { VMSTATE_ERROR_FAILED, "org.libvmstate.Error.Failed" },
  { VMSTATE_ERROR_INVALID_ID, "org.libvmstate.Error.InvalidId" },
  { VMSTATE_ERROR_DUPLICATE_ID, "org.libvmstate.Error.DuplicateId" },
  { VMSTATE_ERROR_MISSING_HELPER, "org.libvmstate.Error.MissingHelper" },
  { VMSTATE_ERROR_MISSING_STATE, "org.libvmstate.Error.MissingState" },
  { VMSTATE_ERROR_INVALID_BLOB, "org.libvmstate.Error.InvalidBlob" },
  { VMSTATE_ERROR_STATE_TOO_LARGE, "org.libvmstate.Error.StateTooLarge" },
  { VMSTATE_ERROR_HELPER_FAILED, "org.libvmstate.Error.HelperFailed" },
  { VMSTATE_ERROR_TIMED_OUT, "org.libvmstate.Error.TimedOut" },
  { VMSTATE_ERROR_HELPER_VANISHED, "org.libvmstate.Error.HelperVanished" },
  { VMSTATE_ERROR_BAD_REPLY, "org.libvmstate.Error.BadReply" },
  { VMSTATE_ERROR_NOT_SUPPORTED, "org.libvmstate.Error.NotSupported" },
  { VMSTATE_ERROR_EXPORTED, "org.libvmstate.Error.Exported" },
  { VMSTATE_ERROR_NOT_ENVELOPE, "org.libvmstate.Error.NotEnvelope" },
  { VMSTATE_ERROR_INVALID_ENVELOPE, "org.libvmstate.Error.InvalidEnvelope" },
  { VMSTATE_ERROR_BAD_CHECKSUM, "org.libvmstate.Error.BadChecksum" },
  { VMSTATE_ERROR_VERSION_TOO_NEW, "org.libvmstate.Error.VersionTooNew" },
  { VMSTATE_ERROR_VERSION_TOO_OLD, "org.libvmstate.Error.VersionTooOld" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (vmstate_error_entries) == VMSTATE_ERROR_VERSION_TOO_OLD + 1);

/**
 * vmstate_error_quark:
 *
 * Gets the libvmstate error domain, registered as a D-Bus error domain
 * so that its codes survive a trip over the bus.
 *
 * Returns: the error quark
 *
 * Since: 1.0
 */
GQuark
vmstate_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("vmstate-error-quark",
                                      &quark,
                                      vmstate_error_entries,
                                      G_N_ELEMENTS (vmstate_error_entries));
  return (GQuark) quark;
}
