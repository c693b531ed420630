#!/usr/bin/python3
# py-helper.py: Python helpers the way their authors may write them
#
# Usage: py-helper.py ADDRESS ID MODE
#   MODE "unreferenced": with the override, Keeper(id=ID).export(connection)
#                        and no reference kept; the state lives in a Python
#                        attribute; after every answer a GC runs and
#                        "COLLECTED" is printed
#   MODE "bare-true":    without the override, do_load returns True
#   MODE "bare-none":    without the override, do_load simply ends
#   MODE "bare-raise":   without the override, do_load raises ValueError
# The "bare-" modes make sure the override is not loaded (as in a venv
# with its own PyGObject) and print "LOADED <state>" when do_load runs.
# Prints "READY" once on the bus.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import gc
import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import Gio, GLib, Vmstate  # noqa: E402

address, helper_id, mode = sys.argv[1:4]
bare = mode.startswith("bare-")
override_active = Vmstate.Service.__module__ == "gi.overrides.Vmstate"
if override_active == bare:
    sys.exit("py-helper.py: mode %s, but the override is %s" %
             (mode, "active" if override_active else "not active"))


def collect_soon():
    """A full GC once the current answer is sent, while nothing but the
    export holds the service."""
    def collect():
        gc.collect()
        print("COLLECTED", flush=True)
        return GLib.SOURCE_REMOVE
    GLib.idle_add(collect, priority=GLib.PRIORITY_DEFAULT_IDLE)


class Keeper(Vmstate.Service):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.state = ("kept by %s" % self.props.id).encode()

    def do_save(self):
        collect_soon()
        return self.state

    def do_load(self, state):
        self.state = bytes(state)
        collect_soon()


class Bare(Vmstate.Service):
    """PyGObject alone: do_save must return GLib.Bytes, do_load gets
    GLib.Bytes and must return True."""

    def do_save(self):
        return GLib.Bytes.new(b"bare")

    def do_load(self, state):
        print("LOADED", state.get_data().decode(), flush=True)
        if mode == "bare-raise":
            raise ValueError("bad state")
        if mode == "bare-true":
            return True


flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
         Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
connection = Gio.DBusConnection.new_for_address_sync(address, flags, None, None)
if mode == "unreferenced":
    Keeper(id=helper_id).export(connection)
    gc.collect()
elif bare:
    service = Bare(id=helper_id)
    service.export(connection)
else:
    sys.exit("py-helper.py: unknown mode " + mode)
print("READY", flush=True)

loop = GLib.MainLoop()
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, loop.quit)
connection.connect("closed", lambda *args: loop.quit())
loop.run()
