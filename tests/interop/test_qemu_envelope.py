#!/usr/bin/python3
# test_qemu_envelope.py: versioned, compressed states through real QEMU 7.2
# (issue 13)
#
# - A 4.5 MB conntrack-like table (made by bench/vmstate-bench-envelope)
#   goes through QEMU's 1 MiB limit compressed, and loads on the
#   destination byte for byte.
# - A state saved by a newer helper (state-version 2) fails on an older
#   one (state-version 1): the destination's incoming migration fails,
#   and over a live TCP migration with QEMU's return path the source sees
#   the failure and keeps running.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import os
import socket
import subprocess

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

import vmstate_interop as vi  # noqa: E402

MiB = 1024 * 1024
TABLE_BYTES = 4500000


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("table") / "conntrack.txt")
    subprocess.run([os.path.join(os.environ["VMSTATE_BUILD_ROOT"], "bench", "vmstate-bench-envelope"),
                    "--write-conntrack", path, "--conntrack-bytes", str(TABLE_BYTES)], check=True)
    with open(path, "rb") as f:
        data = f.read()
    assert len(data) == TABLE_BYTES
    assert data.startswith(b"ipv4     2 ")
    return path, data


def test_qemu_migrates_a_compressed_4_5_mb_table(rig, table):
    path, data = table
    bus = rig.bus()
    rig.helper(bus, "conntrack", kind="py",
               extra=["--state-file", path, "--state-version", "1", "--compress"])
    qemu = rig.qemu(bus, name="src")
    stream_path = os.path.join(rig.tmpdir, "migration")
    status, info = qemu.migrate_to_file(stream_path)
    assert status == "completed", qemu.stderr()

    # what QEMU carried: one envelope, compressed under its 1 MiB limit
    entries, _ = vi.parse_blob(vi.Stream.from_file(stream_path).blob)
    state = dict(entries)["conntrack"]
    assert len(state) <= MiB
    envelope = Vmstate.Envelope.new_from_bytes(GLib.Bytes.new(state))
    assert envelope.props.flags == Vmstate.EnvelopeFlags.ZSTD
    assert envelope.props.payload_size == TABLE_BYTES
    assert TABLE_BYTES / len(state) >= 4, len(state)

    bus2 = rig.bus()
    dst = rig.helper(bus2, "conntrack", kind="py", extra=["--state-version", "1"])
    dest = rig.qemu(bus2, incoming=True, name="dst")
    status = dest.incoming_from_file(stream_path)
    assert status == "completed", dest.stderr()
    assert dest.execute("query-status")["status"] == "running"
    assert dst.reader.wait_prefix("LOADED-VERSION ") == "LOADED-VERSION 1"
    size, digest = dst.wait_loaded()
    assert (size, digest) == (TABLE_BYTES, hashlib.sha256(data).hexdigest())


def test_qemu_newer_state_on_older_helper_fails_the_incoming_migration(rig):
    bus = rig.bus()
    rig.helper(bus, "fw", kind="py", size=300, seed=3, extra=["--state-version", "2"])
    qemu = rig.qemu(bus, name="src")
    stream_path = os.path.join(rig.tmpdir, "migration")
    status, _ = qemu.migrate_to_file(stream_path)
    assert status == "completed", qemu.stderr()

    bus2 = rig.bus()
    old = rig.helper(bus2, "fw", kind="py", size=7, seed=9, extra=["--state-version", "1"])
    dest = rig.qemu(bus2, incoming=True, name="dst")
    status = dest.incoming_from_file(stream_path)
    assert status in ("failed", "exited"), status
    assert dest.wait_exit() != 0
    err = dest.stderr()
    assert "fw" in err and "version 2" in err and "state-version 1" in err, err
    assert old.alive() and old.loaded_lines() == []

    # the collector says the same, naming the helper and both versions
    blob = GLib.Bytes.new(vi.Stream.from_file(stream_path).blob)
    collector = Vmstate.Collector.new_for_address_sync(bus2.address, None)
    with pytest.raises(GLib.Error) as info:
        collector.load_sync(blob, None)
    e = info.value
    assert e.matches(Vmstate.error_quark(), Vmstate.Error.VERSION_TOO_NEW), e.message
    for w in ("'fw'", old.unique_name, "version 2", "state-version 1"):
        assert w in e.message, e.message


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_qemu_live_migration_to_an_older_helper_keeps_the_source_running(rig):
    bus = rig.bus()
    src_helper = rig.helper(bus, "fw", kind="py", size=300, seed=3, extra=["--state-version", "2"])
    src = rig.qemu(bus, name="src")
    bus2 = rig.bus()
    rig.helper(bus2, "fw", kind="py", size=7, seed=9, extra=["--state-version", "1"])
    dst = rig.qemu(bus2, incoming=True, name="dst")
    for q in (src, dst):
        q.execute("migrate-set-capabilities",
                  capabilities=[{"capability": "return-path", "state": True}])
    port = free_port()
    dst.execute("migrate-incoming", uri=f"tcp:127.0.0.1:{port}")
    assert src.execute("query-status")["status"] == "running"
    src.execute("migrate", uri=f"tcp:127.0.0.1:{port}")

    assert src.wait_migration() == "failed", src.event_log
    assert dst.wait_exit() != 0
    assert "state-version 1" in dst.stderr(), dst.stderr()
    status = src.execute("query-status")["status"]
    assert status == "running", status
    assert src_helper.alive()
