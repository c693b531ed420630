#!/usr/bin/python3
# test_qemu_failures.py: QEMU 7.2's failure modes, pinned, and
# VmstateCollector failing cleanly in the same situations
#
# Each test_qemu_* records what the real QEMU 7.2 does when a helper or
# the bus misbehaves (some of it wrong: a "completed" migration with a
# blob no destination can load; an abort on duplicate Ids). If QEMU's
# behaviour changes, these tests fail on purpose: update PROTOCOL.md.
# The matching test_collector_* shows libvmstate failing the whole
# operation with a clear error instead.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import struct
import subprocess

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

import vmstate_interop as vi  # noqa: E402

MiB = 1024 * 1024


def collector_for(bus):
    return Vmstate.Collector.new_for_address_sync(bus.address, None)


def helper_failed_code(kind):
    """The code VmstateCollector reports for a helper's failed call: the
    helper's own code when the helper's error is in the VMSTATE_ERROR
    domain, HELPER_FAILED otherwise (the PyGObject override turns a plain
    exception into VMSTATE_ERROR_HELPER_FAILED too)."""
    return Vmstate.Error.HELPER_FAILED


def assert_vmstate_error(excinfo, code, *words):
    err = excinfo.value
    assert err.matches(Vmstate.error_quark(), code), (err.domain, err.code, err.message)
    for w in words:
        assert w in err.message, err.message


def qemu_save(rig, bus, **kw):
    qemu = rig.qemu(bus, name="src", **kw)
    path = os.path.join(rig.tmpdir, "stream")
    status, info = qemu.migrate_to_file(path)
    return qemu, path, status


def qemu_load(rig, specs, path):
    """A fresh destination with helpers `specs` [(id, kind)] loads `path`."""
    bus = rig.bus()
    helpers = {i: rig.helper(bus, i, size=3, seed=99, kind=k) for i, k in specs}
    dest = rig.qemu(bus, incoming=True, name="dst")
    status = dest.incoming_from_file(path)
    return dest, helpers, status


def finish(helpers):
    """Stops helpers and returns {id: their LOADED lines}, read to the end."""
    out = {}
    for i, h in helpers.items():
        h.stop()
        h.reader.finish()
        out[i] = h.loaded_lines()
    return out


# A helper's Save fails

@pytest.mark.parametrize("kind", ["c", "py", "py-plain"])
def test_qemu_save_error_completes_with_bad_blob(rig, kind):
    bus = rig.bus()
    rig.helper(bus, "a", size=16, seed=1)
    rig.helper(bus, "b", kind=kind, extra=["--save-error", "boom"])
    rig.helper(bus, "c", size=16, seed=3)
    qemu, path, status = qemu_save(rig, bus)
    # QEMU 7.2: the migration "completes"...
    assert status == "completed"
    assert "Failed to Save" in qemu.stderr() and "boom" in qemu.stderr()
    # ...with a blob that counts three entries and holds two
    blob = vi.Stream.from_file(path).blob
    assert struct.unpack(">I", blob[:4])[0] == 3
    entries, _ = vi.parse_blob(struct.pack(">I", 2) + blob[4:])
    assert sorted(i for i, _ in entries) == ["a", "c"]
    # our codec refuses it, naming the short count, and a QEMU destination
    # fails on it and exits (it reads the third entry from the padding)
    with pytest.raises(GLib.Error) as e:
        Vmstate.Blob.new_from_bytes(GLib.Bytes.new(blob))
    assert e.value.matches(Vmstate.error_quark(), Vmstate.Error.INVALID_BLOB), e.value.message
    assert "claims 3 entries but holds only 2" in e.value.message
    dest, helpers, status = qemu_load(rig, [("a", "c"), ("b", "c"), ("c", "c")], path)
    assert status in ("failed", "exited")
    assert dest.wait_exit() == 1
    loaded = finish(helpers)
    # the two entries QEMU wrote were Loaded before it failed on the third
    assert loaded["b"] == []
    assert loaded["a"] == [f"LOADED 16 {vi.state_sha256(16, 1)}"]
    assert loaded["c"] == [f"LOADED 16 {vi.state_sha256(16, 3)}"]


@pytest.mark.parametrize("kind", ["c", "py", "py-plain"])
def test_collector_save_error_fails_cleanly(rig, kind):
    bus = rig.bus()
    helpers = [rig.helper(bus, "a", size=16, seed=1),
               rig.helper(bus, "b", kind=kind, extra=["--save-error", "boom"]),
               rig.helper(bus, "c", size=16, seed=3)]
    with pytest.raises(GLib.Error) as e:
        collector_for(bus).save_sync(None)
    assert_vmstate_error(e, helper_failed_code(kind), "b", helpers[1].unique_name, "boom")
    assert all(h.alive() for h in helpers)


# A state over QEMU's 1 MiB limit

def test_qemu_state_too_large_completes_with_bad_blob(rig):
    bus = rig.bus()
    rig.helper(bus, "a", size=16, seed=1)
    rig.helper(bus, "big", size=MiB + 1, extra=["--max-state-size", str(2 * MiB)])
    qemu, path, status = qemu_save(rig, bus)
    assert status == "completed"
    assert "Too large vmstate data to save: 1048577" in qemu.stderr()
    blob = vi.Stream.from_file(path).blob
    assert struct.unpack(">I", blob[:4])[0] == 2
    entries, _ = vi.parse_blob(struct.pack(">I", 1) + blob[4:])
    assert entries == [("a", vi.make_state(16, 1))]
    dest, _, status = qemu_load(rig, [("a", "c"), ("big", "c")], path)
    assert status in ("failed", "exited")
    assert dest.wait_exit() == 1


def test_collector_state_too_large_fails_cleanly(rig):
    bus = rig.bus()
    rig.helper(bus, "a", size=16, seed=1)
    big = rig.helper(bus, "big", size=MiB + 1, extra=["--max-state-size", str(2 * MiB)])
    with pytest.raises(GLib.Error) as e:
        collector_for(bus).save_sync(None)
    assert_vmstate_error(e, Vmstate.Error.STATE_TOO_LARGE, "big", big.unique_name)
    # exactly 1 MiB is QEMU's limit, inclusive, and ours
    bus2 = rig.bus()
    rig.helper(bus2, "edge", size=MiB, seed=4)
    blob = collector_for(bus2).save_sync(None)
    assert len(Vmstate.Blob.new_from_bytes(blob).get_state("edge").get_data()) == MiB


# Two helpers with the same Id

def test_qemu_duplicate_ids_aborts(rig):
    bus = rig.bus()
    rig.helper(bus, "dup", seed=1)
    rig.helper(bus, "dup", seed=2)
    qemu = rig.qemu(bus, name="src")
    path = os.path.join(rig.tmpdir, "stream")
    try:
        qemu.execute("migrate", uri=f"exec:cat>{path}")
    except vi.QmpError:
        pass  # it may die before it answers
    # QEMU 7.2 detects the duplicate, then uses the Id it has freed (its
    # message shows another string: "org.freedesktop.DBus" or garbage)
    # and dies of heap corruption (SIGABRT from malloc's checks in every
    # run here), before or just after its MIGRATION "failed" event
    assert qemu.wait_migration() in ("failed", "exited")
    try:
        rc = qemu.wait_exit(timeout=60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"QEMU survived duplicate Ids: {qemu.stderr()}") from None
    assert rc < 0, f"QEMU exited with {rc}, not on a signal: {qemu.stderr()}"


def test_collector_duplicate_ids_fails_cleanly(rig):
    bus = rig.bus()
    helpers = [rig.helper(bus, "dup", seed=1), rig.helper(bus, "dup", seed=2, kind="py")]
    collector = collector_for(bus)
    with pytest.raises(GLib.Error) as e:
        collector.save_sync(None)
    assert_vmstate_error(e, Vmstate.Error.DUPLICATE_ID, "dup")
    # the same for a load: nothing is loaded
    blob = Vmstate.Blob.new()
    blob.add("dup", GLib.Bytes.new(b"x"))
    with pytest.raises(GLib.Error) as e:
        collector.load_sync(blob.to_bytes(), None)
    assert_vmstate_error(e, Vmstate.Error.DUPLICATE_ID, "dup")
    assert all(h.alive() for h in helpers)
    assert all(lines == [] for lines in finish({str(n): h for n, h in enumerate(helpers)}).values())


# Invalid Ids: QEMU fails cleanly here, and so do we

@pytest.mark.parametrize("length", [0, 256])
def test_qemu_invalid_id_fails_cleanly(rig, length):
    bus = rig.bus()
    rig.helper(bus, "a", seed=1)
    rig.helper(bus, "raw", extra=["--raw-id-len", str(length)])
    qemu, _, status = qemu_save(rig, bus)
    assert status == "failed"
    assert "is invalid" in qemu.stderr()
    assert qemu.wait_event(lambda e: e["event"] == "RESUME") is not None
    assert qemu.execute("query-status")["running"] is True


@pytest.mark.parametrize("length", [0, 256])
def test_collector_invalid_id_fails_cleanly(rig, length):
    bus = rig.bus()
    rig.helper(bus, "a", seed=1)
    raw = rig.helper(bus, "raw", extra=["--raw-id-len", str(length)])
    with pytest.raises(GLib.Error) as e:
        collector_for(bus).save_sync(None)
    assert_vmstate_error(e, Vmstate.Error.INVALID_ID, raw.unique_name)


# The destination lacks a helper the blob names

def test_qemu_missing_helper_on_load_fails(rig):
    bus = rig.bus()
    for i, s in (("a", 1), ("b", 2), ("c", 3)):
        rig.helper(bus, i, size=32, seed=s)
    _, path, status = qemu_save(rig, bus)
    assert status == "completed"
    order = [i for i, _ in vi.parse_blob(vi.Stream.from_file(path).blob)[0]]
    dest, helpers, status = qemu_load(rig, [("a", "c"), ("c", "c")], path)
    assert status in ("failed", "exited")
    assert dest.wait_exit() == 1
    loaded = finish(helpers)
    # QEMU loads entries in blob order until the missing one: the ones
    # before "b" were already Loaded, the ones after it were not
    before = order[:order.index("b")]
    for i in ("a", "c"):
        assert (len(loaded[i]) == 1) == (i in before), (order, loaded)


def test_collector_missing_helper_on_load_loads_nothing(rig):
    bus = rig.bus()
    for i, s in (("a", 1), ("b", 2), ("c", 3)):
        rig.helper(bus, i, size=32, seed=s)
    blob = collector_for(bus).save_sync(None)
    bus2 = rig.bus()
    helpers = {i: rig.helper(bus2, i, size=3, seed=9) for i in ("a", "c")}
    with pytest.raises(GLib.Error) as e:
        collector_for(bus2).load_sync(blob, None)
    assert_vmstate_error(e, Vmstate.Error.MISSING_HELPER, "b")
    assert all(lines == [] for lines in finish(helpers).values())


# An empty state

def test_qemu_cannot_save_empty_state(rig):
    bus = rig.bus()
    rig.helper(bus, "empty", size=0)
    qemu, path, status = qemu_save(rig, bus)
    assert status == "completed"
    assert "not a byte array" in qemu.stderr()
    blob = vi.Stream.from_file(path).blob
    assert struct.unpack(">I", blob[:4])[0] == 1
    assert blob[4:] == bytes(len(blob) - 4)


# A helper's Load fails on the destination

@pytest.mark.parametrize("kind", ["c", "py", "py-plain"])
def test_qemu_load_error_fails_and_exits(rig, kind):
    bus = rig.bus()
    rig.helper(bus, "a", size=32, seed=1)
    _, path, status = qemu_save(rig, bus)
    assert status == "completed"
    bus2 = rig.bus()
    rig.helper(bus2, "a", kind=kind, extra=["--load-error", "refused"])
    dest = rig.qemu(bus2, incoming=True, name="dst")
    assert dest.incoming_from_file(path) in ("failed", "exited")
    assert dest.wait_exit() == 1
    assert "refused" in dest.stderr()


@pytest.mark.parametrize("kind", ["c", "py", "py-plain"])
def test_collector_load_error_fails_cleanly(rig, kind):
    bus = rig.bus()
    rig.helper(bus, "a", size=32, seed=1)
    blob = collector_for(bus).save_sync(None)
    bus2 = rig.bus()
    bad = rig.helper(bus2, "a", kind=kind, extra=["--load-error", "refused"])
    with pytest.raises(GLib.Error) as e:
        collector_for(bus2).load_sync(blob, None)
    assert_vmstate_error(e, helper_failed_code(kind), "a", bad.unique_name, "refused")


# An extra helper on the destination: QEMU ignores it, and so do we

def test_qemu_ignores_extra_helper_on_load(rig):
    bus = rig.bus()
    rig.helper(bus, "a", size=32, seed=1)
    _, path, status = qemu_save(rig, bus)
    assert status == "completed"
    bus2 = rig.bus()
    helpers = {"a": rig.helper(bus2, "a", size=3, seed=9), "extra": rig.helper(bus2, "extra")}
    dest = rig.qemu(bus2, incoming=True, name="dst")
    assert dest.incoming_from_file(path) == "completed", dest.stderr()
    assert helpers["a"].wait_loaded() == (32, vi.state_sha256(32, 1))
    assert finish(helpers)["extra"] == []

    # VmstateCollector loads QEMU's blob on a bus with an extra helper too
    bus3 = rig.bus()
    helpers = {"a": rig.helper(bus3, "a", size=3, seed=9), "extra": rig.helper(bus3, "extra")}
    collector_for(bus3).load_sync(GLib.Bytes.new(vi.Stream.from_file(path).blob), None)
    assert helpers["a"].wait_loaded() == (32, vi.state_sha256(32, 1))
    assert finish(helpers)["extra"] == []
