#!/usr/bin/python3
# libvirtd-ns.py: runs one libvirtd in a mount namespace of its own, as a
# subreaper that reaps at once
#
#   unshare --mount --propagation private /usr/bin/python3 libvirtd-ns.py \
#       ROOT [libvirtd args...]
#
# ROOT/{etc,run,lib,cache,log} are bound on /etc/libvirt, /run/libvirt,
# /var/lib/libvirt, /var/cache/libvirt and /var/log/libvirt, so this
# libvirtd has its own configuration (the test's), sockets, domains and
# logs, and neither sees nor touches the machine's libvirt or another
# test libvirtd. libvirt double-forks QEMU, the VM's dbus-daemon and the
# slirp helper, then polls until a stopped one is gone; without init
# reaping them promptly every stop waits 1-2 s (LIBVIRT.md), so this
# process is their subreaper and reaps each as it exits.
#
# SIGTERM or SIGINT stops libvirtd; once it has exited, whatever it left
# (a domain still running) gets SIGTERM, then SIGKILL, and this exits with
# libvirtd's status. Its environment (NOTIFY_SOCKET: libvirtd sends
# READY=1 once it accepts clients) goes to libvirtd.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import ctypes
import os
import select
import signal
import subprocess
import sys

PR_SET_CHILD_SUBREAPER = 36
MOUNTS = {"etc": "/etc/libvirt", "run": "/run/libvirt", "lib": "/var/lib/libvirt",
          "cache": "/var/cache/libvirt", "log": "/var/log/libvirt"}


def children():
    """Our children now: libvirtd, and what was reparented to us."""
    pid = os.getpid()
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def stop(pid):
    """SIGTERM, up to 10 s for the exit, then SIGKILL; reaps it."""
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    try:
        os.kill(pid, signal.SIGTERM)
        ready, _, _ = select.select([pidfd], [], [], 10)
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    finally:
        os.close(pidfd)


def main():
    root, args = sys.argv[1], sys.argv[2:]
    for name, target in MOUNTS.items():
        os.makedirs(target, exist_ok=True)
        subprocess.run(["mount", "--bind", os.path.join(root, name), target], check=True)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")

    libvirtd = subprocess.Popen(["/usr/sbin/libvirtd"] + args)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, f: libvirtd.send_signal(signal.SIGTERM))

    status = None
    while status is None:
        try:
            pid, wstatus = os.wait()
        except InterruptedError:
            continue
        if pid == libvirtd.pid:
            status = os.waitstatus_to_exitcode(wstatus)
            libvirtd.returncode = status

    # libvirtd is gone: stop what it left, each by its pid
    for pid in children():
        stop(pid)
    sys.exit(status)


if __name__ == "__main__":
    main()
