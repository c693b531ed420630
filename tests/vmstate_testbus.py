# vmstate_testbus.py: the one way the Python test suites get a message bus
#
# PrivateBus starts a dbus-daemon of its own (DBUS_DAEMON, which meson
# sets, or dbus-daemon from PATH) on a unix socket in a fresh directory,
# never the machine's session or system bus, and stops it by its pid.
# The default config lets this user do anything on the bus, like
# Gio.TestDBus's; a test that needs another bus says so:
#
#   PrivateBus(tmpdir)                            # the default
#   PrivateBus(policy=ANY_USER)                   # every uid may connect
#   PrivateBus(limits={"max_message_size": 40 << 20})
#   PrivateBus(config=text)                       # a whole config; {listen}
#                                                 # is the <listen> address
#
# Also here: Process, a child process whose stdout lines are read with
# a deadline, and make_state(), the C test helper's state pattern.
#
# The suites import it through a sys.path line in their conftest.py (the
# directory of this file), so pytest run by hand finds it too.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time

TIMEOUT = 30  # seconds, for any single wait

ALLOW_ALL = """<allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>"""

# dbus-daemon lets only its own uid connect unless the policy says more
ANY_USER = '<allow user="*"/>\n    ' + ALLOW_ALL

CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>{listen}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    {policy}
  </policy>
{limits}</busconfig>
"""


def terminate(proc, timeout=TIMEOUT):
    """Stops a subprocess.Popen by its pid: SIGTERM, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)
    except ProcessLookupError:
        pass


def wait_ready(notify, proc, what, timeout=TIMEOUT):
    """Waits for READY=1 on the datagram socket NOTIFY (a NOTIFY_SOCKET),
    failing at once if PROC exits first."""
    pidfd = os.pidfd_open(proc.pid)
    try:
        ready, _, _ = select.select([notify, pidfd], [], [], timeout)
    finally:
        os.close(pidfd)
    assert notify in ready, f"{what}: exited ({proc.poll()}) or no READY=1 within {timeout} s"
    assert notify.recv(64).startswith(b"READY=1")


def make_state(size, seed):
    """The deterministic state of the C test helper (make_state in
    tests/helper/vmstate-test-helper.c)."""
    out = bytearray(size)
    x = (2166136261 ^ (seed & 0xFFFFFFFF)) & 0xFFFFFFFF
    for i in range(size):
        x = (x * 16777619 + 1) & 0xFFFFFFFF
        out[i] = x >> 24
    return bytes(out)


class Process:
    """A child process whose stdout is read line by line, every wait
    bounded; the suites add how they stop it."""

    def __init__(self, argv, stdin=subprocess.DEVNULL, name=None, **popen_args):
        self.argv = argv
        self.name = name or os.path.basename(argv[0])
        self.proc = subprocess.Popen(argv, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, **popen_args)
        self.pid = self.proc.pid
        self._buf = b""
        self.lines = []

    def read_line(self, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("%s printed no line within %s s (so far: %r)"
                                   % (self.name, timeout, self._buf))
            chunk = os.read(fd, 65536)
            if not chunk:
                raise EOFError("%s closed its stdout (exit %s); stderr: %s"
                               % (self.name, self.proc.wait(timeout), self.stderr_text()))
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        text = line.decode()
        self.lines.append(text)
        return text

    def stderr_text(self):
        """All it wrote on stderr, once it has exited."""
        if self.proc.poll() is None:
            return "(still running)"
        return self.proc.stderr.read().decode(errors="replace")

    def alive(self):
        return self.proc.poll() is None


def make_config(listen, policy=ALLOW_ALL, limits=None):
    lines = "".join('  <limit name="%s">%d</limit>\n' % item for item in (limits or {}).items())
    return CONFIG.format(listen=listen, policy=policy, limits=lines)


class PrivateBus:
    """A private dbus-daemon: .address, .dir, .pid, connect(), stop()."""

    def __init__(self, tmpdir=None, policy=ALLOW_ALL, limits=None, config=None):
        self._remove_dir = tmpdir is None
        self.dir = tempfile.mkdtemp(prefix="bus-", dir=tmpdir)
        self.connections = []
        listen = "unix:dir=" + self.dir
        text = config.format(listen=listen) if config else make_config(listen, policy, limits)
        self.config = os.path.join(self.dir, "bus.conf")
        with open(self.config, "w") as f:
            f.write(text)
        daemon = os.environ.get("DBUS_DAEMON", "dbus-daemon")
        self.proc = subprocess.Popen([daemon, "--config-file=" + self.config, "--print-address=1",
                                      "--nofork", "--nopidfile"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        try:
            self.address = self._read_address()
        except BaseException:
            self.stop()
            raise

    def _read_address(self):
        deadline = time.monotonic() + TIMEOUT
        fd = self.proc.stdout.fileno()
        out = b""
        while b"\n" not in out:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError("dbus-daemon printed no address in %ss" % TIMEOUT)
            chunk = os.read(fd, 4096)
            if not chunk:
                raise EOFError("dbus-daemon exited (%s) without an address" % self.proc.wait(TIMEOUT))
            out += chunk
        address = out.split(b"\n", 1)[0].decode()
        assert address.startswith("unix:"), "dbus-daemon printed %r" % address
        return address

    def connect(self):
        """A new GDBus connection to this bus, closed by stop()."""
        from gi.repository import Gio
        flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
                 Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
        c = Gio.DBusConnection.new_for_address_sync(self.address, flags, None, None)
        self.connections.append(c)
        return c

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """Closes our connections and stops the daemon by pid (SIGTERM, then
        SIGKILL); again is a no-op."""
        for c in self.connections:
            if not c.is_closed():
                c.close_sync(None)
        self.connections = []
        terminate(self.proc)
        self.proc.stdout.close()
        if self._remove_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    close = stop

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
