#!/usr/bin/python3
# slirpnet.py: slirp helpers on a private bus, and the Ethernet frames a
# guest exchanges with them, for the tests of vmstate-slirp-helper
#
# A helper gets one end of an AF_UNIX SOCK_DGRAM socket pair (--fd, as
# libvirt does); the test is the guest on the other end, or relays it to
# QEMU. Every wait is bounded and waits for something a process does
# (READY=1 on NOTIFY_SOCKET, a frame, its exit).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vmstate_testbus import PrivateBus as Bus, wait_ready  # noqa: E402,F401  (a private dbus-daemon)

TIMEOUT = 30.0


def our_helper():
    path = os.environ.get("VMSTATE_SLIRP_HELPER", "")
    assert os.access(path, os.X_OK), "VMSTATE_SLIRP_HELPER not set or missing: run under meson test"
    return path


def debian_helper():
    path = os.environ.get("LIBSLIRP_HELPER", "/usr/bin/libslirp-helper")
    assert os.access(path, os.X_OK), f"{path} is missing: apt install libslirp-helper (./run does)"
    return path


class Helper:
    """A slirp helper process on BUS with the Id ID; self.guest is the
    test's end of its frame socket."""

    def __init__(self, program, bus, id, incoming=False, args=("--restrict",), tmpdir=None):
        self.id = id
        self.guest, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.notify_dir = tempfile.mkdtemp(prefix="notify-", dir=tmpdir)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(os.path.join(self.notify_dir, "sock"))
        notify.settimeout(TIMEOUT)
        argv = [program, f"--fd={theirs.fileno()}", f"--dbus-address={bus.address}",
                f"--dbus-id={id}"] + list(args)
        if incoming:
            argv.append("--dbus-incoming")
        env = dict(os.environ, NOTIFY_SOCKET=notify.getsockname())
        self.proc = subprocess.Popen(argv, pass_fds=(theirs.fileno(),), env=env,
                                     stdin=subprocess.DEVNULL)
        theirs.close()
        try:
            # both helpers send READY=1 once they are queued on the bus
            wait_ready(notify, self.proc, argv[0], TIMEOUT)
        except BaseException:
            self.stop()
            raise
        finally:
            notify.close()

    def stop(self):
        """SIGTERM, then the exit status (a negative signal number if it
        had no handler)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=TIMEOUT)
        self.guest.close()
        return self.proc.returncode

    def dhcp(self, mac, xid=0x1234):
        return dhcp(self.guest, mac, xid)


def dhcp(guest, mac, xid=0x1234):
    """Sends a DHCPDISCOVER from MAC on GUEST (the test's end of a helper's
    frame socket) and returns the offered address."""
    guest.send(dhcp_discover(mac, xid))
    guest.settimeout(TIMEOUT)
    while True:
        offer = parse_dhcp(guest.recv(65536))
        if offer and offer["xid"] == xid and offer["type"] == DHCPOFFER:
            return offer["yiaddr"]


# --- frames ------------------------------------------------------------------

DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPACK = 1, 2, 3, 5
DHCP_NAMES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
              7: "RELEASE", 8: "INFORM"}
MAGIC = b"\x63\x82\x53\x63"


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def _checksum(header):
    total = sum(struct.unpack(f"!{len(header) // 2}H", header))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def dhcp_discover(mac, xid):
    """A broadcast DHCPDISCOVER frame from MAC (UDP checksum 0: none)."""
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, xid, 0, 0x8000,
                        bytes(4), bytes(4), bytes(4), bytes(4), mac_bytes(mac), b"", b"")
    bootp += MAGIC + bytes([53, 1, DHCPDISCOVER, 255])
    bootp += bytes(max(0, 300 - len(bootp)))
    udp = struct.pack("!HHHH", 68, 67, 8 + len(bootp), 0) + bootp
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                     bytes(4), b"\xff" * 4)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    return b"\xff" * 6 + mac_bytes(mac) + b"\x08\x00" + ip + udp


def parse_dhcp(frame):
    """A DHCP message in an Ethernet frame, as a dict (type, xid, chaddr,
    yiaddr, direction 'server' or 'client'), or None."""
    if len(frame) < 14 + 20 + 8 + 240 or frame[12:14] != b"\x08\x00":
        return None
    ihl = (frame[14] & 0x0F) * 4
    if frame[14 + 9] != 17:
        return None
    sport, dport = struct.unpack("!HH", frame[14 + ihl:14 + ihl + 4])
    if (sport, dport) not in ((67, 68), (68, 67)):
        return None
    bootp = frame[14 + ihl + 8:]
    if bootp[236:240] != MAGIC:
        return None
    options, i, kind = bootp[240:], 0, None
    while i < len(options) and options[i] != 255:
        if options[i] == 0:
            i += 1
            continue
        if options[i] == 53:
            kind = options[i + 2]
        i += 2 + options[i + 1]
    return {"type": kind, "xid": struct.unpack("!I", bootp[4:8])[0],
            "yiaddr": socket.inet_ntoa(bootp[16:20]),
            "chaddr": ":".join(f"{b:02x}" for b in bootp[28:34]),
            "direction": "server" if sport == 67 else "client"}


# --- TCP ------------------------------------------------------------------------

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def tcp_frame(mac, src, dst, sport, dport, seq, ack, flags, payload=b""):
    """An Ethernet frame from MAC holding a TCP segment SRC:SPORT ->
    DST:DPORT (IPv4 addresses as strings)."""
    saddr, daddr = socket.inet_aton(src), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    pseudo = saddr + daddr + struct.pack("!BBH", 0, 6, len(tcp))
    padded = pseudo + tcp + bytes(len(tcp) % 2)
    tcp = tcp[:16] + struct.pack("!H", _checksum(padded)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0, 64, 6, 0, saddr, daddr)
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    # the helper answers for every address but the guest's: any MAC will do
    return b"\x52\x55\x0a\x00\x02\x02" + mac_bytes(mac) + b"\x08\x00" + ip + tcp


def parse_tcp(frame):
    """A TCP segment in an Ethernet frame, as a dict (src, dst, sport,
    dport, seq, ack, flags, payload), or None."""
    if len(frame) < 14 + 20 + 20 or frame[12:14] != b"\x08\x00" or frame[14 + 9] != 6:
        return None
    ihl = (frame[14] & 0x0F) * 4
    total = struct.unpack("!H", frame[16:18])[0]
    tcp = frame[14 + ihl:14 + total]
    sport, dport, seq, ack, offset, flags = struct.unpack("!HHIIBB", tcp[:14])
    return {"src": socket.inet_ntoa(frame[26:30]), "dst": socket.inet_ntoa(frame[30:34]),
            "sport": sport, "dport": dport, "seq": seq, "ack": ack, "flags": flags,
            "payload": tcp[(offset >> 4) * 4:]}


def recv_tcp(guest, dport):
    """The next TCP segment to the guest's port DPORT on GUEST (other
    frames are skipped)."""
    guest.settimeout(TIMEOUT)
    while True:
        segment = parse_tcp(guest.recv(65536))
        if segment and segment["dport"] == dport:
            return segment
