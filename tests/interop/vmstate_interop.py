#!/usr/bin/python3
# vmstate_interop.py: real parts for the QEMU interop tests and benchmark
#
# A private dbus-daemon (vmstate_testbus.PrivateBus), helper processes
# (the C test helper and the Python helper), a real qemu-system-x86_64 driven over QMP, and a parser
# for the migration stream QEMU writes with `migrate exec:cat>FILE`.
#
# Every wait here is bounded by a timeout and waits for something a
# process does (a line it prints, a QMP event, a connection, its exit);
# every process started here is stopped by its pid.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import json
import os
import queue
import select
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vmstate_testbus import PrivateBus as Bus, terminate  # noqa: E402,F401  (Bus: a private dbus-daemon)
from vmstate_testbus import make_state  # noqa: E402  (the C test helper's state)

DEFAULT_TIMEOUT = 60.0


_state_cache = {}


def state_sha256(size, seed):
    key = (size, seed)
    if key not in _state_cache:
        _state_cache[key] = hashlib.sha256(make_state(size, seed)).hexdigest()
    return _state_cache[key]


def find_qemu():
    return shutil.which(os.environ.get("QEMU", "qemu-system-x86_64"))


class LineReader:
    """Reads a process's stdout lines on a thread, for waits with timeouts."""

    def __init__(self, stream, name):
        self.name = name
        self.lines = queue.Queue()
        self.all = []
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.all.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def finish(self, timeout=30.0):
        """Waits until the whole output was read (the process closed it)."""
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"{self.name}: output still open after {timeout}s")

    def wait_prefix(self, prefix, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.name}: no line starting with {prefix!r} in {timeout}s")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise EOFError(f"{self.name}: exited before printing {prefix!r}; output {self.all}")
            if line.startswith(prefix):
                return line


class Helper:
    """A helper process: the C test helper ("c") or the Python helper
    ("py": GLib.Bytes and GLib.Error; "py-plain": bytes and plain
    exceptions, through libvmstate's PyGObject override)."""

    def __init__(self, bus, id, size=16, seed=0, kind="c", extra=()):
        self.id = id
        self.size = size
        self.seed = seed
        self.kind = kind
        if kind == "c":
            argv = [os.environ["VMSTATE_TEST_HELPER"]]
        elif kind in ("py", "py-plain"):
            argv = ["/usr/bin/python3", os.environ["VMSTATE_PY_HELPER"]]
            if kind == "py-plain":
                argv.append("--plain")
        else:
            raise ValueError(kind)
        argv += ["--address", bus.address, "--id", id, "--state-size", str(size),
                 "--state-seed", str(seed)] + list(extra)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.reader = LineReader(self.proc.stdout, f"helper {id[:20]}")
        try:
            ready = self.reader.wait_prefix("READY ", timeout=30).split()
        except BaseException:
            self.stop()
            raise
        self.unique_name = ready[1]
        self.pid = int(ready[2])

    @property
    def sha256(self):
        return state_sha256(self.size, self.seed)

    def wait_loaded(self, timeout=DEFAULT_TIMEOUT):
        """Returns (size, sha256) of the next Load this helper answered."""
        _, size, digest = self.reader.wait_prefix("LOADED ", timeout).split()
        return int(size), digest

    def loaded_lines(self):
        return [line for line in self.reader.all if line.startswith("LOADED ")]

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                pass
        terminate(self.proc, 10)


class QmpError(Exception):
    pass


class Qemu:
    """A real qemu-system-x86_64 with a dbus-vmstate object, driven over QMP.

    QEMU connects to a QMP socket we listen on (a chardev in client mode),
    so we wait for its connection instead of polling for a socket file.
    """

    def __init__(self, tmpdir, bus_address, id_list=None, incoming=False, name="qemu"):
        self.name = name
        self.event_log = []
        self._events_cond = threading.Condition()
        self._closed = False
        self._migrations = 0
        self._replies = queue.Queue()
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=tmpdir)
        qmp_path = os.path.join(self.dir, "qmp")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(qmp_path)
        listener.listen(1)
        # QEMU's option syntax escapes a comma in a value by doubling it
        obj = "dbus-vmstate,id=dv,addr=" + bus_address.replace(",", ",,")
        if id_list is not None:
            obj += ",id-list=" + ",,".join(id_list)
        argv = [find_qemu(), "-machine", "none", "-nodefaults", "-display", "none",
                "-chardev", f"socket,id=qmp,path={qmp_path}",
                "-mon", "chardev=qmp,mode=control",
                "-object", obj]
        if incoming:
            argv += ["-incoming", "defer"]
        self.stderr_path = os.path.join(self.dir, "stderr")
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self._stderr, stderr=self._stderr)
        self.pid = self.proc.pid
        self.sock = None
        try:
            self.sock = self._accept(listener, 60)
        except (TimeoutError, EOFError) as e:
            err = self.stderr()
            self.stop()
            raise type(e)(f"{name} did not connect to QMP: {e}; stderr: {err}") from None
        finally:
            listener.close()
        self._file = self.sock.makefile("rb")
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        try:
            greeting = self._replies.get(timeout=60)
            if greeting is None or "QMP" not in greeting:
                raise QmpError(f"{name}: bad QMP greeting {greeting}")
            self.execute("qmp_capabilities")
            self.execute("migrate-set-capabilities",
                         capabilities=[{"capability": "events", "state": True}])
        except BaseException:
            self.stop()
            raise

    def _accept(self, listener, timeout):
        # wait for QEMU's connection, or for QEMU to exit (a bad option)
        deadline = time.monotonic() + timeout
        while True:
            listener.settimeout(0.2)
            try:
                sock, _ = listener.accept()
                sock.settimeout(None)
                return sock
            except socket.timeout:
                pass
            if self.proc.poll() is not None:
                raise EOFError(f"exited with {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no connection in {timeout}s")

    def _read(self):
        try:
            for raw in self._file:
                msg = json.loads(raw)
                if "event" in msg:
                    with self._events_cond:
                        self.event_log.append(msg)
                        self._events_cond.notify_all()
                else:
                    self._replies.put(msg)
        except (OSError, ValueError):
            pass
        self._replies.put(None)
        with self._events_cond:
            self._closed = True
            self._events_cond.notify_all()

    def wait_event(self, pred, timeout=DEFAULT_TIMEOUT):
        """Waits for an event (from QEMU's start on) that `pred` accepts.

        Returns it, or None when QEMU closed QMP (it exited) first.
        """
        deadline = time.monotonic() + timeout
        with self._events_cond:
            while True:
                for ev in self.event_log:
                    if pred(ev):
                        return ev
                if self._closed:
                    return None
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.name}: no such event in {timeout}s: {self.event_log}")
                self._events_cond.wait(left)

    def execute(self, command, timeout=DEFAULT_TIMEOUT, **arguments):
        msg = {"execute": command}
        if arguments:
            msg["arguments"] = arguments
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        try:
            reply = self._replies.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.name}: no reply to {command} in {timeout}s")
        if reply is None:
            raise QmpError(f"{self.name}: QMP closed during {command}; stderr: {self.stderr()}")
        if "error" in reply:
            raise QmpError(f"{self.name}: {command}: {reply['error'].get('desc')}")
        return reply.get("return")

    def wait_migration(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the MIGRATION event that ends a migration.

        Returns "completed" or "failed", or "exited" when QEMU closed QMP
        (a destination exits when an incoming migration fails).
        """
        ev = self.wait_event(lambda e: e["event"] == "MIGRATION" and
                             e["data"]["status"] in ("completed", "failed"), timeout)
        return "exited" if ev is None else ev["data"]["status"]

    def migrate_to_file(self, path, timeout=DEFAULT_TIMEOUT):
        """Migrates to `path` with `exec:cat>PATH`; returns (status, query-migrate).

        QEMU's "completed" event comes when QEMU has written the stream
        into cat's pipe, not when cat has written the file (measured: a
        file read right after the event was sometimes still empty). So the
        command also writes a line into a FIFO once cat has exited, and a
        completed migration waits for that line.
        """
        self._migrations += 1
        done = os.path.join(self.dir, f"done-{self._migrations}")
        os.mkfifo(done)
        # O_RDWR: the FIFO never reports EOF, only the line when it comes
        fd = os.open(done, os.O_RDWR | os.O_NONBLOCK)
        try:
            self.execute("migrate", uri=f"exec:cat>{path} && echo done>{done}")
            status = self.wait_migration(timeout)
            if status == "completed":
                ready, _, _ = select.select([fd], [], [], timeout)
                if not ready or not os.read(fd, 64).startswith(b"done"):
                    raise TimeoutError(f"{self.name}: cat did not finish writing {path}")
            # only now: QEMU 7.2 emits "completed" before it computes the
            # downtime and total time, so a query-migrate right after the
            # event can report 0 for both (measured). cat ends once QEMU
            # has closed the stream, which it does after computing them.
            info = self.execute("query-migrate") if status != "exited" else {}
        finally:
            os.close(fd)
            os.unlink(done)
        return status, info

    def incoming_from_file(self, path, timeout=DEFAULT_TIMEOUT):
        self.execute("migrate-incoming", uri=f"exec:cat {path}")
        return self.wait_migration(timeout)

    def wait_exit(self, timeout=DEFAULT_TIMEOUT):
        return self.proc.wait(timeout=timeout)

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.sock.sendall(b'{"execute": "quit"}\n')
                self.proc.wait(timeout=10)
            except (OSError, AttributeError, subprocess.TimeoutExpired):
                pass
        terminate(self.proc, 10)
        if self.sock is not None:
            self.sock.close()
        self._stderr.close()


# The migration stream

SECTION_NAME = b"dbus-vmstate/dbus-vmstate"
QEMU_VM_SECTION_FULL = 0x04
QEMU_VM_SECTION_FOOTER = 0x7E
QEMU_VM_EOF = 0x00
QEMU_VM_VMDESCRIPTION = 0x06


class StreamError(Exception):
    pass


class Stream:
    """A QEMU migration stream with its dbus-vmstate section located.

    The section is `0x04, be32 section_id, u8 len, name, be32 instance_id,
    be32 version_id`, then dbus-vmstate's fields `be32 data_size` and
    `data_size` bytes of blob, then the footer `0x7e, be32 section_id`.
    Section payloads are not self-delimiting, so the header is found by
    its bytes; it must occur exactly once, and the footer with the same
    section id must follow the blob exactly.
    """

    def __init__(self, data):
        self.data = data
        if data[:4] != b"QEVM" or struct.unpack(">I", data[4:8])[0] != 3:
            raise StreamError("not a QEMU migration stream (QEVM, version 3)")
        needle = bytes([len(SECTION_NAME)]) + SECTION_NAME
        hits = []
        start = 0
        while True:
            i = data.find(needle, start)
            if i < 0:
                break
            hits.append(i)
            start = i + 1
        # the JSON description at the end names the section too, without
        # the length byte in front; only real section headers match here
        if len(hits) != 1:
            raise StreamError(f"{len(hits)} dbus-vmstate section headers in the stream")
        name_at = hits[0]
        hdr = name_at - 5
        if data[hdr] != QEMU_VM_SECTION_FULL:
            raise StreamError("the dbus-vmstate section is not a full section")
        self.section_id = struct.unpack(">I", data[hdr + 1:hdr + 5])[0]
        p = name_at + 1 + len(SECTION_NAME)
        self.instance_id, self.version_id, size = struct.unpack(">III", data[p:p + 12])
        self.size_at = p + 8
        self.blob_at = p + 12
        self.blob_end = self.blob_at + size
        footer = data[self.blob_end:self.blob_end + 5]
        if footer != bytes([QEMU_VM_SECTION_FOOTER]) + struct.pack(">I", self.section_id):
            raise StreamError("no section footer right after the dbus-vmstate blob")
        nxt = data[self.blob_end + 5]
        if nxt not in (QEMU_VM_SECTION_FULL, 0x03, QEMU_VM_EOF):
            raise StreamError(f"unexpected byte {nxt:#x} after the dbus-vmstate section")
        eof = data.rfind(bytes([QEMU_VM_EOF, QEMU_VM_VMDESCRIPTION]))
        self.vmdesc = None
        if eof > 0:
            (n,) = struct.unpack(">I", data[eof + 2:eof + 6])
            if eof + 6 + n == len(data):
                self.vmdesc = json.loads(data[eof + 6:eof + 6 + n].rstrip(b"\0"))

    @classmethod
    def from_file(cls, path):
        with open(path, "rb") as f:
            return cls(f.read())

    @property
    def blob(self):
        return self.data[self.blob_at:self.blob_end]

    def with_blob(self, blob):
        """A copy of the stream with the section's data_size and blob replaced."""
        return (self.data[:self.size_at] + struct.pack(">I", len(blob)) + blob +
                self.data[self.blob_end:])


def parse_blob(blob):
    """Our own reading of the blob format (independent of libvmstate):
    returns ([(id, state)...], the bytes after the last entry)."""
    (count,) = struct.unpack(">I", blob[:4])
    p = 4
    entries = []
    for _ in range(count):
        (n,) = struct.unpack(">I", blob[p:p + 4])
        ident = blob[p + 4:p + 4 + n].decode()
        p += 4 + n
        (n,) = struct.unpack(">I", blob[p:p + 4])
        entries.append((ident, blob[p + 4:p + 4 + n]))
        p += 4 + n
    return entries, blob[p:]


def build_blob(entries):
    out = struct.pack(">I", len(entries))
    for ident, state in entries:
        raw = ident.encode()
        out += struct.pack(">I", len(raw)) + raw + struct.pack(">I", len(state)) + state
    return out


class Rig:
    """Owns every bus, helper and QEMU a test starts, and stops them all."""

    def __init__(self, tmpdir):
        self.tmpdir = str(tmpdir)
        self._owned = []

    def bus(self):
        b = Bus(self.tmpdir)
        self._owned.append(b)
        return b

    def helper(self, bus, id, **kw):
        h = Helper(bus, id, **kw)
        self._owned.append(h)
        return h

    def qemu(self, bus, **kw):
        q = Qemu(self.tmpdir, bus.address, **kw)
        self._owned.append(q)
        return q

    def close(self):
        errors = []
        for obj in reversed(self._owned):
            try:
                obj.stop()
            except Exception as e:  # keep stopping the others
                errors.append(e)
        self._owned = []
        if errors:
            raise errors[0]
