# test_override.py: the conveniences of the PyGObject override
# (bindings/python/gi/overrides/Vmstate.py), called in-process through
# the C entry points vmstate_service_save() and vmstate_service_load(),
# plus Service.run() in a child process. The D-Bus contract of Python
# helpers is tested in tests/python.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

from conftest import TIMEOUT, source_path  # noqa: E402


def test_override_is_loaded():
    assert Vmstate.Service.__module__ == "gi.overrides.Vmstate"
    assert issubclass(Vmstate.State, bytes)


@pytest.mark.parametrize("value", [
    b"abc", bytearray(b"abc"), memoryview(b"abc"), GLib.Bytes.new(b"abc"),
], ids=["bytes", "bytearray", "memoryview", "GLib.Bytes"])
def test_do_save_may_return_any_bytes_like(value):
    class Saver(Vmstate.Service):
        def do_save(self):
            return value

    state = Saver(id="s").save()
    assert isinstance(state, GLib.Bytes)
    assert state.get_data() == b"abc"


def test_do_save_returning_a_str_is_an_error():
    class Wrong(Vmstate.Service):
        def do_save(self):
            return "abc"

    with pytest.raises(GLib.Error) as info:
        Wrong(id="w").save()
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.HELPER_FAILED)
    assert "Wrong.do_save()" in info.value.message
    assert "TypeError" in info.value.message


def loaded(data):
    """What do_load() of a Service that only records it, and returns
    nothing, is given by Load(data): a list."""
    seen = []

    class Loader(Vmstate.Service):
        def do_load(self, state):
            seen.append(state)

    assert Loader(id="l").load(GLib.Bytes.new(data)) is True
    return seen


def test_do_load_receives_bytes_and_may_simply_end():
    (state,) = loaded(b"1234")
    assert isinstance(state, bytes) and isinstance(state, Vmstate.State)
    assert state == b"1234"
    assert state.get_data() == b"1234" and state.get_size() == 4
    assert int(state) == 1234
    assert state[1:3] == b"23"


def test_do_load_of_an_empty_state():
    assert loaded(b"") == [b""]


def test_an_exception_in_do_load_becomes_a_gerror():
    class Picky(Vmstate.Service):
        def do_load(self, state):
            raise ValueError("version %d is too new" % state[0])

    with pytest.raises(GLib.Error) as info:
        Picky(id="p").load(GLib.Bytes.new(b"\x09"))
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.HELPER_FAILED)
    assert "Picky.do_load()" in info.value.message
    assert "ValueError" in info.value.message
    assert "version 9 is too new" in info.value.message


def test_a_do_load_returning_false_fails():
    """Written for PyGObject without the override, `return False` means
    failure: the override does not turn it into a success."""
    class Refusing(Vmstate.Service):
        def do_load(self, state):
            return False

    with pytest.raises(GLib.Error) as info:
        Refusing(id="r").load(GLib.Bytes.new(b"x"))
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.HELPER_FAILED)
    assert "Refusing.do_load() returned False" in info.value.message


def test_a_gerror_raised_keeps_its_domain_and_code():
    class Picky(Vmstate.Service):
        def do_save(self):
            raise GLib.Error.new_literal(Vmstate.error_quark(), "no", Vmstate.Error.STATE_TOO_LARGE)

    with pytest.raises(GLib.Error) as info:
        Picky(id="p").save()
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.STATE_TOO_LARGE)
    assert info.value.message == "no"


def test_subclass_of_a_subclass():
    class Base(Vmstate.Service):
        def do_save(self):
            return b"base"

        def do_load(self, state):
            self.got = bytes(state)

    class Derived(Base):
        def do_load(self, state):
            super().do_load(state)
            self.got += b"!"

    d = Derived(id="d")
    assert d.save().get_data() == b"base"
    d.load(GLib.Bytes.new(b"x"))
    assert d.got == b"x!"


def test_run_needs_an_address(capfd):
    """run() takes a command line; without --dbus-address it is a usage
    error (2), and an address alone is not a command line."""
    assert Vmstate.Service(id="x").run(["prog"]) == 2
    assert "--dbus-address is required" in capfd.readouterr().err
    with pytest.raises(TypeError):
        Vmstate.Service(id="x").run("unix:path=/nonexistent")


def test_run_serves_until_sigterm(bus):
    """Service.run() (used by examples/python/counter-helper.py) exports the
    helper, serves it, and returns 0 on SIGTERM, leaving the bus."""
    proc = bus.start(["/usr/bin/python3", source_path("examples", "python", "counter-helper.py"),
                      "--dbus-address=" + bus.address, "--count=5"])
    c = Vmstate.Collector.new_for_address_sync(bus.address, None)
    assert [h.get_id() for h in c.list_helpers_sync(None)] == ["counter"]
    assert [h.get_pid() for h in c.list_helpers_sync(None)] == [proc.pid]

    os.kill(proc.pid, signal.SIGTERM)
    assert proc.proc.wait(TIMEOUT) == 0
    assert c.list_helpers_sync(None) == []


def test_run_ends_when_the_bus_goes_away(new_bus):
    bus = new_bus()
    proc = bus.start(["/usr/bin/python3", source_path("examples", "python", "counter-helper.py"),
                      "--dbus-address", bus.address])
    bus.stop()
    assert proc.proc.wait(TIMEOUT) == 1  # the connection closed
