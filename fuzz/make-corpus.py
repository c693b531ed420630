#!/usr/bin/python3
# make-corpus.py: writes the seed corpus in fuzz/corpus/ (run from fuzz/).
# The files are committed; rerun this only to change them.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import struct

import gi
gi.require_version("Gio", "2.0")
from gi.repository import Gio, GLib  # noqa: E402


def entry(ident, data):
    ident = ident.encode() if isinstance(ident, str) else ident
    return struct.pack(">I", len(ident)) + ident + struct.pack(">I", len(data)) + data


def blob(*entries, count=None, pad=b""):
    return struct.pack(">I", len(entries) if count is None else count) + b"".join(entries) + pad


def state(n, seed=0):
    x = (2166136261 ^ seed) & 0xFFFFFFFF
    out = bytearray()
    for _ in range(n):
        x = (x * 16777619 + 1) & 0xFFFFFFFF
        out.append(x >> 24)
    return bytes(out)


def qemu_padded(b):
    size = 1
    while size < len(b):
        size *= 2
    return b + b"\0" * (size - len(b))


BLOBS = {
    "empty": blob(),
    "one": blob(entry("net0", state(16))),
    "qemu-padded-16": qemu_padded(blob(entry("a", state(16)))),
    "qemu-padded-3": qemu_padded(blob(entry("slirp-52:54:00:12:34:56", state(300, 1)),
                                     entry("fw", state(7, 2)), entry("tpm", b""))),
    "sorted-3": blob(entry("a", b"x"), entry("b", state(40)), entry("c", b"")),
    "unsorted": blob(entry("zz", b"1"), entry("aa", b"2")),
    "empty-state": blob(entry("tpm", b"")),
    "id-255": blob(entry("i" * 255, b"s")),
    "id-256": blob(entry("i" * 256, b"s")),
    "id-empty": blob(entry("", b"s")),
    "id-utf8": blob(entry("réseau-😀", b"s")),
    "id-bad-utf8": blob(entry(b"\xff\xfe", b"s")),
    "id-nul": blob(entry(b"a\0b", b"s")),
    "duplicate": blob(entry("a", b"1"), entry("a", b"2")),
    "count-too-big": blob(entry("a", b"1"), count=2),
    "count-huge": blob(entry("a", b"1"), count=0xFFFFFFFF),
    "count-short": blob(entry("a", b"1"), entry("b", b"2"), count=1),
    "truncated-state": blob(entry("a", b"12345"))[:-2],
    "truncated-id": blob(entry("abcdef", b""))[:8],
    "state-len-huge": struct.pack(">II", 1, 1) + b"a" + struct.pack(">I", 0xFFFFFFFF),
    "nonzero-padding": blob(entry("a", b"1"), pad=b"\0\0\1\0"),
    "short": b"\0\0",
}


def variant_bytes(v):
    return v.get_data_as_bytes().get_data()


def structured(kind, body=b"", signature=b"", flags=0):
    return bytes([kind | flags, len(signature)]) + signature + body


def raw(message):
    message.set_serial(1)
    return bytes([0x08]) + message.to_blob(Gio.DBusCapabilityFlags.NONE)


def call(iface, member, body=None, path="/org/qemu/VMState1"):
    m = Gio.DBusMessage.new_method_call(None, path, iface, member)
    if body is not None:
        m.set_body(body)
    return m


SERVICE = {
    "save": structured(0),
    "save-noreply": structured(0, flags=0x10),
    "load-small": structured(1, variant_bytes(GLib.Variant("(ay)", (b"\0state",)))),
    "load-odd": structured(1, variant_bytes(GLib.Variant("(ay)", (b"\1state",)))),
    "load-4097": structured(1, b"\0" * 4097),
    "load-wrong-sig": structured(1, variant_bytes(GLib.Variant("(s)", ("x",))), b"(s)"),
    "get-id": structured(2, variant_bytes(GLib.Variant("(ss)", ("org.qemu.VMState1", "Id")))),
    "get-other": structured(2, variant_bytes(GLib.Variant("(ss)", ("org.qemu.VMState1", "Nope")))),
    "getall": structured(3, variant_bytes(GLib.Variant("(s)", ("org.qemu.VMState1",)))),
    "set-id": structured(4, variant_bytes(GLib.Variant("(ssv)", ("org.qemu.VMState1", "Id",
                                                                  GLib.Variant("s", "x"))))),
    "introspect": structured(5),
    "ping": structured(6),
    "unknown-member": structured(7, b"Frobnicate"),
    "other-path": structured(0, flags=0x20),
    "raw-save": raw(call("org.qemu.VMState1", "Save")),
    "raw-load": raw(call("org.qemu.VMState1", "Load", GLib.Variant("(ay)", (b"\0abc",)))),
    "raw-get": raw(call("org.freedesktop.DBus.Properties", "Get",
                        GLib.Variant("(ss)", ("org.qemu.VMState1", "Id")))),
    "raw-no-interface": raw(call(None, "Save")),
}

for name, data in BLOBS.items():
    with open(os.path.join("corpus", "blob", name), "wb") as f:
        f.write(data)
for name, data in SERVICE.items():
    with open(os.path.join("corpus", "service", name), "wb") as f:
        f.write(data)
print(f"{len(BLOBS)} blob seeds, {len(SERVICE)} service seeds")
