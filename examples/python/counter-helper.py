#!/usr/bin/python3
# counter-helper.py: a libvmstate helper whose state is a counter
#
# Usage: counter-helper.py ADDRESS ID [COUNT]
#
# Exports a helper named ID on the VM's private bus at ADDRESS, whose
# state is COUNT (default 0) as decimal text; prints "READY", then
# "LOADED <count>" whenever a migration restores the counter.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import Vmstate


class Counter(Vmstate.Service):
    count = 0

    def do_save(self):
        return str(self.count).encode()

    def do_load(self, state):
        self.count = int(state)
        print("LOADED", self.count, flush=True)


if __name__ == "__main__":
    address, helper_id = sys.argv[1], sys.argv[2]
    counter = Counter(id=helper_id)
    counter.count = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    counter.connect("notify::connection", lambda *_: print("READY", flush=True))
    # exports, serves until SIGINT or SIGTERM, then unexports
    sys.exit(counter.run(address))
