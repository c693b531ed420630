# test_envelope.py: versioned, checksummed, compressed states from Python
# (issue 13): Vmstate.Envelope, and Vmstate.Service's state-version,
# min-state-version, compress and get_loading_version(), through the
# collector on a private dbus-daemon
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json

import pytest

from gi.repository import GLib, Vmstate

from conftest import exported, load, save

MiB = 1024 * 1024



def assert_error(info, code, *words):
    e = info.value
    assert e.matches(Vmstate.error_quark(), code), (e.code, e.message)
    for w in words:
        assert w in e.message, e.message


# The v1 -> v2 upgrade of doc/evolving.md: v1 was "name=port" lines, v2
# is JSON with a protocol per rule.

class FirewallV1(Vmstate.Service):
    def __init__(self, **kw):
        super().__init__(state_version=1, **kw)
        self.rules = {}

    def do_save(self):
        return "\n".join(f"{k}={v}" for k, v in sorted(self.rules.items())).encode()

    def do_load(self, state):
        self.rules = {k: int(v) for k, v in
                      (line.split("=", 1) for line in bytes(state).decode().splitlines())}


class FirewallV2(Vmstate.Service):
    def __init__(self, **kw):
        super().__init__(state_version=2, min_state_version=1, compress=True, **kw)
        self.rules = {}
        self.loaded_versions = []

    def do_save(self):
        return json.dumps(self.rules, sort_keys=True).encode()

    def do_load(self, state):
        version = self.get_loading_version()
        self.loaded_versions.append(version)
        if version == 1:
            rules = {k: {"port": int(v), "proto": "tcp"} for k, v in
                     (line.split("=", 1) for line in bytes(state).decode().splitlines())}
        else:
            rules = json.loads(bytes(state))
        self.rules = rules


def test_upgrade_v1_to_v2(bus):
    src = exported(bus, FirewallV1(id="fw"))
    src.rules = {"ssh": 22, "web": 443}
    collector = Vmstate.Collector.new(bus.connect())
    blob = save(collector)
    state = Vmstate.Blob.new_from_bytes(blob).get_state("fw")
    envelope = Vmstate.Envelope.new_from_bytes(state)
    assert envelope.props.version == 1
    assert envelope.props.flags == Vmstate.EnvelopeFlags.NONE

    src.unexport()
    dst = exported(bus, FirewallV2(id="fw"))
    assert load(collector, blob) is True
    assert dst.loaded_versions == [1]
    assert dst.rules == {"ssh": {"port": 22, "proto": "tcp"},
                         "web": {"port": 443, "proto": "tcp"}}
    assert dst.get_loading_version() == 0     # only valid during load

    # v2 saves v2, and loads it back
    blob2 = save(collector)
    assert load(collector, blob2) is True
    assert dst.loaded_versions == [1, 2]


def test_newer_state_on_older_helper_fails_through_collector(bus):
    src = exported(bus, FirewallV2(id="fw"))
    src.rules = {"ssh": {"port": 22, "proto": "tcp"}}
    collector = Vmstate.Collector.new(bus.connect())
    blob = save(collector)
    src.unexport()

    dst = exported(bus, FirewallV1(id="fw"))
    with pytest.raises(GLib.Error) as info:
        load(collector, blob)
    assert_error(info, Vmstate.Error.VERSION_TOO_NEW, "'fw'",
                 dst.get_connection().get_unique_name(), "version 2", "state-version 1")
    assert dst.rules == {}


def test_older_than_min_state_version(bus):
    src = exported(bus, FirewallV1(id="fw"))
    collector = Vmstate.Collector.new(bus.connect())
    blob = save(collector)
    src.unexport()
    dst = FirewallV2(id="fw")
    dst.props.min_state_version = 2
    exported(bus, dst)
    with pytest.raises(GLib.Error) as info:
        load(collector, blob)
    assert_error(info, Vmstate.Error.VERSION_TOO_OLD, "'fw'", "version 1", "min-state-version 2")
    assert dst.loaded_versions == []


def test_raw_state_to_enveloped_helper(bus):
    class Raw(Vmstate.Service):
        def do_save(self):
            return b"ssh=22"

    src = exported(bus, Raw(id="fw"))
    collector = Vmstate.Collector.new(bus.connect())
    blob = save(collector)
    assert Vmstate.Blob.new_from_bytes(blob).get_state("fw").get_data() == b"ssh=22"
    src.unexport()

    dst = exported(bus, FirewallV1(id="fw"))
    with pytest.raises(GLib.Error) as info:
        load(collector, blob)
    assert_error(info, Vmstate.Error.NOT_ENVELOPE, "'fw'", "not one")

    # min-state-version 0 takes it, as version 0
    dst.props.min_state_version = 0
    assert load(collector, blob) is True
    assert dst.rules == {"ssh": 22}


def test_codec():
    payload = GLib.Bytes.new(b"conntrack " * 1000)
    data = Vmstate.Envelope.encode(payload, 3, True)
    assert Vmstate.Envelope.is_envelope(data)
    assert data.get_size() < 200
    out, version = Vmstate.Envelope.decode(data, MiB)
    assert version == 3
    assert out.get_data() == payload.get_data()

    e = Vmstate.Envelope.new_from_bytes(data)
    assert e.props.version == 3
    assert e.props.flags == Vmstate.EnvelopeFlags.ZSTD
    assert e.props.payload_size == 10000
    assert e.props.stored_size + Vmstate.ENVELOPE_HEADER_SIZE == data.get_size()
    assert e.get_payload(MiB).get_data() == payload.get_data()

    with pytest.raises(GLib.Error) as info:
        e.get_payload(9999)
    assert_error(info, Vmstate.Error.STATE_TOO_LARGE)

    damaged = bytearray(Vmstate.Envelope.encode(payload, 3, False).get_data())
    damaged[100] ^= 1
    with pytest.raises(GLib.Error) as info:
        Vmstate.Envelope.decode(GLib.Bytes.new(bytes(damaged)), MiB)
    assert_error(info, Vmstate.Error.BAD_CHECKSUM, "bad checksum")

    with pytest.raises(GLib.Error) as info:
        Vmstate.Envelope.decode(GLib.Bytes.new(b"raw"), MiB)
    assert_error(info, Vmstate.Error.NOT_ENVELOPE)

    with pytest.raises(GLib.Error) as info:
        Vmstate.Envelope.decode(GLib.Bytes.new(data.get_data()[:-1]), MiB)
    assert_error(info, Vmstate.Error.INVALID_ENVELOPE, "truncated")


# Typed states: the GVariant pattern of doc/evolving.md

class Typed(Vmstate.Service):
    TYPE = "a{s(qs)}"

    def __init__(self, **kw):
        super().__init__(state_version=1, **kw)
        self.rules = {}

    def do_save(self):
        value = GLib.Variant(self.TYPE, self.rules)
        return GLib.Variant("v", value).get_data_as_bytes()   # the type travels

    def do_load(self, state):
        boxed = GLib.Variant.new_from_bytes(GLib.VariantType("v"), GLib.Bytes(bytes(state)), False)
        value = boxed.get_variant()
        if value.get_type_string() != self.TYPE:
            raise ValueError(f"expected a state of type {self.TYPE}, got {value.get_type_string()}")
        self.rules = value.unpack()


def test_typed_state(bus):
    src = exported(bus, Typed(id="typed"))
    src.rules = {"ssh": (22, "tcp"), "dns": (53, "udp")}
    collector = Vmstate.Collector.new(bus.connect())
    blob = save(collector)
    src.unexport()
    dst = exported(bus, Typed(id="typed"))
    assert load(collector, blob) is True
    assert dst.rules == src.rules

    class Other(Typed):
        TYPE = "as"
    dst.unexport()
    exported(bus, Other(id="typed"))
    with pytest.raises(GLib.Error) as info:
        load(collector, blob)
    assert_error(info, Vmstate.Error.HELPER_FAILED, "expected a state of type as")


def test_properties_defaults():
    s = Vmstate.Service(id="x")
    assert s.props.state_version == 0
    assert s.props.min_state_version == 1
    assert s.props.compress is False
    assert s.props.max_uncompressed_size == 64 * MiB
    assert s.get_loading_version() == 0


def test_guide_quotes_this_file():
    """doc/evolving.md's Python upgrade and GVariant blocks are this code."""
    import os
    import re
    root = os.environ["VMSTATE_SOURCE_ROOT"]
    with open(os.path.join(root, "doc", "evolving.md")) as f:
        blocks = re.findall(r"^```python\n(.*?)^```", f.read(), re.S | re.M)
    with open(__file__) as f:
        here = {line.rstrip() for line in f}
    quoted = [b for b in blocks if "class FirewallV2" in b or "class Typed" in b]
    assert len(quoted) == 2
    missing = [line for b in quoted for line in b.splitlines()
               if line.strip() and line.rstrip() not in here]
    assert missing == []
