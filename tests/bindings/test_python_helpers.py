# test_python_helpers.py: Python helper processes (tests/bindings/py-helper.py)
# driven by a collector: a helper that keeps no reference to its service
# stays on the bus, and without the override a do_load that raises or
# returns nothing fails the Load instead of losing the state silently;
# the error domain's page: its D-Bus names, and its Python snippet run
# against a real collector error
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import Gio, GLib, Vmstate  # noqa: E402

from conftest import (blob_for, check_failed_without_error,  # noqa: E402
                      check_kept_without_reference, collector, documented_error_names,
                      error_page_snippet, saved, source_path)

PYTHON = "/usr/bin/python3"
OVERRIDE_PATH = source_path("bindings", "python")


def start(bus, helper_id, mode):
    env = dict(os.environ)
    if mode.startswith("bare-"):
        # as in a venv whose PyGObject does not see the installed override
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in env.get("PYTHONPATH", "").split(os.pathsep)
            if p and os.path.realpath(p) != os.path.realpath(OVERRIDE_PATH))
    return bus.start([PYTHON, source_path("tests", "bindings", "py-helper.py"),
                      bus.address, helper_id, mode], env=env)


def test_a_helper_that_keeps_no_reference_stays_on_the_bus(bus):
    """Keeper(id=...).export(connection) with no reference kept: the export
    keeps the service, and its Python wrapper with its attributes, alive
    across garbage collections."""
    proc = start(bus, "kept", "unreferenced")
    check_kept_without_reference(bus, proc, "kept")


def test_without_the_override_do_load_returning_true_succeeds(bus):
    proc = start(bus, "bare", "bare-true")
    c = collector(bus, "bare")
    assert saved(c, "bare") == b"bare"
    assert c.load_sync(blob_for("bare", b"fine"), None)
    assert proc.read_line() == "LOADED fine"


@pytest.mark.parametrize("mode", ["bare-raise", "bare-none"])
def test_without_the_override_a_failed_do_load_fails_the_load(bus, mode):
    """PyGObject alone prints an exception escaping do_load and returns
    FALSE without an error, as it does for a do_load that returns None:
    the collector gets an error naming the helper, never a success."""
    proc = start(bus, "bare", mode)
    c = collector(bus, "bare")
    with pytest.raises(GLib.Error) as info:
        c.load_sync(blob_for("bare", b"lost?"), None)
    assert proc.read_line() == "LOADED lost?"
    check_failed_without_error(c, info.value, "bare")
    # the helper lives on and still answers
    assert saved(c, "bare") == b"bare"
    assert proc.alive()


def test_error_page_gives_every_code_its_d_bus_name():
    """The names a helper written without libvmstate must use are the
    ones GDBus sends for each code of the domain."""
    documented = documented_error_names()
    codes = {name: value for name, value in vars(Vmstate.Error).items()
             if name.isupper() and isinstance(value, int)}
    assert set(documented) == set(codes)
    for name, code in codes.items():
        sent = Gio.DBusError.encode_gerror(GLib.Error.new_literal(Vmstate.error_quark(), "x", code))
        assert sent == documented[name], name


def test_error_page_python_snippet_matches_a_collector_error(bus):
    """The snippet, as written, catches the collector's error for a
    required helper that is not on the bus."""
    c = collector(bus, "absent")
    code = error_page_snippet("python").replace("...", "matched.append(e.message)")
    matched = []
    exec(code, {"collector": c, "GLib": GLib, "Vmstate": Vmstate, "matched": matched})
    assert len(matched) == 1 and "'absent'" in matched[0], matched
