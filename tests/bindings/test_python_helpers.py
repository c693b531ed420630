# test_python_helpers.py: Python helper processes (tests/bindings/py-helper.py)
# driven by a collector: a helper that keeps no reference to its service
# stays on the bus, and without the override a do_load that raises or
# returns nothing fails the Load instead of losing the state silently
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

from conftest import source_path  # noqa: E402

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


def collector(bus, *ids):
    c = Vmstate.Collector.new_for_address_sync(bus.address, None)
    c.set_timeout_msec(10000)
    c.set_required_ids(list(ids))
    return c


def blob_for(helper_id, data):
    blob = Vmstate.Blob.new()
    blob.add(helper_id, GLib.Bytes.new(data))
    return blob.to_bytes()


def saved(c, helper_id):
    return Vmstate.Blob.new_from_bytes(c.save_sync(None)).get_state(helper_id).get_data()


def test_a_helper_that_keeps_no_reference_stays_on_the_bus(bus):
    """Keeper(id=...).export(connection) with no reference kept: the export
    keeps the service, and its Python wrapper with its attributes, alive
    across garbage collections."""
    proc = start(bus, "kept", "unreferenced")
    c = collector(bus, "kept")
    assert saved(c, "kept") == b"kept by kept"
    proc.expect("COLLECTED")

    assert c.load_sync(blob_for("kept", b"restored"), None)
    proc.expect("COLLECTED")
    assert saved(c, "kept") == b"restored"
    proc.expect("COLLECTED")
    assert proc.alive()


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
    assert info.value.matches(Vmstate.error_quark(), Vmstate.Error.HELPER_FAILED)
    message = info.value.message
    assert "'bare'" in message
    assert "failed without setting an error" in message
    (helper,) = c.list_helpers_sync(None)
    assert helper.get_unique_name() in message
    # the helper lives on and still answers
    assert saved(c, "bare") == b"bare"
    assert proc.alive()
