#!/usr/bin/python3
# demo.py: the main job of libvmstate, end to end
#
# Starts a private dbus-daemon for one "VM", three helper processes with
# state, saves them all into one blob file in QEMU's dbus-vmstate format,
# stops them, starts fresh (empty) helpers, loads the file into them and
# shows that every state came back.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import json
import os
import subprocess
import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import Gio, GLib, Vmstate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.getcwd(), "demo-out")

HELPERS = {
    "slirp-52:54:00:12:34:56": {"forward:tcp:2222": "10.0.2.15:22", "dhcp-lease": "10.0.2.15"},
    "firewall": {"rule-1": "accept tcp/22", "rule-2": "drop all", "conntrack": "17 entries"},
    "tpm": {"pcr-0": "3d458cfe55cc03ea1f443f1562beec8df51c75e1", "counter": "41"},
}

def start_helper(address, helper_id, table):
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "kv-helper.py"), address, helper_id,
                             json.dumps(table)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    words = proc.stdout.readline().split()
    if not words or words[0] != "READY":
        raise SystemExit("helper %s did not start" % helper_id)
    return proc


def stop(procs):
    for p in procs:
        p.stdin.close()
        p.wait(timeout=10)


def main():
    os.makedirs(OUT, exist_ok=True)
    blob_file = os.path.join(OUT, "vmstate.bin")
    # A bus private to the "VM": GIO's test bus is a dbus-daemon of our
    # own, started here and stopped at the end (`vmstate bus` does the
    # same from a shell)
    bus = Gio.TestDBus.new(Gio.TestDBusFlags.NONE)
    bus.up()
    address = bus.get_bus_address()
    try:
        print("private bus for the VM:", address)

        # 1. the source side: three helpers with state
        source = [start_helper(address, i, t) for i, t in HELPERS.items()]
        collector = Vmstate.Collector.new_for_address_sync(address, None)
        for h in collector.list_helpers_sync(None):
            print("  helper %-26s %-6s pid %d" % (h.get_id(), h.get_unique_name(), h.get_pid()))
        blob = collector.save_sync(None)
        with open(blob_file, "wb") as f:
            f.write(blob.get_data())
        print("saved %d helpers into %s (%d bytes, QEMU's dbus-vmstate format)"
              % (len(HELPERS), blob_file, blob.get_size()))
        stop(source)

        # 2. the destination side: fresh, empty helpers
        dest = [start_helper(address, i, {}) for i in HELPERS]
        with open(blob_file, "rb") as f:
            data = GLib.Bytes.new(f.read())
        collector.load_sync(data, None)
        restored = {}
        for helper_id, p in zip(HELPERS, dest):
            line = p.stdout.readline().split(" ", 1)
            assert line[0] == "LOADED", line
            restored[helper_id] = json.loads(line[1])
        again = collector.save_sync(None)
        stop(dest)
    finally:
        bus.down()

    ok = True
    print("\n%-26s %-8s %s" % ("helper", "bytes", "came back"))
    parsed = Vmstate.Blob.new_from_bytes(data)
    for helper_id, table in HELPERS.items():
        same = restored[helper_id] == table
        ok &= same
        print("%-26s %-8d %s" % (helper_id, parsed.get_state(helper_id).get_size(),
                                 "yes" if same else "NO: %r" % restored[helper_id]))
    same_blob = again.get_data() == data.get_data()
    ok &= same_blob
    print("re-saved blob identical: %s (sha256 %s)" % ("yes" if same_blob else "NO",
                                                       hashlib.sha256(data.get_data()).hexdigest()[:16]))
    print("\nevery state came back" if ok else "\nDEMO FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
