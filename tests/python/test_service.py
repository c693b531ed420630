# test_service.py: the Python side of the core contract, through
# PyGObject from the build tree, on a private dbus-daemon
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib

import pytest

from gi.repository import GLib, Vmstate

from conftest import exported, load, run_async, save


class KeyValue(Vmstate.Service):
    """What a helper author writes: no explicit return in do_load."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.table = {}

    def do_save(self):
        return "\n".join("%s=%s" % kv for kv in sorted(self.table.items())).encode()

    def do_load(self, state):
        self.table = dict(line.split("=", 1) for line in state.decode().splitlines())


class Failing(Vmstate.Service):
    def __init__(self, error, **kwargs):
        super().__init__(**kwargs)
        self.error = error
        self.calls = 0

    def do_save(self):
        self.calls += 1
        raise self.error

    def do_load(self, state):
        self.calls += 1
        raise self.error



def test_python_helper_roundtrip(bus):
    src = exported(bus, KeyValue(id="kv"))
    src.table = {"a": "1", "port": "8080"}
    collector = Vmstate.Collector.new(bus.connect())

    blob = save(collector)
    assert isinstance(blob, GLib.Bytes)
    parsed = Vmstate.Blob.new_from_bytes(blob)
    assert parsed.get_ids() == ["kv"]
    assert parsed.get_state("kv").get_data() == b"a=1\nport=8080"

    src.unexport()
    dst = exported(bus, KeyValue(id="kv"))
    loaded = []
    dst.connect("loaded", lambda s: loaded.append(True))
    assert load(collector, blob) is True
    assert dst.table == {"a": "1", "port": "8080"}
    assert loaded == [True]


def test_empty_state_is_legal(bus):
    exported(bus, KeyValue(id="empty"))  # the export keeps it alive
    collector = Vmstate.Collector.new(bus.connect())
    blob = save(collector)
    assert Vmstate.Blob.new_from_bytes(blob).get_state("empty").get_size() == 0
    assert load(collector, blob) is True


def test_glib_error_reaches_collector(bus):
    err = GLib.Error.new_literal(Vmstate.error_quark(), "table locked", Vmstate.Error.HELPER_FAILED)
    svc = exported(bus, Failing(err, id="locked"))
    collector = Vmstate.Collector.new(bus.connect())
    with pytest.raises(GLib.Error) as info:
        save(collector)
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.HELPER_FAILED)
    assert "table locked" in info.value.message
    assert "'locked'" in info.value.message
    assert svc.get_connection().get_unique_name() in info.value.message


@pytest.mark.parametrize("method", ["save", "load"])
def test_plain_exception_is_an_error_reply(bus, method):
    svc = exported(bus, Failing(ZeroDivisionError("division by zero"), id="buggy"))
    collector = Vmstate.Collector.new(bus.connect())
    with pytest.raises(GLib.Error) as info:
        if method == "save":
            save(collector)
        else:
            blob = Vmstate.Blob.new()
            blob.add("buggy", GLib.Bytes.new(b"x"))
            load(collector, blob.to_bytes())
    assert "ZeroDivisionError" in info.value.message
    assert "'buggy'" in info.value.message
    assert svc.calls == 1
    # the helper is still alive and answering
    with pytest.raises(GLib.Error):
        save(collector)
    assert svc.calls == 2


def test_state_too_large_is_refused(bus):
    class Big(Vmstate.Service):
        def do_save(self):
            return b"\0" * (1024 * 1024 + 1)
    exported(bus, Big(id="big"))
    collector = Vmstate.Collector.new(bus.connect())
    collector.props.max_state_size = 4 * 1024 * 1024
    with pytest.raises(GLib.Error) as info:
        save(collector)
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.STATE_TOO_LARGE)


def test_sync_api_with_helper_processes(bus, spawn_helper):
    a = spawn_helper("--id", "a", "--state-size", "4097", "--state-seed", "1")
    b = spawn_helper("--id", "b", "--state-size", "10", "--state-seed", "2")
    collector = Vmstate.Collector.new_for_address_sync(bus.address, None)

    helpers = collector.list_helpers_sync(None)
    assert [(h.get_id(), h.get_unique_name(), h.get_pid()) for h in helpers] == \
        [("a", a.unique_name, a.pid), ("b", b.unique_name, b.pid)]

    blob = collector.save_sync(None)
    assert isinstance(blob, GLib.Bytes)
    assert collector.load_sync(blob, None) is True
    parsed = Vmstate.Blob.new_from_bytes(blob)
    for helper, name in ((a, "a"), (b, "b")):
        state = parsed.get_state(name).get_data()
        assert helper.readline() == "LOADED %d %s" % (len(state), hashlib.sha256(state).hexdigest())

    collector.props.required_ids = ["a", "zz"]
    with pytest.raises(GLib.Error) as info:
        collector.save_sync(None)
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.MISSING_HELPER)
    assert "'zz'" in info.value.message


def test_invalid_id_refused_at_export(bus):
    svc = KeyValue(id="")
    with pytest.raises(GLib.Error) as info:
        svc.export(bus.connect())
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.INVALID_ID)


def test_export_async(bus):
    """export_async answers once the bus queued the name: a collector
    then finds the helper."""
    svc = KeyValue(id="async")
    svc.table = {"k": "v"}
    connection = bus.connect()
    assert run_async(lambda cb: svc.export_async(connection, None, cb), svc.export_finish) is True
    assert svc.get_connection() is connection

    collector = Vmstate.Collector.new(bus.connect())
    helpers = run_async(lambda cb: collector.list_helpers_async(None, cb), collector.list_helpers_finish)
    assert [h.get_id() for h in helpers] == ["async"]
    assert helpers[0].get_unique_name() == connection.get_unique_name()
    assert Vmstate.Blob.new_from_bytes(save(collector)).get_state("async").get_data() == b"k=v"
    svc.unexport()


@pytest.mark.parametrize('ident, why', [('', 'empty'), ('x' * 256, '256 bytes long')])
def test_id_is_valid_says_what_is_wrong(ident, why):
    assert Vmstate.id_is_valid('x' * 255)
    assert Vmstate.id_is_valid('é' * 127 + 'x')
    with pytest.raises(GLib.Error) as e:
        Vmstate.id_is_valid(ident)
    assert e.value.matches(Vmstate.Error.quark(), Vmstate.Error.INVALID_ID)
    assert why in e.value.message
