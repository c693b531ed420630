#!/usr/bin/python3
# bench-slirp.py: vmstate-slirp-helper next to Debian's libslirp-helper,
# for BENCHMARKS.md
#
#   exec to on the bus: from exec to READY=1 on NOTIFY_SOCKET (both send it
#     once they are queued for org.qemu.VMState1), with --fd and --restrict;
#   a virsh save / virsh restore cycle under real libvirt 9.0, the helper
#     as slirp_helper (tests/libvirt/libvirt_rig.py: a TCG guest of 64 MiB
#     that got a DHCP lease from the helper, a libvirtd of its own).
#
# Usage, as root, from the source tree after ./run test (or a build):
#   VMSTATE_BUILD_ROOT=$PWD/build VMSTATE_SOURCE_ROOT=$PWD \
#   VMSTATE_SLIRP_HELPER=$PWD/build/helpers/slirp/vmstate-slirp-helper \
#   /usr/bin/python3 bench/bench-slirp.py [CYCLES] [RUNS]
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import select
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(src, "tests", "libvirt"))
sys.path.insert(0, os.path.join(src, "tests", "interop"))
import libvirt_rig as lr  # noqa: E402
import vmstate_interop as vi  # noqa: E402

cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 10
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
OURS = os.environ["VMSTATE_SLIRP_HELPER"]
DEBIAN = os.environ.get("LIBSLIRP_HELPER", "/usr/bin/libslirp-helper")
os.environ["LD_LIBRARY_PATH"] = os.path.join(os.environ["VMSTATE_BUILD_ROOT"], "libvmstate")


def stats(samples):
    samples = sorted(samples)
    return statistics.median(samples), samples[0], samples[int(len(samples) * 0.9)]


def on_bus(program, address, tmp):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(tempfile.mktemp(dir=tmp))
    env = dict(os.environ, NOTIFY_SOCKET=notify.getsockname())
    t0 = time.perf_counter()
    proc = subprocess.Popen([program, f"--fd={theirs.fileno()}", "--restrict",
                             "--dbus-id=slirp-52:54:00:12:34:56", "--dbus-address=" + address],
                            pass_fds=(theirs.fileno(),), env=env)
    ready, _, _ = select.select([notify], [], [], 30)
    assert ready and notify.recv(64).startswith(b"READY=1")
    elapsed = time.perf_counter() - t0
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    for s in (ours, theirs, notify):
        s.close()
    return elapsed


def exec_to_bus():
    rows = []
    tmp = tempfile.mkdtemp()
    bus = vi.Bus(tmp)
    try:
        for name, program in (("vmstate-slirp-helper", OURS), ("libslirp-helper 4.3", DEBIAN)):
            on_bus(program, bus.address, tmp)   # warm the page cache
            rows.append((f"exec to on the bus, {name}",
                         stats([on_bus(program, bus.address, tmp) for _ in range(runs)])))
    finally:
        bus.stop()
    return rows


def timed(host, *args):
    t0 = time.perf_counter()
    host.virsh(*args)
    return time.perf_counter() - t0


def save_restore(helper):
    base = lr.Base(helper)
    host = None
    try:
        with open(base.path("domain.xml"), "w") as f:
            f.write(lr.DOMAIN_XML)
        host = lr.Libvirtd(base, "bench")
        host.virsh("create", base.path("domain.xml"))
        host.wait_lease()
        image = base.path("domain.save")
        saves, restores = [], []
        for i in range(cycles + 1):
            s = timed(host, "save", lr.DOMAIN, image)
            r = timed(host, "restore", image)
            os.unlink(image)
            if i:   # the first cycle warms up
                saves.append(s)
                restores.append(r)
        state = host.helper_state()[1]
        host.virsh("destroy", lr.DOMAIN)
        return stats(saves), stats(restores), len(state)
    finally:
        if host:
            host.stop()
        base.remove()


def ms(t):
    return f"{t * 1000:.0f} ms" if t >= 0.1 else f"{t * 1000:.1f} ms"


def main():
    print("| command | median | min | p90 |")
    print("|---|---|---|---|")
    for name, (med, lo, p90) in exec_to_bus():
        print(f"| {name} | {ms(med)} | {ms(lo)} | {ms(p90)} |")
    for helper, name in (("ours", "vmstate-slirp-helper"), ("debian", "libslirp-helper 4.3")):
        save, restore, size = save_restore(helper)
        print(f"| `virsh save`, {name} ({size}-byte state) | {ms(save[0])} | {ms(save[1])} | {ms(save[2])} |")
        print(f"| `virsh restore`, {name} | {ms(restore[0])} | {ms(restore[1])} | {ms(restore[2])} |")


if __name__ == "__main__":
    main()
