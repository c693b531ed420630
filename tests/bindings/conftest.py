# conftest.py: private buses and helper processes for the binding tests
#
# Every test gets its own dbus-daemon, started from a minimal config and
# stopped by pid; every process a test starts is stopped by pid too. Every
# wait is bounded.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import re
import subprocess
import sys

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import vmstate_testbus  # noqa: E402
from vmstate_testbus import PrivateBus, terminate  # noqa: E402

TIMEOUT = 30  # seconds, for any single wait

SOURCE_ROOT = os.environ.get("VMSTATE_SOURCE_ROOT",
                             os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_ROOT = os.environ.get("VMSTATE_BUILD_ROOT", "")


class Process(vmstate_testbus.Process):
    """A child process whose stdout is read line by line with a timeout."""

    def expect(self, prefix, timeout=TIMEOUT):
        line = self.read_line(timeout)
        assert line.startswith(prefix), "%s printed %r, expected %r" % (self.name, line, prefix)
        return line

    def stderr(self):
        return self.stderr_text()

    def stop(self):
        terminate(self.proc)
        for f in (self.proc.stdout, self.proc.stderr):
            f.close()
        return self.proc.returncode


class Bus(PrivateBus):
    """A private dbus-daemon (vmstate_testbus); helpers and collectors run
    against it, and close() stops them before it."""

    def __init__(self, tmpdir):
        super().__init__(tmpdir)
        self.children = []

    def start(self, argv, ready="READY", env=None):
        """Start a process, wait for it to print `ready`, return it."""
        proc = Process(argv, env=env)
        self.children.append(proc)
        if ready is not None:
            proc.expect(ready)
        return proc

    def run(self, argv, env=None, check=True):
        """Run a process to its end (bounded) and return the CompletedProcess."""
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=TIMEOUT, env=env)
        if check:
            assert result.returncode == 0, "%s failed (%d): %s" % (argv, result.returncode, result.stderr)
        return result

    def close(self):
        for proc in reversed(self.children):
            proc.stop()
        self.stop()


@pytest.fixture
def new_bus(tmp_path):
    buses = []

    def make():
        bus = Bus(str(tmp_path))
        buses.append(bus)
        return bus
    try:
        yield make
    finally:
        for bus in buses:
            bus.close()


@pytest.fixture
def bus(new_bus):
    return new_bus()


def build_path(*parts):
    if not BUILD_ROOT:
        pytest.fail("VMSTATE_BUILD_ROOT is not set: run the tests through meson test")
    return os.path.join(BUILD_ROOT, *parts)


def source_path(*parts):
    return os.path.join(SOURCE_ROOT, *parts)


# Driving helper processes with a collector in the test's process

def collector(bus, *required_ids):
    c = Vmstate.Collector.new_for_address_sync(bus.address, None)
    c.set_timeout_msec(10000)
    c.set_required_ids(list(required_ids))
    return c


def blob_for(helper_id, data):
    blob = Vmstate.Blob.new()
    blob.add(helper_id, GLib.Bytes.new(data))
    return blob.to_bytes()


def saved(c, helper_id):
    """Saves every helper and returns the state of `helper_id`."""
    return Vmstate.Blob.new_from_bytes(c.save_sync(None)).get_state(helper_id).get_data()


def check_kept_without_reference(bus, proc, helper_id):
    """`proc` exported a service `helper_id` whose state is
    b"kept by <id>" and kept no reference to it; it runs a GC and prints
    COLLECTED after every answer. The service must answer Save and Load
    with its state across those collections."""
    c = collector(bus, helper_id)
    assert saved(c, helper_id) == b"kept by " + helper_id.encode()
    proc.expect("COLLECTED")

    assert c.load_sync(blob_for(helper_id, b"restored"), None)
    proc.expect("COLLECTED")
    assert saved(c, helper_id) == b"restored"
    proc.expect("COLLECTED")
    assert proc.alive()


def check_failed_without_error(c, error, helper_id):
    """The error a collector got from a helper whose load returned FALSE
    without setting an error: it names the helper and says so."""
    assert error.matches(Vmstate.error_quark(), Vmstate.Error.HELPER_FAILED)
    assert "'%s'" % helper_id in error.message
    assert "failed without setting an error" in error.message
    (helper,) = c.list_helpers_sync(None)
    assert helper.get_unique_name() in error.message


# The snippets of the error domain's reference page (the VmstateError doc
# comment in libvmstate/vmstate-error.h), run by the tests of each language

def doc_comment_code(source, start, language):
    """The first ```LANGUAGE block of the doc comment that begins at the
    first @start in libvmstate/@source, without its ` * ` prefixes."""
    with open(source_path("libvmstate", source)) as f:
        text = f.read()
    begin = text.index(start)
    comment = text[begin:text.index("*/", begin)]
    match = re.search(r"^ \* ```%s\n(.*?)^ \* ```" % language, comment, re.S | re.M)
    assert match, "no %s code in the doc comment %r of %s" % (language, start, source)
    return re.sub(r"^ \*( |$)", "", match.group(1), flags=re.M)


def error_page_snippet(language):
    """The ```LANGUAGE block of the VmstateError doc comment, `...` left
    for the caller to replace."""
    return doc_comment_code("vmstate-error.h", " * VmstateError:", language)


def documented_error_names():
    """{code name: D-Bus error name} as the VmstateError doc comment says."""
    with open(source_path("libvmstate", "vmstate-error.h")) as f:
        text = f.read()
    names = {}
    for member, doc in re.findall(r"^ \* @VMSTATE_ERROR_([A-Z_]+):(.*?)(?=^ \* @|^ \*$)", text, re.S | re.M):
        match = re.search(r"On\s+(?:\*\s+)?D-Bus:\s+(?:\*\s+)?`([^`]+)`", doc)
        assert match, "VMSTATE_ERROR_%s does not give its D-Bus name" % member
        names[member] = match.group(1)
    return names
