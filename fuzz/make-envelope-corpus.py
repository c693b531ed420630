#!/usr/bin/python3
# make-envelope-corpus.py: writes the seed corpus of fuzz-envelope
# (corpus/envelope/) with libvmstate's own encoder, then breaks copies of
# it in every way the parser refuses. Run from a build tree:
#   meson devenv -C build /usr/bin/python3 $PWD/fuzz/make-envelope-corpus.py
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import struct
import sys

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "envelope")


def enc(payload, version=1, compress=False):
    return bytes(Vmstate.Envelope.encode(GLib.Bytes.new(payload), version, compress).get_data())


def table(n):
    lines = []
    for i in range(n):
        lines.append(f"ipv4     2 tcp      6 {431000 + i * 7} ESTABLISHED src=10.0.2.{15 + i % 9} "
                     f"dst=142.250.{i % 200}.{i * 13 % 250} sport={32768 + i * 97 % 28000} dport=443 "
                     "[ASSURED] mark=0 zone=0 use=2\n")
    return "".join(lines).encode()


def patch(b, off, val):
    b = bytearray(b)
    b[off] = val
    return bytes(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    t = table(60)
    plain = enc(b"state!", 2)
    packed = enc(t, 3, True)
    seeds = {
        "plain": plain,
        "empty": enc(b"", 1),
        "zstd-table": packed,
        "plain-table": enc(t, 1),
        "version-max": enc(b"x", 0xFFFFFFFF),
        "raw-payload": t[:300],
        "raw-short": b"\x89V",
        "truncated-header": plain[:20],
        "truncated-payload": plain[:-1],
        "trailing": plain + b"\0",
        "format-2": patch(plain, 5, 2),
        "flags-unknown": patch(plain, 7, 2),
        "version-0": plain[:8] + b"\0\0\0\0" + plain[12:],
        "bad-crc": patch(plain, 23, plain[23] ^ 1),
        "bad-payload": patch(plain, 25, 0),
        "zstd-damaged": patch(packed, 40, packed[40] ^ 0xff),
        # claims 1 GiB in 64 stored bytes
        "claims-1g": packed[:12] + struct.pack(">I", 1 << 30) + packed[16:],
        # claims fewer bytes than the frame inflates to
        "inflates-more": packed[:12] + struct.pack(">I", len(packed)) + packed[16:],
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
