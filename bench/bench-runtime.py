#!/usr/bin/python3
# bench-runtime.py: the helper runtime's latencies, for BENCHMARKS.md
#
#   --print-capabilities: exec to exit (libvirt runs it synchronously on
#     every start, restore and incoming migration), next to /bin/true and
#     `python3 -c pass` measured in the same run;
#   exec to on the bus: from exec to READY=1 on NOTIFY_SOCKET, which the
#     runtime sends once the name request is queued.
#
# Usage (from a build tree, as ./run does):
#   GI_TYPELIB_PATH=build/libvmstate LD_LIBRARY_PATH=build/libvmstate \
#   PYTHONPATH=bindings/python /usr/bin/python3 bench/bench-runtime.py build [RUNS]
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

build = sys.argv[1] if len(sys.argv) > 1 else "build"
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 50
src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PY = "/usr/bin/python3"
C_HELPER = [os.path.join(build, "examples", "counter-helper")]
PY_HELPER = [PY, os.path.join(src, "examples", "python", "counter-helper.py")]

sys.path.insert(0, os.path.join(src, "tests"))
from vmstate_testbus import PrivateBus  # noqa: E402  (a private dbus-daemon)


def timed(argv, env=None):
    t0 = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=env)
    return time.perf_counter() - t0


def series(name, argv):
    timed(argv)  # warm the page cache
    samples = sorted(timed(argv) for _ in range(runs))
    return name, statistics.median(samples), samples[0], samples[int(len(samples) * 0.9)]


def on_bus(argv, address, sock):
    env = dict(os.environ, NOTIFY_SOCKET=sock.getsockname())
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv + ["--dbus-address=" + address], stdout=subprocess.DEVNULL, env=env)
    assert sock.recv(16) == b"READY=1"
    elapsed = time.perf_counter() - t0
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    return elapsed


def main():
    rows = [series("/bin/true", ["/bin/true"]),
            series("python3 -c pass", [PY, "-c", "pass"]),
            series("C counter-helper --print-capabilities", C_HELPER + ["--print-capabilities"]),
            series("Python counter-helper.py --print-capabilities", PY_HELPER + ["--print-capabilities"])]
    print("%-50s %9s %9s %9s" % ("command (%d runs)" % runs, "median", "min", "p90"))
    for name, med, lo, p90 in rows:
        print("%-50s %7.1fms %7.1fms %7.1fms" % (name, med * 1e3, lo * 1e3, p90 * 1e3))
    base = dict((r[0], r[1]) for r in rows)
    print("C / true: %.1fx; Python / python3 -c pass: %.1fx" %
          (rows[2][1] / base["/bin/true"], rows[3][1] / base["python3 -c pass"]))

    with tempfile.TemporaryDirectory() as tmp, PrivateBus(tmp) as bus:
        address = bus.address
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(os.path.join(tmp, "notify"))
        sock.settimeout(30)
        try:
            for name, argv in (("C counter-helper", C_HELPER), ("Python counter-helper.py", PY_HELPER)):
                on_bus(argv, address, sock)
                samples = sorted(on_bus(argv, address, sock) for _ in range(runs // 2))
                print("exec to on the bus (READY=1), %-26s median %5.1fms min %5.1fms p90 %5.1fms" %
                      (name + ":", statistics.median(samples) * 1e3, samples[0] * 1e3,
                       samples[int(len(samples) * 0.9)] * 1e3))
        finally:
            sock.close()


main()
