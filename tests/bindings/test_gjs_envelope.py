# test_gjs_envelope.py: a GJS helper with versioned, compressed states
# (issue 13): a v1 -> v2 upgrade through get_loading_version(), and a
# newer state refused by an older GJS helper through the collector
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

from conftest import collector, source_path  # noqa: E402

GJS = os.environ.get("GJS") or shutil.which("gjs") or "gjs"


def start(bus, version, helper_id="fw"):
    return bus.start([GJS, "-m", source_path("tests", "bindings", "gjs-envelope.js"),
                      bus.address, helper_id, str(version)])


def test_gjs_upgrade_v1_to_v2(bus):
    v1 = start(bus, 1)
    c = collector(bus)
    blob = c.save_sync(None)
    state = Vmstate.Blob.new_from_bytes(blob).get_state("fw")
    assert Vmstate.Envelope.new_from_bytes(state).get_version() == 1
    v1.stop()

    proc = start(bus, 2)
    assert c.load_sync(blob, None)
    assert proc.read_line() == 'LOADED 1 {"ssh":{"port":22,"proto":"tcp"}}'


def test_gjs_newer_state_on_older_helper(bus):
    v2 = start(bus, 2)
    c = collector(bus)
    blob = c.save_sync(None)
    v2.stop()
    v1 = start(bus, 1)
    with pytest.raises(GLib.Error) as info:
        c.load_sync(blob, None)
    e = info.value
    assert e.matches(Vmstate.error_quark(), Vmstate.Error.VERSION_TOO_NEW), e.message
    assert "'fw'" in e.message and "version 2" in e.message and "state-version 1" in e.message
    assert v1.alive()
