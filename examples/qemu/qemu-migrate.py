#!/usr/bin/python3
# qemu-migrate.py: migrate a VM's helpers with real QEMU and libvmstate
#
# The whole dbus-vmstate flow with qemu-system-x86_64 (Debian 12:
# apt install qemu-system-x86):
#
#  1. a private dbus-daemon for the source VM, two helpers (nat-helper.py,
#     built on Vmstate.Service) with some state;
#  2. QEMU with a dbus-vmstate object on that bus migrates to a file;
#  3. a second private bus with fresh, empty helpers, and a QEMU started
#     with -incoming defer that loads the file: QEMU calls Load on each
#     helper, which prints the state it got back;
#  4. VmstateBlob reads the dbus-vmstate payload out of QEMU's file, and
#     VmstateCollector saves the same helpers itself: same states.
#
# Run it from a build tree:
#   meson devenv -C BUILD /usr/bin/python3 examples/qemu/qemu-migrate.py
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import Gio, GLib, Vmstate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
TIMEOUT = 60

processes = []  # everything we start, stopped by pid at the end
buses = []  # and the buses, stopped after it


def start(argv, **kw):
    proc = subprocess.Popen(argv, **kw)
    processes.append(proc)
    return proc


def start_bus():
    """A dbus-daemon private to one VM (GIO's test bus); returns its address."""
    bus = Gio.TestDBus.new(Gio.TestDBusFlags.NONE)
    bus.up()
    buses.append(bus)
    return bus.get_bus_address()


def start_helper(address, helper_id, *pairs):
    helper = start([sys.executable, os.path.join(HERE, "nat-helper.py"), address, helper_id, *pairs],
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert helper.stdout.readline().strip() == "READY"
    return helper


class Qmp:
    """QEMU's monitor: QEMU connects to a socket we listen on."""

    def __init__(self, tmp, name, address, incoming=False):
        path = os.path.join(tmp, name + ".qmp")
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(path)
        listener.listen(1)
        # a comma inside an option value is written ",,"
        argv = [QEMU, "-machine", "none", "-nodefaults", "-display", "none",
                "-chardev", f"socket,id=qmp,path={path}", "-mon", "chardev=qmp,mode=control",
                "-object", "dbus-vmstate,id=dv,addr=" + address.replace(",", ",,") +
                ",id-list=nat,,dns"]
        if incoming:
            argv += ["-incoming", "defer"]
        self.proc = start(argv)
        listener.settimeout(TIMEOUT)
        self.sock, _ = listener.accept()
        self.file = self.sock.makefile("r")
        self.events = []
        self.read()  # the greeting
        self.run("qmp_capabilities")
        self.run("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True}])

    def read(self):
        self.sock.settimeout(TIMEOUT)
        line = self.file.readline()
        if not line:
            raise SystemExit(f"QEMU exited ({self.proc.wait(TIMEOUT)})")
        return json.loads(line)

    def run(self, command, **arguments):
        self.sock.sendall(json.dumps({"execute": command, "arguments": arguments}).encode() + b"\n")
        while True:
            msg = self.read()
            if "return" in msg:
                return msg["return"]
            if "error" in msg:
                raise SystemExit(f"{command}: {msg['error']['desc']}")
            if "event" in msg:
                # an event can come before the command's answer: keep it
                self.events.append(msg)

    def wait_migration(self):
        while True:
            msg = self.events.pop(0) if self.events else self.read()
            if msg.get("event") == "MIGRATION" and msg["data"]["status"] in ("completed", "failed"):
                return msg["data"]["status"]


def dbus_vmstate_payload(stream):
    """The dbus-vmstate section's blob in a migration stream: after the
    header (0x04, section id, name, instance and version ids) comes
    be32 data_size and the blob, then the footer 0x7e + section id."""
    name = b"dbus-vmstate/dbus-vmstate"
    at = stream.index(bytes([len(name)]) + name) + 1 + len(name) + 8
    (size,) = struct.unpack(">I", stream[at:at + 4])
    return stream[at + 4:at + 4 + size]


def main(tmp):
    mig = os.path.join(tmp, "vm.mig")

    print("== source: a private bus, two helpers, QEMU with dbus-vmstate")
    src_bus = start_bus()
    start_helper(src_bus, "nat", "tcp:2222=10.0.2.15:22", "udp:5353=10.0.2.15:53")
    start_helper(src_bus, "dns", "vm.example=10.0.2.15")
    src = Qmp(tmp, "src", src_bus)

    # QEMU's "completed" can come before cat has written the file: the
    # command tells us through a FIFO when it has (cat ends once QEMU has
    # closed the stream)
    done = os.path.join(tmp, "done")
    os.mkfifo(done)
    done_fd = os.open(done, os.O_RDWR | os.O_NONBLOCK)
    src.run("migrate", uri=f"exec:cat>{mig} && echo done>{done}")
    status = src.wait_migration()
    if status != "completed" or not select.select([done_fd], [], [], TIMEOUT)[0]:
        raise SystemExit(f"migration {status}")
    # ask for the downtime only now: QEMU 7.2 computes it after the event
    info = src.run("query-migrate")
    print(f"   QEMU wrote a {os.path.getsize(mig)}-byte stream, downtime {info['downtime']} ms")

    print("== destination: a second bus, empty helpers, QEMU -incoming defer")
    dst_bus = start_bus()
    fresh = {"nat": start_helper(dst_bus, "nat"), "dns": start_helper(dst_bus, "dns")}
    dst = Qmp(tmp, "dst", dst_bus, incoming=True)
    dst.run("migrate-incoming", uri=f"exec:cat {mig}")
    if dst.wait_migration() != "completed":
        raise SystemExit("incoming migration failed")
    for helper_id, helper in fresh.items():
        print(f"   {helper_id}:", helper.stdout.readline().strip())

    print("== libvmstate reads QEMU's payload, and saves the same helpers itself")
    with open(mig, "rb") as f:
        payload = dbus_vmstate_payload(f.read())
    qemu_blob = Vmstate.Blob.new_from_bytes(GLib.Bytes.new(payload))
    collector = Vmstate.Collector.new_for_address_sync(src_bus, None)
    collector.props.required_ids = ["nat", "dns"]  # like QEMU's id-list
    our_blob = Vmstate.Blob.new_from_bytes(collector.save_sync(None))
    for helper_id in sorted(qemu_blob.get_ids()):
        theirs = bytes(qemu_blob.get_state(helper_id).get_data())
        ours = bytes(our_blob.get_state(helper_id).get_data())
        print(f"   {helper_id}: {theirs.decode()}  {'same' if theirs == ours else 'DIFFERENT'}")
    print(f"   QEMU's payload: {len(payload)} bytes (zero-padded); ours: {our_blob.get_size()} bytes")

    for qemu in (src, dst):
        qemu.run("quit")
        qemu.proc.wait(TIMEOUT)


if __name__ == "__main__":
    tmp = tempfile.mkdtemp(prefix="qemu-migrate-")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # run the clean-up
    try:
        main(tmp)
    finally:
        for proc in reversed(processes):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for bus in buses:
            bus.down()
        shutil.rmtree(tmp, ignore_errors=True)
