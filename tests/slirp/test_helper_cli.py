#!/usr/bin/python3
# test_helper_cli.py: vmstate-slirp-helper's command line, as libvirt uses it
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import time

import pytest

import slirpnet as sn


def run(*args, **kwargs):
    return subprocess.run([sn.our_helper(), *args], capture_output=True, text=True,
                          timeout=sn.TIMEOUT, **kwargs)


def test_print_capabilities_has_what_libvirt_looks_for():
    done = run("--print-capabilities")
    assert done.returncode == 0
    caps = json.loads(done.stdout)
    assert caps["type"] == "slirp-helper"
    # the names libvirt 9.0 knows, and this helper supports
    assert set(caps["features"]) >= {"dbus-address", "migrate", "exit-with-parent",
                                     "ipv4", "ipv6", "restrict"}
    assert "tftp" not in caps["features"] and "dbus-p2p" not in caps["features"]


@pytest.mark.parametrize("args, message", [
    ([], "--fd is required"),
    (["--fd=0"], "--fd=0: not a datagram socket"),
    (["--fd=FD", "--net=10.0.2.0/33"], "--net=10.0.2.0/33: not an IPv4 network"),
    (["--fd=FD", "--net=10.0.2.0"], "--net=10.0.2.0: not an IPv4 network"),
    (["--fd=FD", "--net=fec0::/64"], "--net=fec0::/64: not an IPv4 network"),
    (["--fd=FD", "--net6=10.0.2.0/24"], "--net6=10.0.2.0/24: not an IPv6 network"),
    (["--fd=FD", "--tftp=/srv"], "Unknown option --tftp"),
])
def test_usage_errors_exit_2(args, message):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    with ours, theirs:
        args = [a.replace("FD", str(theirs.fileno())) for a in args]
        done = run("--dbus-address=unix:path=/nonexistent", *args, pass_fds=(theirs.fileno(),),
                   stdin=subprocess.DEVNULL)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr


def test_net_as_libvirt_passes_it(tmp_path):
    bus = sn.Bus(str(tmp_path))
    try:
        # libvirt passes the <ip> of the interface: address and prefix
        h = sn.Helper(sn.our_helper(), bus, "slirp-net", tmpdir=str(tmp_path),
                      args=["--restrict", "--net=192.168.77.9/24", "--net6=fd00:1:2:3::/64"])
        assert h.dhcp("52:54:00:00:00:07") == "192.168.77.15"
        assert h.stop() == 0            # SIGTERM: exit 0
    finally:
        bus.stop()


def test_exits_1_when_the_bus_goes(tmp_path):
    bus = sn.Bus(str(tmp_path))
    h = sn.Helper(sn.our_helper(), bus, "slirp-bus", tmpdir=str(tmp_path))
    bus.stop()
    assert h.proc.wait(timeout=sn.TIMEOUT) == 1
    h.stop()


# How libvirt 9.0 starts a helper (virCommandDaemonize): a middle process
# calls setsid() and forks the helper, then exits. Here the middle waits
# until the test closes its stdin, so that it exits while the helper is
# on the bus, the order that made 1 libvirt restore in about 30 fail.
SPAWN = """
import os, sys
if sys.argv[1] == "daemonize":
    os.setsid()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
print(pid, flush=True)
sys.stdin.read()
"""


def spawn_then_parent_exits(tmp_path, how):
    """Starts the helper with --exit-with-parent under a middle process,
    waits for it on the bus, ends the middle; returns a pidfd of the
    helper and the bus."""
    bus = sn.Bus(str(tmp_path))
    guest, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(sn.TIMEOUT)
    middle = subprocess.Popen(["/usr/bin/python3", "-c", SPAWN, how, sn.our_helper(),
                               f"--fd={theirs.fileno()}", f"--dbus-address={bus.address}",
                               "--dbus-id=slirp-daemonized", "--exit-with-parent"],
                              pass_fds=(theirs.fileno(),), stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=dict(os.environ, NOTIFY_SOCKET=notify.getsockname()))
    theirs.close()
    helper = os.pidfd_open(int(middle.stdout.readline()))
    assert notify.recv(64).startswith(b"READY=1")
    middle.stdin.close()                  # the middle exits, the helper's parent
    assert middle.wait(timeout=sn.TIMEOUT) == 0
    return helper, bus, guest


def test_exit_with_parent_when_daemonized_like_libvirt(tmp_path):
    helper, bus, guest = spawn_then_parent_exits(tmp_path, "daemonize")
    try:
        # still serving: it answers a guest and its Save
        assert sn.dhcp(guest, "52:54:00:00:00:09") == "10.0.2.15"
        collector = subprocess.run(["/usr/bin/python3", "-c", SAVE, bus.address], capture_output=True,
                                   text=True, timeout=sn.TIMEOUT)
        assert collector.returncode == 0, collector.stderr
    finally:
        pidfd_kill(helper)
        bus.stop()


def test_exit_with_parent_otherwise(tmp_path):
    helper, bus, guest = spawn_then_parent_exits(tmp_path, "fork")
    try:
        ready, _, _ = select.select([helper], [], [], sn.TIMEOUT)
        assert ready, "the helper outlived its parent despite --exit-with-parent"
    finally:
        pidfd_kill(helper)
        bus.stop()


SAVE = """
import sys, gi
gi.require_version("Vmstate", "1.0")
from gi.repository import Vmstate
Vmstate.Collector.new_for_address_sync(sys.argv[1], None).save_sync(None)
"""


def pidfd_kill(pidfd):
    try:
        signal.pidfd_send_signal(pidfd, signal.SIGTERM)
    except ProcessLookupError:
        pass
    select.select([pidfd], [], [], sn.TIMEOUT)
    os.close(pidfd)


def syscalls(pid):
    """How many read and write system calls PID has made."""
    with open(f"/proc/{pid}/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    return int(fields["syscr"]) + int(fields["syscw"])


@pytest.mark.parametrize("incoming", [False, True])
def test_idle_helper_sleeps(tmp_path, incoming):
    # A helper with nothing to do must block in poll(). Its libslirp poll
    # source used to wake the main context up before every poll (a read
    # and a write on GLib's wakeup eventfd each time), so it spun a core
    # and made libvirt and QEMU slower. The window below is what is
    # measured, not a wait for anything: a spinning helper makes
    # thousands of such calls in it even on a busy machine, an idle one
    # none (libslirp's own timeout is at least 1 s when nothing happens,
    # and running it reads nothing).
    bus = sn.Bus(str(tmp_path))
    try:
        h = sn.Helper(sn.our_helper(), bus, "slirp-idle", incoming=incoming, tmpdir=str(tmp_path))
        if not incoming:   # a lease: libslirp has state and timers
            assert h.dhcp("52:54:00:00:00:0a") == "10.0.2.15"
        pidfd = os.pidfd_open(h.proc.pid)
        try:
            before = syscalls(h.proc.pid)
            exited, _, _ = select.select([pidfd], [], [], 0.5)
            assert not exited, "the helper exited while idle"
            calls = syscalls(h.proc.pid) - before
        finally:
            os.close(pidfd)
        assert calls < 10, f"the idle helper made {calls} read/write calls in 0.5 s: it spins"
        assert h.stop() == 0
    finally:
        bus.stop()



GUEST_MAC, GUEST_IP, GUEST_PORT = "52:54:00:00:00:0b", "10.0.2.15", 40000


@contextlib.contextmanager
def tcp_to_the_host(tmp_path):
    """A helper without --restrict, and its guest connected over TCP to
    the host's loopback at 10.0.2.2: libslirp's own socket, which its
    poll source watches in the main loop (the connect completing, then
    data to read). Yields the helper, the host's end and a function
    that sends a segment from the guest."""
    bus = sn.Bus(str(tmp_path))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(sn.TIMEOUT)
    port = listener.getsockname()[1]
    h = None
    try:
        h = sn.Helper(sn.our_helper(), bus, "slirp-tcp", args=[], tmpdir=str(tmp_path))
        assert h.dhcp(GUEST_MAC) == GUEST_IP

        def send(seq, ack, flags, payload=b""):
            h.guest.send(sn.tcp_frame(GUEST_MAC, GUEST_IP, "10.0.2.2", GUEST_PORT, port,
                                      seq, ack, flags, payload))

        send(1000, 0, sn.TCP_SYN)
        conn, _ = listener.accept()
        with conn:
            synack = sn.recv_tcp(h.guest, GUEST_PORT)
            assert synack["flags"] & (sn.TCP_SYN | sn.TCP_ACK) == sn.TCP_SYN | sn.TCP_ACK, synack
            assert (synack["src"], synack["sport"], synack["ack"]) == ("10.0.2.2", port, 1001)
            send(1001, synack["seq"] + 1, sn.TCP_ACK)
            conn.settimeout(sn.TIMEOUT)
            yield h, conn, send
        assert h.stop() == 0
        h = None
    finally:
        if h:
            h.stop()
        listener.close()
        bus.stop()


def test_tcp_to_the_host(tmp_path):
    with tcp_to_the_host(tmp_path) as (h, conn, send):
        conn.sendall(b"from the host")
        data = sn.recv_tcp(h.guest, GUEST_PORT)
        while not data["payload"]:      # a bare ACK may come first
            data = sn.recv_tcp(h.guest, GUEST_PORT)
        assert data["payload"] == b"from the host"


def test_tcp_retransmits_while_the_guest_is_busy(tmp_path):
    # libslirp retransmits from its timers, which only the poll source's
    # timeout runs. Each frame from the guest is a new prepare(): the
    # source used to push the timeout back each time, so a guest that
    # kept sending never saw a retransmission. Here it sends DHCP
    # requests back to back until the retransmission comes (1.5 s).
    with tcp_to_the_host(tmp_path) as (h, conn, send):
        conn.sendall(b"lost")
        first = sn.recv_tcp(h.guest, GUEST_PORT)
        assert first["payload"] == b"lost"      # and not acknowledged
        deadline = time.monotonic() + sn.TIMEOUT
        while True:
            assert time.monotonic() < deadline, "no retransmission while the guest kept sending"
            h.guest.send(sn.dhcp_discover(GUEST_MAC, 7))
            frame = h.guest.recv(65536)         # the guest's timeout: sn.TIMEOUT
            while (sn.parse_dhcp(frame) or {}).get("type") != sn.DHCPOFFER:
                segment = sn.parse_tcp(frame)
                if segment and segment["payload"] == b"lost":
                    assert segment["seq"] == first["seq"]
                    return
                frame = h.guest.recv(65536)
