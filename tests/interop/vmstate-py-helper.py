#!/usr/bin/python3
# vmstate-py-helper.py: a helper written in Python on Vmstate.Service
#
# The Python twin of tests/helper/vmstate-test-helper.c for the interop tests:
# the same deterministic state, the same "READY <unique-name> <pid>" and
# "LOADED <size> <sha256>" lines, and it exits when its stdin closes.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import hashlib
import os
import sys

import gi

gi.require_version("Vmstate", "1.0")
from gi.repository import Gio, GLib, Vmstate  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from vmstate_testbus import make_state  # noqa: E402  (the C test helper's state)


class StateHelper(Vmstate.Service):
    """A state, and an error for Save or Load if asked."""

    def __init__(self, state, save_error=None, load_error=None, **kw):
        super().__init__(**kw)
        self.state = state
        self.save_error = save_error
        self.load_error = load_error


class PyHelper(StateHelper):
    def do_save(self):
        if self.save_error is not None:
            raise GLib.Error(self.save_error, "g-io-error-quark", Gio.IOErrorEnum.FAILED)
        return GLib.Bytes.new(self.state)

    def do_load(self, state):
        if self.load_error is not None:
            raise GLib.Error(self.load_error, "g-io-error-quark", Gio.IOErrorEnum.FAILED)
        data = state.get_data() or b""
        self.state = bytes(data)
        if self.props.state_version:
            print("LOADED-VERSION", self.get_loading_version(), flush=True)
        print("LOADED", len(data), hashlib.sha256(data).hexdigest(), flush=True)


class PlainPyHelper(StateHelper):
    """The same helper as a user writes it with libvmstate's PyGObject
    override (bindings/python): bytes in and out, plain exceptions."""

    def do_save(self):
        if self.save_error is not None:
            raise RuntimeError(self.save_error)
        return self.state

    def do_load(self, state):
        if self.load_error is not None:
            raise RuntimeError(self.load_error)
        self.state = bytes(state)
        print("LOADED", len(self.state), hashlib.sha256(self.state).hexdigest(), flush=True)


def main():
    p = argparse.ArgumentParser(description="a libvmstate helper in Python")
    p.add_argument("--address", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--state-size", type=int, default=16)
    p.add_argument("--state-seed", type=int, default=0)
    p.add_argument("--save-error")
    p.add_argument("--load-error")
    p.add_argument("--plain", action="store_true",
                   help="return bytes and raise plain exceptions (needs the override)")
    # issue 13: versioned, compressed states
    p.add_argument("--state-file", help="the state is this file's contents")
    p.add_argument("--state-version", type=int, default=0)
    p.add_argument("--compress", action="store_true")
    args = p.parse_args()

    conn = Gio.DBusConnection.new_for_address_sync(
        args.address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION,
        None, None)
    cls = PlainPyHelper if args.plain else PyHelper
    if args.state_file:
        with open(args.state_file, "rb") as f:
            state = f.read()
    else:
        state = make_state(args.state_size, args.state_seed)
    service = cls(state, save_error=args.save_error, load_error=args.load_error,
                  id=args.id, state_version=args.state_version, compress=args.compress)
    if args.state_file:
        service.props.max_uncompressed_size = max(len(state), 64 << 20)
    service.export(conn)

    loop = GLib.MainLoop()

    def on_stdin(fd, condition):
        if condition & GLib.IOCondition.IN:
            try:
                if os.read(fd, 64):
                    return GLib.SOURCE_CONTINUE
            except OSError:
                pass
        loop.quit()
        return GLib.SOURCE_REMOVE

    GLib.unix_fd_add_full(GLib.PRIORITY_DEFAULT, 0,
                          GLib.IOCondition.IN | GLib.IOCondition.HUP | GLib.IOCondition.ERR,
                          on_stdin)
    print("READY", conn.get_unique_name(), os.getpid(), flush=True)
    loop.run()
    service.unexport()
    return 0


if __name__ == "__main__":
    sys.exit(main())
