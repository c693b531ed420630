# conftest.py: a private dbus-daemon per test, never the machine's buses
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import tempfile

import pytest

import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import Gio, GLib, Vmstate  # noqa: E402

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={dir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class Bus:
    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="vmstate-bus-")
        config = os.path.join(self.tmp.name, "bus.conf")
        with open(config, "w") as f:
            f.write(BUS_CONFIG.format(dir=self.tmp.name))
        self.proc = subprocess.Popen(
            [os.environ.get("DBUS_DAEMON", "dbus-daemon"), "--config-file=" + config,
             "--print-address=1", "--nofork"],
            stdout=subprocess.PIPE, text=True)
        self.address = self.proc.stdout.readline().strip()
        assert self.address.startswith("unix:"), "dbus-daemon did not start"
        self.connections = []

    def connect(self):
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
                 Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        c = Gio.DBusConnection.new_for_address_sync(self.address, flags, None, None)
        self.connections.append(c)
        return c

    def close(self):
        for c in self.connections:
            if not c.is_closed():
                c.close_sync(None)
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.tmp.cleanup()


@pytest.fixture
def bus():
    b = Bus()
    try:
        yield b
    finally:
        b.close()


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
