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
# libvirtd's status.
#
# With NOTIFY_SOCKET set, this does what systemd does for a Type=notify
# libvirtd.service: libvirtd gets a notify socket that anyone may write
# (libvirtd sends READY=1 once it accepts clients, which is passed on to
# our NOTIFY_SOCKET), and what else comes is dropped. libvirt runs the
# slirp helper with its own environment, NOTIFY_SOCKET included, and a
# helper's READY=1 must not fail: Debian's libslirp-helper exits on it.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import threading

PR_SET_CHILD_SUBREAPER = 36
MOUNTS = {"etc": "/etc/libvirt", "run": "/run/libvirt", "lib": "/var/lib/libvirt",
          "cache": "/var/cache/libvirt", "log": "/var/log/libvirt"}


def children():
    """Our children now: libvirtd, and what was reparented to us."""
    pid = os.getpid()
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def relay_ready(notify, to):
    """Passes libvirtd's READY=1 on to TO, and drops everything else. No
    helper runs before libvirtd is ready, so the first READY=1 is its."""
    relayed = False
    while True:
        message = notify.recv(4096)
        if not relayed and message.startswith(b"READY=1"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as out:
                out.sendto(b"READY=1", to)
            relayed = True


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

    env = dict(os.environ)
    if "NOTIFY_SOCKET" in env:
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind("/run/libvirt/notify")
        os.chmod("/run/libvirt/notify", 0o777)
        env["NOTIFY_SOCKET"] = "/run/libvirt/notify"
        threading.Thread(target=relay_ready, args=(notify, os.environ["NOTIFY_SOCKET"]),
                         daemon=True).start()
    libvirtd = subprocess.Popen(["/usr/sbin/libvirtd"] + args, env=env)
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
