#!/usr/bin/python3
# runtime-helper.py: a helper for test_runtime.py's --dbus-incoming tests
#
# Runs Service.run(sys.argv) with an --incoming-timeout-msec option of its
# own; prints "READY incoming=<bool>" when on the bus, "LOADED <state>" on
# every Load, and "INCOMING False" when it stops waiting for its state.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate


class Helper(Vmstate.Service):
    state = b"fresh"

    def do_save(self):
        return self.state

    def do_load(self, state):
        self.state = bytes(state)
        print("LOADED", self.state.decode(), flush=True)


def on_handle_options(helper, options):
    timeout = options.lookup_value("incoming-timeout-msec", None)
    if timeout is not None:
        helper.props.incoming_timeout_msec = timeout.unpack()
    return -1


helper = Helper(id="runtime")
helper.set_helper_type("test-helper")
helper.add_feature("ipv4")
helper.add_main_option("incoming-timeout-msec", 0, GLib.OptionFlags.NONE, GLib.OptionArg.INT,
                       "How long to wait for a Load", "MSEC")
helper.connect("handle-options", on_handle_options)
helper.connect("ready", lambda h: print("READY incoming=%s" % h.props.incoming, flush=True))
helper.connect("notify::incoming", lambda h, _: print("INCOMING", h.props.incoming, flush=True))
sys.exit(helper.run())
