# Vmstate.py: PyGObject override for libvmstate
#
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Make VmstateService feel native in Python.

A subclass writes:

    class Counter(Vmstate.Service):
        def do_save(self):
            return self.count.to_bytes(8, "big")      # bytes or GLib.Bytes
        def do_load(self, state):                     # state behaves like bytes
            self.count = int.from_bytes(state, "big")

The override wraps ``do_save`` and ``do_load`` of every subclass so that:

- ``do_save`` may return ``bytes``, ``bytearray``, ``memoryview`` or
  ``GLib.Bytes``;
- ``do_load`` receives a ``bytes`` object (which also has ``get_data()``
  and ``get_size()``, like ``GLib.Bytes``) and may simply end: the
  override returns ``True`` to C for it, unless it returned ``False``
  (without the override, a ``do_load`` must ``return True``, and one
  that ends or raises fails the Load);
- any exception raised by either becomes a ``GLib.Error`` whose message
  carries the exception, so the collector gets a D-Bus error naming the
  cause instead of a silent failure (PyGObject alone hands a plain
  exception to C as a failure without an error, and prints it).

``Vmstate.Service.run(argv=None)`` runs the helper the way libvirt runs
it (``vmstate_service_run()``): it parses ``argv`` (default
``sys.argv``: ``--dbus-address=ADDR``, ``--dbus-id``, ``--dbus-incoming``,
``--exit-with-parent``, ``--print-capabilities`` and the options added
with ``add_main_option()``), joins the bus, serves until SIGTERM or
SIGINT and returns the exit status for ``sys.exit()``.
"""

import functools
import logging
import sys

from gi.repository import GLib

from ..importer import modules
from ..overrides import override

Vmstate = modules["Vmstate"]._introspection_module

__all__ = []

_log = logging.getLogger("vmstate")


class State(bytes):
    """A helper's state as ``do_load`` receives it: ``bytes`` that also
    answer ``get_data()`` and ``get_size()`` like ``GLib.Bytes``."""

    def get_data(self):
        return bytes(self)

    def get_size(self):
        return len(self)


def _as_gerror(exc, what):
    if isinstance(exc, GLib.Error):
        return exc
    _log.error("%s raised %s", what, type(exc).__name__, exc_info=exc)
    return GLib.Error.new_literal(Vmstate.error_quark(),
                                  "%s raised %s: %s" % (what, type(exc).__name__, exc),
                                  Vmstate.Error.HELPER_FAILED)


def _to_gbytes(value, what):
    if isinstance(value, GLib.Bytes):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return GLib.Bytes.new(bytes(value))
    raise TypeError("%s must return bytes or GLib.Bytes, not %s" % (what, type(value).__name__))


def _wrap_save(fn):
    @functools.wraps(fn)
    def do_save(self):
        what = "%s.do_save()" % type(self).__name__
        try:
            return _to_gbytes(fn(self), what)
        except Exception as exc:  # noqa: BLE001 - every failure must reach the collector
            raise _as_gerror(exc, what) from exc
    do_save._vmstate_wrapped = True
    return do_save


def _wrap_load(fn):
    @functools.wraps(fn)
    def do_load(self, state):
        what = "%s.do_load()" % type(self).__name__
        try:
            data = state.get_data() if isinstance(state, GLib.Bytes) else state
            result = fn(self, State(data if data is not None else b""))
        except Exception as exc:  # noqa: BLE001
            raise _as_gerror(exc, what) from exc
        # The C vfunc returns a gboolean: ending is success, but a do_load
        # written for PyGObject alone may say False, which must not be.
        if result is False:
            raise GLib.Error.new_literal(Vmstate.error_quark(), "%s returned False" % what,
                                         Vmstate.Error.HELPER_FAILED)
        return True
    do_load._vmstate_wrapped = True
    return do_load


class Service(Vmstate.Service):
    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name, wrap in (("do_save", _wrap_save), ("do_load", _wrap_load)):
            fn = cls.__dict__.get(name)
            if fn is not None and not getattr(fn, "_vmstate_wrapped", False):
                setattr(cls, name, wrap(fn))

    def run(self, argv=None):
        """Run the helper as libvirt runs it, with the command line
        ``argv`` (default ``sys.argv``, the program's name first): see
        ``vmstate_service_run()``. Returns the exit status for
        ``sys.exit()``: 0 after SIGTERM or SIGINT, 1 when the bus
        connection closes, 2 for a usage error."""
        if argv is None:
            argv = sys.argv
        if isinstance(argv, (str, bytes)):
            raise TypeError("run() takes the command line as a list, such as sys.argv, "
                            "not %r (give the bus as --dbus-address=ADDRESS)" % (argv,))
        return super().run(list(argv))


Service = override(Service)
__all__.append("Service")
__all__.append("State")
