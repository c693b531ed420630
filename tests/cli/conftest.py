# Fixtures for the vmstate command-line tool's tests: real processes only
# (the vmstate program itself, the C test helper, dbus-daemon started by
# `vmstate bus`, qemu-system-x86_64), every wait bounded, every process
# stopped by pid.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal
import struct
import subprocess
import sys
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import vmstate_testbus  # noqa: E402
from vmstate_testbus import make_state  # noqa: E402,F401  (the C test helper's state)

BUILD_ROOT = os.environ.get('VMSTATE_BUILD_ROOT', '')
SOURCE_ROOT = os.environ.get('VMSTATE_SOURCE_ROOT',
                             os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VMSTATE = os.environ.get('VMSTATE_CLI') or os.path.join(BUILD_ROOT, 'tools', 'vmstate')
TEST_HELPER = os.path.join(BUILD_ROOT, 'tests', 'helper', 'vmstate-test-helper')
FIXTURE_DIR = os.path.dirname(os.path.abspath(__file__))

TIMEOUT = 30

# Under ASan (meson.build): this process has the ASan runtime preloaded
# for libvmstate, without a leak check; what it starts is checked fully
# and gets no preload.
if 'VMSTATE_CHILD_ASAN_OPTIONS' in os.environ:
    os.environ['ASAN_OPTIONS'] = os.environ.pop('VMSTATE_CHILD_ASAN_OPTIONS')
    os.environ.pop('LD_PRELOAD', None)


def parse_blob(data):
    """An independent reader of QEMU's dbus-vmstate payload: {id: state}."""
    (count,) = struct.unpack_from('>I', data, 0)
    pos = 4
    entries = {}
    for _ in range(count):
        (id_len,) = struct.unpack_from('>I', data, pos)
        pos += 4
        ident = data[pos:pos + id_len].decode()
        pos += id_len
        (data_len,) = struct.unpack_from('>I', data, pos)
        pos += 4
        entries[ident] = data[pos:pos + data_len]
        assert len(entries[ident]) == data_len
        pos += data_len
    assert all(b == 0 for b in data[pos:])
    return entries


def make_blob(entries):
    out = struct.pack('>I', len(entries))
    for ident, state in entries.items():
        raw = ident.encode()
        out += struct.pack('>I', len(raw)) + raw + struct.pack('>I', len(state)) + state
    return out


def run(*args, timeout=TIMEOUT, **kwargs):
    """Runs vmstate ARGS; returns the CompletedProcess (text)."""
    return subprocess.run([VMSTATE, *args], capture_output=True, text=True,
                          timeout=timeout, **kwargs)


class Process(vmstate_testbus.Process):
    """A child process whose stdout is read line by line with a deadline."""

    def wait_line(self, prefix, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            line = self.read_line(max(0.01, deadline - time.monotonic()))
            if line.startswith(prefix):
                return line

    def signal(self, signum):
        if self.proc.poll() is None:
            self.proc.send_signal(signum)

    def wait(self, timeout=TIMEOUT):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        """Stops the process by pid: closes stdin, SIGTERM, then SIGKILL."""
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            try:
                self.proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=10)
        for f in (self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()


class Bus:
    """A private bus run by `vmstate bus --dir DIR`."""

    def __init__(self, processes, directory):
        self.dir = str(directory)
        self.process = processes.start([VMSTATE, 'bus', '--dir', self.dir])
        self.address = self.process.read_line()
        assert self.address.startswith('unix:path='), self.address


class Processes:
    def __init__(self):
        self.all = []

    def start(self, argv, **kwargs):
        p = Process(argv, **kwargs)
        self.all.append(p)
        return p

    def serve(self, bus, ident, state_file, *extra):
        p = self.start([VMSTATE, 'serve', '--address', bus.address, '--id', ident,
                        '--state-file', str(state_file), *extra])
        ready = p.wait_line('READY ')
        p.unique_name = ready.split()[1]
        return p

    def helper(self, bus, ident, size=16, seed=1, *extra):
        """The C test helper; it exits when its stdin closes."""
        p = self.start([TEST_HELPER, '--address', bus.address, '--id', ident,
                        '--state-size', str(size), '--state-seed', str(seed), *extra],
                       stdin=subprocess.PIPE)
        ready = p.wait_line('READY ')
        p.unique_name = ready.split()[1]
        return p

    def stop_all(self):
        # helpers before the bus they are on
        for p in reversed(self.all):
            p.stop()


@pytest.fixture
def processes():
    procs = Processes()
    try:
        yield procs
    finally:
        procs.stop_all()


@pytest.fixture
def bus(processes, tmp_path):
    return Bus(processes, tmp_path / 'bus')
