#!/usr/bin/python3
# test_libvirt.py: vmstate-slirp-helper as the slirp_helper of real
# libvirt 9.0: virsh save/restore, and live migration between two libvirtd
# instances on this host, with the helper's state equal across each
#
# Runs as root (libvirtd, runuser, mount namespaces); libvirt_rig.py says
# how each libvirtd is isolated from the machine and from the other.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import select
import time

import pytest

import libvirt_rig as lr


@pytest.fixture
def base():
    b = lr.Base()
    with open(b.path("domain.xml"), "w") as f:
        f.write(lr.DOMAIN_XML)
    yield b
    b.remove()


@pytest.fixture
def hosts(base):
    started = []

    def start(name):
        started.append(lr.Libvirtd(base, name))
        return started[-1]
    yield start
    logs = []
    for h in started:
        logs.append(h.log())
        assert h.stop() == 0, "\n".join(logs)


def running_with_lease(host, base):
    """Starts the domain; iPXE gets a lease; pauses it. Returns the
    helper's state then."""
    host.virsh("create", base.path("domain.xml"))
    host.wait_lease()
    host.virsh("suspend", lr.DOMAIN)
    ident, state = host.helper_state()
    assert ident == lr.ID
    assert state[:4] == b"\0\0\0\4"   # libslirp-helper's format: be32 state version
    return state


def helpers_on_bus(host, program):
    """{pid: argv} of the processes of PROGRAM on the domain's bus (a
    process that has exited has no command line, even before it is
    reaped)."""
    found = {}
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[0].endswith(program) and \
                f"--dbus-address={host.bus_address(inside=True)}".encode() in argv:
            found[int(pid)] = argv
    return found


def wait_for_any_exit(pids, timeout):
    """Returns once one of PIDS has exited (its pidfd is readable)."""
    fds = []
    try:
        for pid in pids:
            try:
                fds.append(os.pidfd_open(pid))
            except ProcessLookupError:
                return
        assert select.select(fds, [], [], timeout)[0], f"none of {pids} exited in {timeout} s"
    finally:
        for fd in fds:
            os.close(fd)


def assert_helper_is_ours(host, program=b"/vmstate-slirp-helper"):
    """The helper on the domain's bus runs vmstate-slirp-helper (or
    PROGRAM). The bus path is the same for every run of the domain on a
    host, and libvirt stops the helper of the previous run (SIGTERM, as
    the domain left) without waiting for it: wait until that one is
    gone."""
    deadline = time.monotonic() + 20
    found = helpers_on_bus(host, program)
    while len(found) > 1:
        wait_for_any_exit(list(found), max(0, deadline - time.monotonic()))
        found = helpers_on_bus(host, program)
    assert len(found) == 1, found
    argv = next(iter(found.values()))
    assert b"--restrict" in argv and f"--dbus-id={lr.ID}".encode() in argv


def test_save_and_restore(base, hosts):
    host = hosts("a")
    before = running_with_lease(host, base)
    assert_helper_is_ours(host)
    image = base.path("domain.save")

    host.virsh("save", lr.DOMAIN, image)
    assert host.virsh("domstate", lr.DOMAIN, check=False).returncode != 0   # gone
    # the image carries the helper's state, under its Id
    assert lr.libvirt_image_blob(image) == {lr.ID: before}

    host.virsh("restore", image, "--paused")
    assert_helper_is_ours(host)
    assert host.helper_state() == (lr.ID, before)     # loaded, as it was
    host.virsh("resume", lr.DOMAIN)
    assert host.virsh("domstate", lr.DOMAIN).stdout.strip() == "running"
    host.virsh("destroy", lr.DOMAIN)


def test_restore_moves_between_debians_helper_and_ours(base, hosts):
    # saved with Debian's libslirp-helper, restored with ours, saved again,
    # restored with Debian's: the state as it was each time
    base.use("debian")
    host = hosts("a")
    before = running_with_lease(host, base)
    assert_helper_is_ours(host, b"/libslirp-helper")
    image = base.path("domain.save")
    host.virsh("save", lr.DOMAIN, image)

    base.use("ours")
    host.virsh("restore", image, "--paused")
    assert_helper_is_ours(host)
    assert host.helper_state() == (lr.ID, before)
    os.unlink(image)
    host.virsh("save", lr.DOMAIN, image)
    assert lr.libvirt_image_blob(image) == {lr.ID: before}

    base.use("debian")
    host.virsh("restore", image, "--paused")
    assert_helper_is_ours(host, b"/libslirp-helper")
    assert host.helper_state() == (lr.ID, before)
    host.virsh("resume", lr.DOMAIN)
    assert host.virsh("domstate", lr.DOMAIN).stdout.strip() == "running"
    host.virsh("destroy", lr.DOMAIN)


def migrate(source, dest, live=True):
    """virsh migrate SOURCE -> DEST, QEMU's stream on loopback; the
    domain stays paused on DEST."""
    source.virsh("migrate", *(["--live"] if live else []), "--suspend",
                 "--listen-address", "127.0.0.1", "--migrateuri", "tcp://127.0.0.1",
                 lr.DOMAIN, dest.uri)


def test_live_migration_between_two_libvirtds(base, hosts):
    a, b = hosts("a"), hosts("b")
    before = running_with_lease(a, base)

    migrate(a, b)
    assert a.virsh("domstate", lr.DOMAIN, check=False).returncode != 0   # left a
    assert_helper_is_ours(b)
    assert b.helper_state() == (lr.ID, before)

    migrate(b, a)
    assert a.helper_state() == (lr.ID, before)
    a.virsh("resume", lr.DOMAIN)
    assert a.virsh("domstate", lr.DOMAIN).stdout.strip() == "running"
    a.virsh("destroy", lr.DOMAIN)
