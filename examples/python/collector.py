#!/usr/bin/python3
# collector.py: save every helper on a VM's bus to a file, or load it back
#
# Usage: collector.py ADDRESS save FILE
#        collector.py ADDRESS load FILE
#        collector.py ADDRESS list
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate


def main(address, command, path=None):
    collector = Vmstate.Collector.new_for_address_sync(address, None)
    if command == "list":
        for helper in collector.list_helpers_sync(None):
            print(helper.get_id(), helper.get_unique_name())
    elif command == "save":
        blob = collector.save_sync(None)
        with open(path, "wb") as f:
            f.write(blob.get_data())
    elif command == "load":
        with open(path, "rb") as f:
            collector.load_sync(GLib.Bytes.new(f.read()), None)
    else:
        raise SystemExit("unknown command %r" % command)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit("usage: collector.py ADDRESS save|load FILE | ADDRESS list")
    try:
        main(*sys.argv[1:4])
    except GLib.Error as e:
        raise SystemExit("collector: %s" % e.message)
