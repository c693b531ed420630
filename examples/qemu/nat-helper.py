#!/usr/bin/python3
# nat-helper.py: a helper process for a QEMU VM, written on Vmstate.Service
#
# Usage: nat-helper.py ADDRESS ID [KEY=VALUE...]
#
# Stands for the process that backs part of a VM (here a tiny NAT table).
# It joins the VM's private bus at ADDRESS as a dbus-vmstate helper named
# ID, whose state is its table as JSON. It prints "READY", then
# "LOADED <json>" when a migration restores its table, and exits when its
# standard input closes.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import Gio, GLib, Vmstate  # noqa: E402


class NatHelper(Vmstate.Service):
    table = {}

    def do_save(self):
        # QEMU calls Save on the source, inside the VM's downtime
        return GLib.Bytes.new(json.dumps(self.table, sort_keys=True).encode())

    def do_load(self, state):
        # QEMU calls Load on the destination; ending is success (the
        # override returns True for us), raising GLib.Error refuses
        self.table = json.loads(bytes(state.get_data() or b"{}"))
        print("LOADED", json.dumps(self.table, sort_keys=True), flush=True)


def main(address, helper_id, *pairs):
    connection = Gio.DBusConnection.new_for_address_sync(
        address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)
    helper = NatHelper(id=helper_id)
    helper.table = dict(p.split("=", 1) for p in pairs)
    # exported, the helper stays alive until unexport() or until the
    # connection closes, whether or not we keep a reference
    helper.export(connection)

    loop = GLib.MainLoop()

    def on_stdin(fd, condition):
        if os.read(fd, 64):
            return GLib.SOURCE_CONTINUE
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, 0, GLib.IOCondition.IN | GLib.IOCondition.HUP,
                          on_stdin)
    print("READY", flush=True)
    loop.run()
    helper.unexport()  # leave the bus


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit("usage: nat-helper.py ADDRESS ID [KEY=VALUE...]")
    main(*sys.argv[1:])
