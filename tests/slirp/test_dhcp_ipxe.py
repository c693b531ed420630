#!/usr/bin/python3
# test_dhcp_ipxe.py: a real guest gets a lease from vmstate-slirp-helper
#
# QEMU 7.2 (TCG, no disk) boots from the network: SeaBIOS runs the iPXE
# ROM of the virtio NIC (Debian's ipxe-qemu), which sends DHCP. QEMU's
# -netdev socket has one end of a datagram socket pair, as under libvirt;
# the test relays each frame between it and the helper's --fd and reads the
# DHCP messages on the way. The helper runs with --restrict: nothing the
# guest sends leaves the helper.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import select
import shutil
import socket
import subprocess
import time

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import Vmstate  # noqa: E402

import slirpnet as sn  # noqa: E402

MAC = "52:54:00:12:34:56"
ID = "slirp-" + MAC
BOOT_TIMEOUT = 120.0   # SeaBIOS and iPXE under TCG: about 2-5 s here


def qemu():
    path = shutil.which(os.environ.get("QEMU", "qemu-system-x86_64"))
    assert path, "qemu-system-x86_64 is missing: apt install qemu-system-x86 ipxe-qemu (./run does)"
    return path


@pytest.fixture
def bus(tmp_path):
    b = sn.Bus(str(tmp_path))
    yield b
    b.stop()


def relay_until_ack(guest, helper, proc, deadline):
    """Relays frames between QEMU (guest) and the helper until the helper
    ACKs a lease to MAC; returns the DHCP messages seen, in order."""
    seen = []
    pidfd = os.pidfd_open(proc.pid)
    try:
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no DHCPACK within {BOOT_TIMEOUT} s; DHCP seen: {seen}"
            ready, _, _ = select.select([guest, helper, pidfd], [], [], left)
            assert pidfd not in ready, f"QEMU exited ({proc.wait()}); DHCP seen: {seen}"
            for src, dst in ((guest, helper), (helper, guest)):
                if src in ready:
                    frame = src.recv(65536)
                    dst.send(frame)
                    msg = sn.parse_dhcp(frame)
                    if msg:
                        seen.append(msg)
                        if msg["direction"] == "server" and msg["type"] == sn.DHCPACK:
                            return seen
    finally:
        os.close(pidfd)


def test_ipxe_gets_a_lease(bus, tmp_path):
    helper = sn.Helper(sn.our_helper(), bus, ID, tmpdir=str(tmp_path), args=["--restrict"])
    guest, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    proc = subprocess.Popen([qemu(), "-machine", "pc,accel=tcg", "-nodefaults", "-no-user-config",
                             "-display", "none", "-m", "64", "-boot", "order=n",
                             "-netdev", f"socket,id=n0,fd={theirs.fileno()}",
                             "-device", f"virtio-net-pci,netdev=n0,mac={MAC}"],
                            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL)
    theirs.close()
    try:
        seen = relay_until_ack(guest, helper.guest, proc, time.monotonic() + BOOT_TIMEOUT)
        state = Vmstate.Collector.new_for_address_sync(bus.address, None).save_sync(None)
    finally:
        proc.kill()
        proc.wait(timeout=sn.TIMEOUT)
        guest.close()
        status = helper.stop()

    steps = [(m["direction"], sn.DHCP_NAMES.get(m["type"])) for m in seen]
    assert ("client", "DISCOVER") in steps
    offer = next(m for m in seen if m["direction"] == "server" and m["type"] == sn.DHCPOFFER)
    assert offer["chaddr"] == MAC and offer["yiaddr"] == "10.0.2.15"
    assert steps[-2:] == [("client", "REQUEST"), ("server", "ACK")]
    assert seen[-1]["yiaddr"] == "10.0.2.15"
    # the lease is in the helper's state, which migrates with the VM
    lease = bytes(Vmstate.Blob.new_from_bytes(state).get_state(ID).get_data())
    assert sn.mac_bytes(MAC) in lease
    assert status == 0
