# conftest.py: a private dbus-daemon per test, never the machine's buses
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys

import pytest

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vmstate_testbus import PrivateBus  # noqa: E402


@pytest.fixture
def bus():
    with PrivateBus() as b:
        yield b


class Helper:
    """The C test helper as a real process on the test's bus."""

    def __init__(self, bus, *args):
        exe = os.path.join(os.environ["VMSTATE_BUILD_ROOT"], "tests", "helper", "vmstate-test-helper")
        self.proc = subprocess.Popen([exe, "--address", bus.address, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        words = self.proc.stdout.readline().split()
        assert words and words[0] == "READY", "helper did not start"
        self.unique_name = words[1]
        self.pid = int(words[2])

    def readline(self):
        return self.proc.stdout.readline().strip()

    def stop(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def spawn_helper(bus):
    helpers = []

    def spawn(*args):
        h = Helper(bus, *args)
        helpers.append(h)
        return h
    try:
        yield spawn
    finally:
        for h in helpers:
            h.stop()


def run_async(start, finish, timeout_s=30):
    """Runs an async call on the default main context (where in-process
    services are dispatched) and returns finish()'s result."""
    loop = GLib.MainLoop()
    box = {}

    def done(source, result):
        try:
            box["value"] = finish(result)
        except GLib.Error as e:
            box["error"] = e
        loop.quit()

    def expire():
        box["timeout"] = True
        loop.quit()
        return False
    tid = GLib.timeout_add_seconds(timeout_s, expire)
    start(done)
    loop.run()
    GLib.source_remove(tid) if "timeout" not in box else None
    assert "timeout" not in box, "async call did not finish"
    if "error" in box:
        raise box["error"]
    return box["value"]


def save(collector):
    """A collector's save, run on the default main context."""
    return run_async(lambda cb: collector.save_async(None, cb), collector.save_finish)


def load(collector, blob):
    """A collector's load, run on the default main context."""
    return run_async(lambda cb: collector.load_async(blob, None, cb), collector.load_finish)


def exported(bus, service):
    """SERVICE, exported on a new connection to BUS."""
    service.export(bus.connect())
    return service
