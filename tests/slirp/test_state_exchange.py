#!/usr/bin/python3
# test_state_exchange.py: vmstate-slirp-helper and Debian's libslirp-helper
# migrate a slirp state to each other, both ways, through VmstateCollector
# on a private bus; and what our helper's Load refuses
#
# The state carries libslirp's DHCP lease table: a helper that loaded a
# state in which 52:54:00:00:00:01 holds 10.0.2.15 offers the next guest
# 10.0.2.16, where a fresh stack would offer 10.0.2.15 again.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import struct

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

import slirpnet as sn  # noqa: E402

ID = "slirp-52:54:00:12:34:56"
FIRST, SECOND = "52:54:00:00:00:01", "52:54:00:00:00:02"


@pytest.fixture
def bus(tmp_path):
    b = sn.Bus(str(tmp_path))
    yield b
    b.stop()


@pytest.fixture
def helpers(tmp_path):
    started = []

    def start(program, bus, **kwargs):
        h = sn.Helper(program, bus, ID, tmpdir=str(tmp_path), **kwargs)
        started.append(h)
        return h
    yield start
    for h in started:
        h.stop()


def collector(bus):
    c = Vmstate.Collector.new_for_address_sync(bus.address, None)
    c.props.required_ids = [ID]   # as libvirt sets QEMU's id-list
    return c


def state_of(blob):
    return bytes(Vmstate.Blob.new_from_bytes(blob).get_state(ID).get_data())


def migrate(tmp_path, source_program, dest_program):
    """Source helper with a lease, saved; destination helper started with
    --dbus-incoming on another bus, loaded. Returns the source's state,
    the destination's state saved again, and what the destination offers
    a second guest."""
    src_bus, dst_bus = sn.Bus(str(tmp_path)), sn.Bus(str(tmp_path))
    src = dst = None
    try:
        src = sn.Helper(source_program, src_bus, ID, tmpdir=str(tmp_path))
        assert src.dhcp(FIRST) == "10.0.2.15"
        blob = collector(src_bus).save_sync(None)
        saved = state_of(blob)

        dst = sn.Helper(dest_program, dst_bus, ID, incoming=True, tmpdir=str(tmp_path))
        dst_collector = collector(dst_bus)
        dst_collector.load_sync(blob, None)
        again = state_of(dst_collector.save_sync(None))
        return saved, again, dst.dhcp(SECOND, xid=0x5678)
    finally:
        for h in (src, dst):
            if h:
                h.stop()
        src_bus.stop()
        dst_bus.stop()


def test_states_are_libslirp_helpers_format(bus, helpers):
    ours = helpers(sn.our_helper(), bus)
    ours.dhcp(FIRST)
    state = state_of(collector(bus).save_sync(None))
    version, = struct.unpack("!I", state[:4])
    assert version == 4                       # libslirp 4.7's slirp_state_version()
    assert sn.mac_bytes(FIRST) in state[4:]   # the lease table


def test_debian_helper_to_ours(tmp_path):
    saved, again, offer = migrate(tmp_path, sn.debian_helper(), sn.our_helper())
    assert again == saved
    assert offer == "10.0.2.16"   # 10.0.2.15 is the first guest's, from the state


def test_ours_to_debian_helper(tmp_path):
    saved, again, offer = migrate(tmp_path, sn.our_helper(), sn.debian_helper())
    assert again == saved
    assert offer == "10.0.2.16"


def test_ours_to_ours(tmp_path):
    saved, again, offer = migrate(tmp_path, sn.our_helper(), sn.our_helper())
    assert again == saved
    assert offer == "10.0.2.16"


def test_fresh_stack_offers_the_first_address(bus, helpers):
    # the control of the tests above: without a loaded state, .15 again
    ours = helpers(sn.our_helper(), bus)
    assert ours.dhcp(SECOND) == "10.0.2.15"


def load_state(bus, state):
    blob = Vmstate.Blob.new()
    blob.add(ID, GLib.Bytes.new(state))
    collector(bus).load_sync(blob.to_bytes(), None)


def test_load_refuses_a_newer_version(bus, helpers):
    ours = helpers(sn.our_helper(), bus, incoming=True)
    with pytest.raises(GLib.Error) as raised:
        load_state(bus, struct.pack("!I", 5) + bytes(131))
    assert "slirp state version 5 is newer than this libslirp 4.7.0 can load (4)" in raised.value.message
    assert ours.proc.poll() is None


@pytest.mark.parametrize("state, message", [
    (b"\0\0\0", "slirp state of 3 bytes: too short for its version"),
    (struct.pack("!I", 4) + b"\x01", "cannot load this slirp state (version 4)"),
])
def test_load_refuses_a_bad_state_and_keeps_its_stack(bus, helpers, state, message):
    ours = helpers(sn.our_helper(), bus)
    assert ours.dhcp(FIRST) == "10.0.2.15"
    before = state_of(collector(bus).save_sync(None))
    with pytest.raises(GLib.Error) as raised:
        load_state(bus, state)
    assert message in raised.value.message
    assert state_of(collector(bus).save_sync(None)) == before
    assert ours.stop() == 0


def test_debian_helper_refuses_our_newer_version_too(bus, helpers):
    # the convention this helper follows, checked on the original
    helpers(sn.debian_helper(), bus, incoming=True)
    with pytest.raises(GLib.Error):
        load_state(bus, struct.pack("!I", 5) + bytes(131))
