#!/usr/bin/python3
# bench-qemu-downtime.py: QEMU 7.2's downtime vs VmstateCollector's save
#
# For 1, 8 and 32 helpers (the C test helper, VmstateService) with 16 KiB
# of state each, whose Save answers after 50 ms or at once, on a private
# dbus-daemon:
# - QEMU: a fresh qemu-system-x86_64 -machine none with a dbus-vmstate
#   object migrates to a file; "downtime" is query-migrate's (QEMU calls
#   the helpers inside the stop-and-copy phase, one after another);
# - libvmstate: VmstateCollector.save_sync() on the same helpers, timed
#   around the call (it lists the helpers and reads their Ids, as QEMU
#   does, then saves them concurrently).
# Prints a Markdown table of medians over --runs runs.
#
# Run it from a build tree:
#   meson devenv -C BUILD /usr/bin/python3 tests/interop/bench-qemu-downtime.py \
#     --helper BUILD/tests/helper/vmstate-test-helper
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gi  # noqa: E402

gi.require_version("Vmstate", "1.0")
from gi.repository import Vmstate  # noqa: E402

import vmstate_interop as vi  # noqa: E402


def measure(tmpdir, n, delay, size, runs):
    rig = vi.Rig(tmpdir)
    try:
        bus = rig.bus()
        extra = ["--save-delay-ms", str(delay)] if delay else []
        for k in range(n):
            rig.helper(bus, f"helper-{k:02d}", size=size, seed=k, extra=extra)
        qemu_ms, ours_ms = [], []
        collector = Vmstate.Collector.new_for_address_sync(bus.address, None)
        for r in range(runs):
            qemu = rig.qemu(bus, name=f"qemu-{n}-{delay}-{r}")
            path = os.path.join(tmpdir, f"stream-{n}-{delay}-{r}")
            status, info = qemu.migrate_to_file(path)
            if status != "completed":
                raise RuntimeError(f"migration {status}: {qemu.stderr()}")
            entries, _ = vi.parse_blob(vi.Stream.from_file(path).blob)
            assert len(entries) == n
            qemu_ms.append(info["downtime"])
            qemu.stop()
            os.unlink(path)

            t0 = time.perf_counter()
            blob = collector.save_sync(None)
            ours_ms.append((time.perf_counter() - t0) * 1000)
            assert Vmstate.Blob.new_from_bytes(blob).get_n_entries() == n
        return qemu_ms, ours_ms
    finally:
        rig.close()


def main():
    p = argparse.ArgumentParser(description="QEMU 7.2 downtime vs VmstateCollector save time")
    p.add_argument("--helper", default=os.environ.get("VMSTATE_TEST_HELPER"),
                   help="path to BUILD/tests/helper/vmstate-test-helper")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--size", type=int, default=16 * 1024)
    p.add_argument("--helpers", default="1,8,32")
    p.add_argument("--delays", default="50,0")
    args = p.parse_args()
    if not args.helper or not os.path.exists(args.helper):
        p.error("--helper BUILD/tests/helper/vmstate-test-helper is required")
    if vi.find_qemu() is None:
        p.error("qemu-system-x86_64 not found (Debian: apt install qemu-system-x86)")
    os.environ["VMSTATE_TEST_HELPER"] = args.helper

    qemu_version = subprocess.run([vi.find_qemu(), "--version"], capture_output=True,
                                  text=True).stdout.splitlines()[0]
    print(f"<!-- {qemu_version}; {platform.node()} {platform.machine()}, "
          f"{os.cpu_count()} CPUs; medians of {args.runs} runs, load average "
          f"{os.getloadavg()[0]:.1f} at the start -->")
    print("| helpers | state | Save delay | QEMU 7.2 downtime (query-migrate), median (best) "
          "| VmstateCollector save, median (best) |")
    print("|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(prefix="bench-qemu-") as tmpdir:
        for delay in [int(d) for d in args.delays.split(",")]:
            for n in [int(x) for x in args.helpers.split(",")]:
                q, ours = measure(tmpdir, n, delay, args.size, args.runs)
                print(f"| {n} | {args.size // 1024} KiB | {delay} ms "
                      f"| {statistics.median(q):.0f} ms ({min(q)} ms) "
                      f"| {statistics.median(ours):.1f} ms ({min(ours):.1f} ms) |", flush=True)


if __name__ == "__main__":
    main()
