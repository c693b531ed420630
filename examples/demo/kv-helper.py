#!/usr/bin/python3
# kv-helper.py: a helper process for the demo: a small key-value table
# that survives migration. Prints READY once it is on the bus and its
# table whenever a Load restored it.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import Gio, GLib, Vmstate  # noqa: E402


class KeyValueTable(Vmstate.Service):
    def __init__(self, table, **kwargs):
        super().__init__(**kwargs)
        self.table = table

    def do_save(self):
        return json.dumps(self.table, sort_keys=True).encode()

    def do_load(self, state):
        # ending is success (the override returns True); raising refuses
        self.table = json.loads(state.decode())


def main(address, helper_id, table_json="{}"):
    service = KeyValueTable(json.loads(table_json), id=helper_id)
    service.connect("loaded", lambda s: print("LOADED", json.dumps(s.table, sort_keys=True), flush=True))
    flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
             Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
    connection = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
    # exported, the service stays alive until unexport() or until the
    # connection closes, whether or not we keep a reference
    service.export(connection)
    print("READY", connection.get_unique_name(), flush=True)
    loop = GLib.MainLoop()
    # stop when the demo closes our stdin
    GLib.io_add_watch(GLib.IOChannel.unix_new(0), GLib.PRIORITY_DEFAULT,
                      GLib.IOCondition.IN | GLib.IOCondition.HUP,
                      lambda *a: loop.quit() or False)
    loop.run()
    service.unexport()  # leave the bus


if __name__ == "__main__":
    main(*sys.argv[1:])
