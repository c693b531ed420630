#!/usr/bin/python3
# libvirt_rig.py: real libvirtd 9.0 instances running vmstate-slirp-helper
# (or Debian's libslirp-helper) as their slirp_helper, for the tests and
# the benchmark
#
# Each libvirtd runs under libvirtd-ns.py: a mount namespace of its own
# with the test's /etc/libvirt, /run/libvirt, /var/lib/libvirt,
# /var/cache/libvirt and /var/log/libvirt, and a subreaper parent. Nothing
# of the machine's libvirt is read or changed. virsh reaches it on its
# socket, ROOT/run/libvirt-sock. Domains are TCG, without disk; their NIC
# is <interface type='user'>, whose helper runs --restrict (a wrapper adds
# it: libvirt never passes it), so no guest traffic leaves the helper.
#
# The helper runs as libvirt-qemu: the base directory (mode 0755 under
# /tmp) holds a copy of the helper and of libvmstate, since the build
# tree may be where libvirt-qemu cannot read (/root).
#
# Every wait is bounded and waits for what a process does: READY=1 from
# libvirtd, a virsh command's exit, a helper's state on its bus.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import glob
import os
import shutil
import sys
import signal
import socket
import subprocess
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vmstate_testbus import wait_ready  # noqa: E402  (READY=1 on a NOTIFY_SOCKET)

TIMEOUT = 120.0
NS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "libvirtd-ns.py")
MAC = "52:54:00:12:34:56"
ID = "slirp-" + MAC
DOMAIN = "vmstate-slirp"

DOMAIN_XML = f"""<domain type='qemu'>
  <name>{DOMAIN}</name>
  <uuid>4a9b3f53-fa2a-47f3-a757-dd87720d9d1d</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <boot dev='network'/>
  </os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <controller type='usb' model='none'/>
    <interface type='user'>
      <mac address='{MAC}'/>
      <model type='virtio'/>
    </interface>
    <memballoon model='none'/>
  </devices>
</domain>
"""

# Runs as libvirt-qemu (the only user the VM's bus accepts), with nothing
# but Debian's python3-gi: the helper's state, by its Save, in hex.
SAVE_SCRIPT = """
import sys
from gi.repository import Gio, GLib
flags = (Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
         Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION)
bus = Gio.DBusConnection.new_for_address_sync(sys.argv[1], flags, None, None)
reply = bus.call_sync("org.qemu.VMState1", "/org/qemu/VMState1", "org.qemu.VMState1", "Save",
                      None, GLib.VariantType("(ay)"), Gio.DBusCallFlags.NONE, 30000, None)
ident = bus.call_sync("org.qemu.VMState1", "/org/qemu/VMState1", "org.freedesktop.DBus.Properties",
                      "Get", GLib.Variant("(ss)", ("org.qemu.VMState1", "Id")),
                      GLib.VariantType("(v)"), Gio.DBusCallFlags.NONE, 30000, None)
print(ident.unpack()[0], reply.get_child_value(0).get_data_as_bytes().get_data().hex())
"""




class Base:
    """The directory all libvirtds of a test share: the helpers as
    libvirt-qemu can run them, and the save images."""

    def __init__(self, helper="ours"):
        self.dir = tempfile.mkdtemp(prefix="vmstate-libvirt-")
        os.chmod(self.dir, 0o755)
        os.makedirs(os.path.join(self.dir, "log"), mode=0o777)
        os.chmod(os.path.join(self.dir, "log"), 0o777)
        build = os.environ["VMSTATE_BUILD_ROOT"]
        for sub in ("bin", "lib"):
            os.makedirs(os.path.join(self.dir, sub), mode=0o755)
        shutil.copy(os.environ["VMSTATE_SLIRP_HELPER"], os.path.join(self.dir, "bin"))
        shutil.copy(os.path.join(build, "libvmstate", "libvmstate-1.0.so.0"),
                    os.path.join(self.dir, "lib"))
        # libvirt runs the wrapper as root (--print-capabilities) and as
        # libvirt-qemu: both must be able to append, or the shell cannot
        # redirect and the helper dies before it starts, silently
        with open(self.path("log", "helper.log"), "w"):
            pass
        os.chmod(self.path("log", "helper.log"), 0o666)
        self.helper = os.path.join(self.dir, "slirp-helper")
        self.use(helper)

    def use(self, helper):
        """Makes slirp_helper run HELPER, "ours" or "debian" (libvirt
        reads the path once, and runs what is there at each start)."""
        if helper == "ours":
            program = (f"G_MESSAGES_DEBUG=all LD_LIBRARY_PATH={self.dir}/lib "
                       f"exec {self.dir}/bin/vmstate-slirp-helper")
        else:
            # libslirp-helper honours --exit-with-parent, and libvirt's
            # daemonizing fork is its parent: it would leave at random
            program = ('for a; do shift; [ "$a" = --exit-with-parent ] || set -- "$@" "$a"; done; '
                       f"exec {os.environ.get('LIBSLIRP_HELPER', '/usr/bin/libslirp-helper')}")
        log = f"{self.dir}/log/helper.log"
        with open(self.helper + ".new", "w") as f:
            f.write("#!/bin/sh\n"
                    "# libvirt's slirp_helper here: the guest isolated, its log kept\n"
                    "# (GLib prints INFO on stdout, where libvirt reads the capabilities)\n"
                    f'case "$1" in --print-capabilities) {program} "$@" 2>>{log};; esac\n'
                    f'{program} --restrict "$@" >>{log} 2>&1\n')
        os.chmod(self.helper + ".new", 0o755)
        os.rename(self.helper + ".new", self.helper)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def helper_log(self):
        try:
            with open(self.path("log", "helper.log")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Libvirtd:
    """One libvirtd in its own mount namespace, configured by the test."""

    def __init__(self, base, name):
        self.base = base
        self.name = name
        self.root = base.path(name)
        for sub in ("etc", "run", "lib", "cache", "log"):
            os.makedirs(os.path.join(self.root, sub), mode=0o755)
        with open(os.path.join(self.root, "etc", "libvirtd.conf"), "w") as f:
            f.write(f'host_uuid = "{uuid.uuid4()}"\n'   # one host per libvirtd, for migration
                    'auth_unix_rw = "none"\n'
                    'auth_unix_ro = "none"\n'
                    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"\n')
        with open(os.path.join(self.root, "etc", "qemu.conf"), "w") as f:
            f.write(f'slirp_helper = "{base.helper}"\n'
                    'stdio_handler = "file"\n'          # QEMU's log without virtlogd
                    'security_driver = "none"\n')
        self.uri = f"qemu:///system?socket={self.root}/run/libvirt-sock"

        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(os.path.join(self.root, "notify"))
        env = dict(os.environ, NOTIFY_SOCKET=notify.getsockname())
        self.proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private",
                                      "/usr/bin/python3", NS, self.root,
                                      # not /run/libvirtd.pid, the machine's
                                      "--pid-file=/run/libvirt/libvirtd.pid"],
                                     env=env, stdin=subprocess.DEVNULL)
        try:
            wait_ready(notify, self.proc, f"libvirtd {name}")
        except BaseException:
            self.stop()
            raise
        finally:
            notify.close()

    def virsh(self, *args, check=True, timeout=TIMEOUT):
        done = subprocess.run(["virsh", "-q", "-c", self.uri, *args], capture_output=True,
                              text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, f"virsh {' '.join(args)} on {self.name}: {done.stderr}"
        return done

    def bus_address(self, inside=False):
        """The address of the running domain's private bus: from here, or
        INSIDE this libvirtd's namespace (as libvirt passes it)."""
        socks = glob.glob(os.path.join(self.root, "run", "qemu", "dbus", f"*-{DOMAIN}-dbus.sock"))
        assert len(socks) == 1, f"{self.name}: VM buses {socks}"
        if inside:
            return "unix:path=/run/libvirt/" + os.path.relpath(socks[0], os.path.join(self.root, "run"))
        return "unix:path=" + socks[0]

    def helper_state(self, missing_ok=False):
        """(Id, state) of the helper on the running domain's bus; None if
        MISSING_OK and no helper is on the bus (yet)."""
        done = subprocess.run(["runuser", "-u", "libvirt-qemu", "--", "/usr/bin/python3", "-c",
                               SAVE_SCRIPT, self.bus_address()],
                              capture_output=True, text=True, timeout=TIMEOUT)
        if missing_ok and "DBus.Error.ServiceUnknown" in done.stderr:
            return None
        assert done.returncode == 0, f"Save on {self.name}: {done.stderr}\n{self.base.helper_log()}"
        ident, state = done.stdout.split()
        return ident, bytes.fromhex(state)

    def wait_lease(self, mac=MAC, timeout=TIMEOUT):
        """Waits until the helper's state holds a DHCP lease for MAC:
        iPXE asked and the helper answered. (No event says so outside the
        helper: this reads its state every 0.1 s; libvirt does not wait for
        the helper to be on the bus, so it may not be there at first.)"""
        deadline = time.monotonic() + timeout
        needle = bytes(int(x, 16) for x in mac.split(":"))
        while True:
            found = self.helper_state(missing_ok=True)
            if found and needle in found[1]:
                return found[1]
            assert time.monotonic() < deadline, f"{self.name}: no lease for {mac} in {timeout} s"
            time.sleep(0.1)

    def log(self):
        out = []
        for path in (os.path.join(self.root, "log", "libvirtd.log"),
                     os.path.join(self.root, "log", "qemu", f"{DOMAIN}.log")):
            try:
                with open(path) as f:
                    out.append(f"--- {path}\n" + f.read()[-4000:])
            except FileNotFoundError:
                pass
        return "\n".join(out)

    def stop(self):
        if self.proc.poll() is None:
            self.virsh("destroy", DOMAIN, check=False)
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=60)
        return self.proc.returncode


def libvirt_image_blob(path):
    """The dbus-vmstate blob of a `virsh save` image: a LibvirtQemudSave
    header, the domain XML and cookie, then QEMU's migration stream."""
    import sys
    sys.path.insert(0, os.path.join(os.environ["VMSTATE_SOURCE_ROOT"], "tests", "interop"))
    import vmstate_interop as vi
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"LibvirtQemudSave"), "not a virsh save image"
    stream = vi.Stream(data[data.index(b"QEVM\0\0\0\x03"):])
    entries, _ = vi.parse_blob(stream.blob)
    return dict(entries)
