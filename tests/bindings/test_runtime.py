# test_runtime.py: vmstate_service_run(), the helper runtime, as libvirt
# drives it: real helper processes in C, Python, GJS and Vala (the counter
# examples), a real private bus, signals, NOTIFY_SOCKET, a dying parent
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import ctypes
import json
import os
import signal
import socket
import subprocess
import uuid

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import Vmstate  # noqa: E402

from conftest import TIMEOUT, Process, blob_for, collector, source_path  # noqa: E402
from test_examples import HELPERS, helper_argv  # noqa: E402

PYTHON = "/usr/bin/python3"
RUNTIME_HELPER = [PYTHON, source_path("tests", "bindings", "runtime-helper.py")]
NO_BUS = "unix:path=/nonexistent/vmstate-no-bus"


def run(argv, env=None):
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT, env=env)


def ids(bus):
    return sorted(h.get_id() for h in collector(bus).list_helpers_sync(None))


@pytest.mark.parametrize("helper", HELPERS)
def test_print_capabilities_touches_no_bus(helper):
    env = dict(os.environ)
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    env.pop("DBUS_SYSTEM_BUS_ADDRESS", None)
    for extra in ([], ["--dbus-address=" + NO_BUS, "--dbus-id=x"]):
        result = run(helper_argv(helper) + ["--print-capabilities"] + extra, env=env)
        assert result.returncode == 0, result.stderr
        caps = json.loads(result.stdout)
        assert caps["type"] == "vmstate-helper"
        assert {"dbus-address", "migrate", "exit-with-parent", "notify-socket"} <= set(caps["features"])
        assert result.stderr == ""


def test_print_capabilities_has_the_helpers_own():
    result = run(RUNTIME_HELPER + ["--print-capabilities"])
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "type": "test-helper",
        "features": ["dbus-address", "migrate", "exit-with-parent", "notify-socket", "ipv4"]}


@pytest.mark.parametrize("helper", HELPERS)
@pytest.mark.parametrize("args,message", [
    (["--dbus-address=" + NO_BUS, "--no-such-option"], "Unknown option --no-such-option"),
    (["--dbus-id=x"], "--dbus-address is required"),
    (["--dbus-address"], "Missing argument for --dbus-address"),
    (["--dbus-address=" + NO_BUS, "left-over"], 'unexpected argument "left-over"'),
    (["--dbus-address=" + NO_BUS, "--dbus-id="], "invalid Id"),
    (["--dbus-address=" + NO_BUS, "--count=many"], "many"),
])
def test_usage_errors_exit_2(helper, args, message):
    result = run(helper_argv(helper) + args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "--help" in result.stderr


@pytest.mark.parametrize("helper", HELPERS)
def test_a_long_invalid_id_is_cut(helper):
    result = run(helper_argv(helper) + ["--dbus-address=" + NO_BUS, "--dbus-id=" + "x" * 300])
    assert result.returncode == 2, result.stderr
    # cut after 64 characters with "…" (which g_printerr() shows as "?" in the C locale)
    assert 'invalid Id "' + "x" * 64 in result.stderr and "x" * 65 not in result.stderr
    assert "the Id is 300 bytes long (at most 255 are allowed)" in result.stderr


@pytest.mark.parametrize("helper", HELPERS)
def test_bus_unreachable_exits_1(helper):
    result = run(helper_argv(helper) + ["--dbus-address=" + NO_BUS])
    assert result.returncode == 1
    assert "helper 'counter': cannot connect to the bus at " + NO_BUS in result.stderr


@pytest.fixture
def notify_socket(tmp_path, request):
    """A unix datagram socket, as systemd's NOTIFY_SOCKET: a path, or an
    abstract name written with '@'."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "abstract":
        name = "vmstate-test-" + uuid.uuid4().hex
        sock.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify")
        sock.bind(address)
    sock.settimeout(TIMEOUT)
    yield sock, address
    sock.close()


@pytest.mark.parametrize("notify_socket", ["path", "abstract"], indirect=True)
@pytest.mark.parametrize("helper", HELPERS)
def test_dbus_id_notify_and_sigterm(bus, helper, notify_socket):
    sock, address = notify_socket
    env = dict(os.environ, NOTIFY_SOCKET=address)
    # both option forms: --opt=value and --opt value
    a = bus.start(helper_argv(helper) + ["--dbus-address", bus.address, "--dbus-id=from-argv",
                                         "--count", "17"], env=env)
    assert sock.recv(64) == b"READY=1"
    b = bus.start(helper_argv(helper) + ["--dbus-address=" + bus.address], env=env)
    assert sock.recv(64) == b"READY=1"
    assert ids(bus) == ["counter", "from-argv"]
    c = collector(bus, "from-argv")
    assert Vmstate.Blob.new_from_bytes(c.save_sync(None)).get_state("from-argv").get_data() == b"17"

    os.kill(a.pid, signal.SIGTERM)
    assert a.proc.wait(TIMEOUT) == 0
    os.kill(b.pid, signal.SIGINT)
    assert b.proc.wait(TIMEOUT) == 0
    assert ids(bus) == []


@pytest.mark.parametrize("helper", HELPERS)
def test_bus_gone_exits_1(new_bus, helper):
    bus = new_bus()
    proc = bus.start(helper_argv(helper) + ["--dbus-address=" + bus.address])
    bus.stop()
    assert proc.proc.wait(TIMEOUT) == 1
    assert "helper 'counter': the connection to the bus closed" in proc.stderr()


def set_child_subreaper():
    """Orphaned descendants of the test become its children, so that a
    helper whose parent died can be waited for."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


# A parent that starts the helper, says its pid, and waits to be killed.
PARENT = ("import signal, subprocess, sys\n"
          "p = subprocess.Popen(sys.argv[1:])\n"
          "print(p.pid, flush=True)\n"
          "signal.pause()\n")


@pytest.mark.parametrize("helper", HELPERS)
def test_exit_with_parent(bus, helper):
    set_child_subreaper()
    parent = Process([PYTHON, "-c", PARENT] + helper_argv(helper) +
                     ["--dbus-address=" + bus.address, "--exit-with-parent"], name="parent")
    bus.children.append(parent)
    helper_pid = int(parent.read_line())
    assert parent.read_line() == "READY"  # the helper shares the parent's stdout
    assert ids(bus) == ["counter"]

    os.kill(parent.pid, signal.SIGKILL)
    parent.proc.wait(TIMEOUT)
    pid, status = os.waitpid(helper_pid, 0)  # reparented to us: see set_child_subreaper
    assert os.waitstatus_to_exitcode(status) == 0
    assert ids(bus) == []


@pytest.mark.parametrize("helper", HELPERS)
def test_exit_with_parent_keeps_running_while_the_parent_lives(bus, helper):
    proc = bus.start(helper_argv(helper) + ["--dbus-address=" + bus.address, "--exit-with-parent"])
    assert ids(bus) == ["counter"]
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.proc.wait(TIMEOUT) == 0


def test_inherited_fds_stay_open(bus, tmp_path):
    """libvirt keeps a pid-file lock on an fd the helper inherits."""
    r, w = os.pipe()
    proc = Process(RUNTIME_HELPER + ["--dbus-address=" + bus.address], pass_fds=(w,))
    bus.children.append(proc)
    os.close(w)
    proc.expect("READY")
    assert os.path.exists("/proc/%d/fd/%d" % (proc.pid, w))
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.proc.wait(TIMEOUT) == 0
    os.close(r)


def test_not_incoming_by_default(bus):
    proc = bus.start(RUNTIME_HELPER + ["--dbus-address=" + bus.address], ready="READY incoming=False")
    assert proc.alive()


def test_incoming_until_loaded(bus):
    proc = bus.start(RUNTIME_HELPER + ["--dbus-address=" + bus.address, "--dbus-incoming"],
                     ready="INCOMING True")
    proc.expect("READY incoming=True")
    assert collector(bus, "runtime").load_sync(blob_for("runtime", b"migrated"), None)
    proc.expect("LOADED migrated")
    proc.expect("INCOMING False")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.proc.wait(TIMEOUT) == 0
    assert "(--dbus-incoming)" not in proc.stderr()  # info lines are not shown by default


def test_incoming_timeout_is_logged(bus):
    env = dict(os.environ, G_MESSAGES_DEBUG="")
    proc = bus.start(RUNTIME_HELPER + ["--dbus-address=" + bus.address, "--dbus-incoming",
                                       "--incoming-timeout-msec=300"], ready="INCOMING True", env=env)
    proc.expect("READY incoming=True")
    proc.expect("INCOMING False")  # after 300 ms without a Load
    # a Load that comes late is still answered
    assert collector(bus, "runtime").load_sync(blob_for("runtime", b"late"), None)
    proc.expect("LOADED late")
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.proc.wait(TIMEOUT) == 0
    assert ("helper 'runtime': started with --dbus-incoming, but no Load came within 300 ms; "
            "going on without a migrated state") in proc.stderr()


def test_log_lines_name_the_helper(bus):
    """Informational lines (GLib writes them on stdout) name the helper."""
    env = dict(os.environ, G_MESSAGES_DEBUG="Vmstate", NOTIFY_SOCKET="")
    proc = bus.start(RUNTIME_HELPER + ["--dbus-address=" + bus.address, "--dbus-id=logged"],
                     ready=None, env=env)
    assert "helper 'logged': on the bus at " + bus.address in proc.expect("Vmstate-INFO")
    proc.expect("READY")
    os.kill(proc.pid, signal.SIGTERM)
    assert "helper 'logged': SIGTERM received; leaving the bus" in proc.expect("Vmstate-INFO")
    assert "helper 'logged': exiting with status 0" in proc.expect("Vmstate-INFO")
    assert proc.proc.wait(TIMEOUT) == 0
