/* vmstate-util-private.h: D-Bus names and helpers shared inside libvmstate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The wire contract (QEMU backends/dbus-vmstate.c). */
#define VMSTATE_DBUS_NAME       "org.qemu.VMState1"
#define VMSTATE_DBUS_PATH       "/org/qemu/VMState1"
#define VMSTATE_DBUS_INTERFACE  "org.qemu.VMState1"

#define DBUS_NAME       "org.freedesktop.DBus"
#define DBUS_PATH       "/org/freedesktop/DBus"
#define DBUS_INTERFACE  "org.freedesktop.DBus"
#define DBUS_PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"

/* QEMU's limits. */
#define VMSTATE_ID_MAX_LEN            255
#define VMSTATE_DEFAULT_MAX_STATE_SIZE (1024 * 1024)
/* The D-Bus specification's limit on an array. */
#define VMSTATE_MAX_MAX_STATE_SIZE    (64 * 1024 * 1024)
/* dbus-daemon 1.14's built-in max_message_size (a bus configuration
 * without <limit>s, such as libvirt's, keeps it), and room for a
 * message's header on top of its `ay`. */
#define VMSTATE_DBUS_DAEMON_MAX_MESSAGE_SIZE (32 * 1024 * 1024)
#define VMSTATE_MESSAGE_OVERHEAD      4096
/* How much of an Id a message shows. */
#define VMSTATE_ID_SHOWN_CHARS        64
#define VMSTATE_DEFAULT_TIMEOUT_MSEC  25000
/* dbus-daemon 1.14 allows 128 pending replies per connection by default. */
#define VMSTATE_DEFAULT_MAX_IN_FLIGHT 64

gboolean          _vmstate_check_id          (const char  *id,
                                              gsize        len,
                                              GError     **error);
GDBusInterfaceInfo *_vmstate_get_interface_info (void);
char             *_vmstate_describe_dbus_error (const GError *error);
char             *_vmstate_abbreviate_id     (const char  *id);

G_END_DECLS
