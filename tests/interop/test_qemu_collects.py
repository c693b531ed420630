#!/usr/bin/python3
# test_qemu_collects.py: real QEMU 7.2 saves and loads libvmstate helpers
#
# Helpers built on VmstateService (the C test helper and a Python
# subclass) on the source's private bus; QEMU's dbus-vmstate object
# migrates to a file; fresh helpers (with other states) on a second
# private bus and a fresh QEMU with -incoming defer load it; every
# helper's state must come back byte-identical.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

import pytest

import vmstate_interop as vi

MiB = 1024 * 1024


def migrate(rig, specs, src_id_list=None, dst_id_list=None, dst_specs=None):
    """Migrates helpers `specs` [(id, size, seed, kind)] through QEMU.

    Returns (source helpers, destination helpers, the stream). The
    destination helpers start with a different state (seed + 1000, other
    size), so only a real Load can give them the source's state.
    """
    bus = rig.bus()
    src = {i: rig.helper(bus, i, size=n, seed=s, kind=k) for i, n, s, k in specs}
    qemu = rig.qemu(bus, id_list=src_id_list, name="src")
    path = os.path.join(rig.tmpdir, "migration")
    status, info = qemu.migrate_to_file(path)
    assert status == "completed", qemu.stderr()
    assert info["status"] == "completed"
    # the source keeps running its helpers
    assert all(h.alive() for h in src.values())
    stream = vi.Stream.from_file(path)

    bus2 = rig.bus()
    dst = {i: rig.helper(bus2, i, size=7, seed=s + 1000, kind=k)
           for i, n, s, k in (dst_specs or specs)}
    dest = rig.qemu(bus2, id_list=dst_id_list, incoming=True, name="dst")
    status = dest.incoming_from_file(path)
    assert status == "completed", dest.stderr()
    assert dest.execute("query-status")["status"] == "running"
    return src, dst, stream


def assert_loaded(src, dst, ids):
    for i in ids:
        size, digest = dst[i].wait_loaded()
        assert size == src[i].size, i
        assert digest == src[i].sha256, f"state of {i} differs after QEMU's migration"


@pytest.mark.parametrize("kind", ["c", "py", "py-plain"])
@pytest.mark.parametrize("size", [1, 4096 + 1, 64 * 1024, MiB], ids=["1B", "4KiB+1", "64KiB", "1MiB"])
def test_one_helper_round_trip(rig, size, kind):
    src, dst, stream = migrate(rig, [("helper-" + kind, size, 7, kind)])
    assert_loaded(src, dst, ["helper-" + kind])
    # QEMU's blob: one entry, then zero padding
    entries, rest = vi.parse_blob(stream.blob)
    assert entries == [("helper-" + kind, vi.make_state(size, 7))]
    assert rest == bytes(len(rest))


def test_three_helpers_mixed_sizes_and_languages(rig):
    specs = [("net", 16, 1, "c"), ("fw", 5000, 2, "py"), ("tpm", 64 * 1024, 3, "py-plain")]
    src, dst, stream = migrate(rig, specs)
    assert_loaded(src, dst, ["net", "fw", "tpm"])
    entries, _ = vi.parse_blob(stream.blob)
    assert sorted(i for i, _ in entries) == ["fw", "net", "tpm"]


def test_id_list_subset(rig):
    specs = [("a", 100, 1, "c"), ("b", 200, 2, "py"), ("c", 300, 3, "c")]
    src, dst, stream = migrate(rig, specs, src_id_list=["a", "c"], dst_id_list=["a", "c"])
    entries, _ = vi.parse_blob(stream.blob)
    assert sorted(i for i, _ in entries) == ["a", "c"], "QEMU saved an unlisted helper"
    assert_loaded(src, dst, ["a", "c"])
    # the unlisted destination helper was never loaded: its output, read
    # to its end once it exits, has no LOADED line
    dst["b"].stop()
    dst["b"].reader.finish()
    assert dst["b"].loaded_lines() == []


def test_id_list_names_missing_helper(rig):
    bus = rig.bus()
    helpers = [rig.helper(bus, "a", size=64, seed=1), rig.helper(bus, "b", size=64, seed=2, kind="py")]
    qemu = rig.qemu(bus, id_list=["a", "zz"], name="src")
    path = os.path.join(rig.tmpdir, "migration")
    status, info = qemu.migrate_to_file(path)
    # QEMU fails cleanly: the migration fails, QEMU keeps running
    assert status == "failed"
    assert info["status"] == "failed"
    assert "Required VMState Id are missing: zz" in qemu.stderr()
    # QEMU stopped the VM for the final stage and resumes it after the
    # failure: wait for the RESUME event, then it must be running
    assert qemu.wait_event(lambda e: e["event"] == "RESUME") is not None
    st = qemu.execute("query-status")
    assert st["running"] is True, st
    # the helpers are untouched: alive, never loaded, and still answer
    # QEMU: a retry without the missing Id completes with their states
    for h in helpers:
        assert h.alive()
        assert h.loaded_lines() == []
    qemu.stop()
    qemu2 = rig.qemu(bus, id_list=["a", "b"], name="src2")
    status, _ = qemu2.migrate_to_file(path)
    assert status == "completed", qemu2.stderr()
    entries, _ = vi.parse_blob(vi.Stream.from_file(path).blob)
    assert dict(entries) == {"a": vi.make_state(64, 1), "b": vi.make_state(64, 2)}


@pytest.mark.parametrize("kind", ["c", "py"])
def test_255_byte_id(rig, kind):
    long_id = "i" * 255
    src, dst, stream = migrate(rig, [(long_id, 4096, 5, kind), ("short", 10, 6, "c")])
    assert_loaded(src, dst, [long_id, "short"])
    entries, _ = vi.parse_blob(stream.blob)
    assert long_id in dict(entries)
