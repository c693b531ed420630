#!/usr/bin/python3
# bench-slirp.py: vmstate-slirp-helper next to Debian's libslirp-helper,
# for BENCHMARKS.md
#
#   exec to on the bus: from exec to READY=1 on NOTIFY_SOCKET (both send it
#     once they are queued for org.qemu.VMState1), with --fd and --restrict;
#   a virsh restore / virsh save cycle under real libvirt 9.0, the helper
#     as slirp_helper (tests/libvirt/libvirt_rig.py: a TCG guest of 64 MiB
#     that got a DHCP lease from the helper, a libvirtd of its own). The
#     two helpers take turns, cycle by cycle, in the same libvirtd, so a
#     busy spell of the machine (2 cores, shared) hits both alike.
#
# Usage, as root, from the source tree after ./run test (or a build):
#   VMSTATE_BUILD_ROOT=$PWD/build VMSTATE_SOURCE_ROOT=$PWD \
#   VMSTATE_SLIRP_HELPER=$PWD/build/helpers/slirp/vmstate-slirp-helper \
#   /usr/bin/python3 bench/bench-slirp.py [CYCLES] [RUNS]
#
# CYCLES per helper (default 10); RUNS of exec to on the bus per helper
# (default 50; 0 skips them).
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


def save_restore():
    """CYCLES restores and saves per helper, the two helpers taking turns
    in one libvirtd: a cycle switches slirp_helper to the next helper,
    restores (that helper starts and loads the state the other one
    saved: the states are the same format) and saves (it saves and is
    stopped). So both see the same machine, whatever else runs on it."""
    names = ("ours", "debian")
    base = lr.Base(names[0])
    host = None
    try:
        with open(base.path("domain.xml"), "w") as f:
            f.write(lr.DOMAIN_XML)
        host = lr.Libvirtd(base, "bench")
        host.virsh("create", base.path("domain.xml"))
        host.wait_lease()
        image = base.path("domain.save")
        host.virsh("save", lr.DOMAIN, image)
        times = {name: ([], []) for name in names}
        sizes = {}
        for i in range(2 * (cycles + 1)):
            name = names[i % 2]
            base.use(name)
            r = timed(host, "restore", image)
            os.unlink(image)
            if i < 2:   # the first cycle of each warms up, and tells the state's size
                sizes[name] = len(host.helper_state()[1])
            s = timed(host, "save", lr.DOMAIN, image)
            if i >= 2:
                times[name][0].append(s)
                times[name][1].append(r)
        return [(name, stats(times[name][0]), stats(times[name][1]), sizes[name])
                for name in names]
    finally:
        if host:
            host.stop()
        base.remove()


def ms(t):
    return f"{t * 1000:.0f} ms" if t >= 0.1 else f"{t * 1000:.1f} ms"


def main():
    print("| command | median | min | p90 |")
    print("|---|---|---|---|")
    for name, (med, lo, p90) in (exec_to_bus() if runs else []):
        print(f"| {name} | {ms(med)} | {ms(lo)} | {ms(p90)} |")
    label = {"ours": "vmstate-slirp-helper", "debian": "libslirp-helper 4.3"}
    for helper, save, restore, size in save_restore():
        name = label[helper]
        print(f"| `virsh save`, {name} ({size}-byte state) | {ms(save[0])} | {ms(save[1])} | {ms(save[2])} |")
        print(f"| `virsh restore`, {name} | {ms(restore[0])} | {ms(restore[1])} | {ms(restore[2])} |")


if __name__ == "__main__":
    main()
