#!/usr/bin/python3
# counter-helper.py: a libvmstate helper whose state is a counter
#
# Usage: counter-helper.py --dbus-address=ADDRESS [--dbus-id=ID] [--count=COUNT]
#
# Joins the VM's private bus at ADDRESS as a helper named ID (default
# "counter") whose state is COUNT (default 0) as decimal text; prints
# "READY", then "LOADED <count>" whenever a migration restores the counter.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate


class Counter(Vmstate.Service):
    count = 0

    def do_save(self):
        return str(self.count).encode()

    def do_load(self, state):
        self.count = int(state)
        print("LOADED", self.count, flush=True)


def on_ready(counter):  # on the bus: heavy initialisation goes here
    count = counter.get_options().lookup_value("count", None)
    counter.count = count.unpack() if count else 0
    print("READY", flush=True)


if __name__ == "__main__":
    counter = Counter(id="counter")
    counter.add_main_option("count", 0, GLib.OptionFlags.NONE, GLib.OptionArg.INT64,
                            "The counter's start", "COUNT")
    counter.connect("ready", on_ready)
    # parses sys.argv, joins the bus, serves until SIGINT or SIGTERM
    sys.exit(counter.run(sys.argv))
