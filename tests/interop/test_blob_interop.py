#!/usr/bin/python3
# test_blob_interop.py: libvmstate's blob is the blob QEMU 7.2 writes
#
# Both directions of the dbus-vmstate section payload:
# - the blob QEMU writes (zero-padded, in hash order) parses with
#   Vmstate.Blob to the helpers' states, and VmstateCollector loads it;
# - the blob VmstateCollector saves, put in place of the payload of the
#   dbus-vmstate section of a stream QEMU wrote (data_size fixed, every
#   other byte kept), is loaded by a real QEMU destination.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

import vmstate_interop as vi  # noqa: E402

SPECS = [("net", 16, 1, "c"), ("fw", 5000, 2, "py"), ("tpm", 64 * 1024, 3, "c"),
         ("i" * 255, 4097, 4, "c")]


def start_helpers(rig, bus, specs, seed_offset=0, size=None):
    return {i: rig.helper(bus, i, size=size if size is not None else n, seed=s + seed_offset, kind=k)
            for i, n, s, k in specs}


def qemu_stream(rig, specs):
    """Helpers `specs` on a private bus, saved by QEMU into a stream."""
    bus = rig.bus()
    helpers = start_helpers(rig, bus, specs)
    qemu = rig.qemu(bus, name="src")
    path = os.path.join(rig.tmpdir, "qemu-stream")
    status, _ = qemu.migrate_to_file(path)
    assert status == "completed", qemu.stderr()
    return bus, helpers, vi.Stream.from_file(path)


def blob_states(blob):
    """Parses with libvmstate's codec; returns {id: bytes}."""
    parsed = Vmstate.Blob.new_from_bytes(GLib.Bytes.new(blob))
    return {i: bytes(parsed.get_state(i).get_data() or b"") for i in parsed.get_ids()}


def collector_for(bus):
    return Vmstate.Collector.new_for_address_sync(bus.address, None)


def test_qemu_blob_parses_with_our_codec(rig):
    bus, helpers, stream = qemu_stream(rig, SPECS)
    qemu_blob = stream.blob
    entries, padding = vi.parse_blob(qemu_blob)
    # QEMU pads its payload with zeros to a power of two
    assert len(padding) > 0 and padding == bytes(len(padding))
    assert len(qemu_blob) & (len(qemu_blob) - 1) == 0

    expected = {i: vi.make_state(n, s) for i, n, s, _ in SPECS}
    assert blob_states(qemu_blob) == expected

    # VmstateCollector saves the same states from the same helpers, and
    # its blob is QEMU's entries sorted by Id, without the padding
    ours = bytes(collector_for(bus).save_sync(None).get_data())
    assert blob_states(ours) == expected
    assert ours == vi.build_blob(sorted(entries))


def test_collector_loads_qemu_blob(rig):
    _, _, stream = qemu_stream(rig, SPECS)
    bus = rig.bus()
    fresh = start_helpers(rig, bus, SPECS, seed_offset=100, size=3)
    collector_for(bus).load_sync(GLib.Bytes.new(stream.blob), None)
    for i, n, s, _ in SPECS:
        assert fresh[i].wait_loaded() == (n, vi.state_sha256(n, s))


def test_collector_blob_loads_in_qemu(rig):
    # a stream written by QEMU for helpers with one set of states...
    _, _, stream = qemu_stream(rig, SPECS)

    # ...VmstateCollector's blob for the same Ids with other states and
    # sizes, so the destination can only end up with them by loading it
    ours_specs = [(i, n + 1000 * k, s + 50, kind) for k, (i, n, s, kind) in enumerate(SPECS)]
    bus = rig.bus()
    start_helpers(rig, bus, ours_specs)
    ours = bytes(collector_for(bus).save_sync(None).get_data())
    assert blob_states(ours) == {i: vi.make_state(n, s) for i, n, s, _ in ours_specs}

    spliced = stream.with_blob(ours)
    assert vi.Stream(spliced).blob == ours
    # only the section's data_size and payload differ
    assert spliced[:stream.size_at] == stream.data[:stream.size_at]
    assert spliced[-(len(stream.data) - stream.blob_end):] == stream.data[stream.blob_end:]
    path = os.path.join(rig.tmpdir, "spliced-stream")
    with open(path, "wb") as f:
        f.write(spliced)

    bus2 = rig.bus()
    dst = start_helpers(rig, bus2, SPECS, seed_offset=200, size=5)
    dest = rig.qemu(bus2, incoming=True, name="dst")
    status = dest.incoming_from_file(path)
    assert status == "completed", dest.stderr()
    assert dest.execute("query-status")["status"] == "running"
    for i, n, s, _ in ours_specs:
        assert dst[i].wait_loaded() == (n, vi.state_sha256(n, s)), i


def test_spliced_stream_is_really_read(rig):
    """Control: QEMU loads the payload we put in, so a blob naming a
    helper the destination lacks makes the same stream fail."""
    _, _, stream = qemu_stream(rig, SPECS[:1])
    blob = Vmstate.Blob.new()
    blob.add("not-on-the-bus", GLib.Bytes.new(b"state"))
    path = os.path.join(rig.tmpdir, "spliced-stream")
    with open(path, "wb") as f:
        f.write(stream.with_blob(bytes(blob.to_bytes().get_data())))

    bus = rig.bus()
    helper = rig.helper(bus, SPECS[0][0], size=5, seed=9)
    dest = rig.qemu(bus, incoming=True, name="dst")
    status = dest.incoming_from_file(path)
    assert status in ("failed", "exited")
    assert dest.wait_exit() == 1
    helper.stop()
    helper.reader.finish()
    assert helper.loaded_lines() == []


def test_collector_empty_state_loads_in_qemu(rig):
    """QEMU 7.2 cannot save an empty state (test_qemu_failures.py), but it
    loads one: VmstateCollector saves it, and a QEMU destination passes
    it to the helper's Load."""
    _, _, stream = qemu_stream(rig, SPECS[:1])
    bus = rig.bus()
    rig.helper(bus, "empty", size=0)
    ours = bytes(collector_for(bus).save_sync(None).get_data())
    assert ours == vi.build_blob([("empty", b"")])
    path = os.path.join(rig.tmpdir, "spliced-stream")
    with open(path, "wb") as f:
        f.write(stream.with_blob(ours))

    bus2 = rig.bus()
    helper = rig.helper(bus2, "empty", size=3, seed=9, kind="py")
    dest = rig.qemu(bus2, incoming=True, name="dst")
    assert dest.incoming_from_file(path) == "completed", dest.stderr()
    assert helper.wait_loaded() == (0, vi.state_sha256(0, 0))


def test_required_ids_match_qemu_id_list(rig):
    bus = rig.bus()
    for i, s in (("a", 1), ("b", 2), ("c", 3)):
        rig.helper(bus, i, size=100 * s, seed=s)
    qemu = rig.qemu(bus, id_list=["a", "c"], name="src")
    path = os.path.join(rig.tmpdir, "stream")
    assert qemu.migrate_to_file(path)[0] == "completed"
    qemu_entries, _ = vi.parse_blob(vi.Stream.from_file(path).blob)

    collector = collector_for(bus)
    collector.set_required_ids(["a", "c"])
    ours = bytes(collector.save_sync(None).get_data())
    assert ours == vi.build_blob(sorted(qemu_entries))

    # an Id that is not on the bus: QEMU fails the migration
    # (test_qemu_collects.py), VmstateCollector the save, naming it
    collector.set_required_ids(["a", "zz"])
    with pytest.raises(GLib.Error) as e:
        collector.save_sync(None)
    assert e.value.matches(Vmstate.error_quark(), Vmstate.Error.MISSING_HELPER), e.value.message
    assert "zz" in e.value.message
