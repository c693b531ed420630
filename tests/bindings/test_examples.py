# test_examples.py: run every example: save from a helper, load into a
# fresh one on another bus, check that the state came back
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

from conftest import build_path, source_path  # noqa: E402

PYTHON = "/usr/bin/python3"
GJS = os.environ.get("GJS") or shutil.which("gjs") or "gjs"


def helper_argv(lang):
    return {
        "c": [build_path("examples", "counter-helper")],
        "python": [PYTHON, source_path("examples", "python", "counter-helper.py")],
        "gjs": [GJS, "-m", source_path("examples", "gjs", "counter-helper.js")],
        "vala": [build_path("examples", "counter-helper-vala")],
    }[lang]


def helper_cmd(lang, address, helper_id, count=None):
    """A counter helper's command line, the libvirt way."""
    argv = helper_argv(lang) + ["--dbus-address=" + address, "--dbus-id", helper_id]
    return argv + (["--count=%d" % count] if count is not None else [])


def collector_argv(lang):
    return {
        "c": [build_path("examples", "collector")],
        "python": [PYTHON, source_path("examples", "python", "collector.py")],
        "vala": [build_path("examples", "collector-vala")],
    }[lang]


HELPERS = ["c", "python", "gjs", "vala"]
COLLECTORS = ["c", "python", "vala"]


def blob_states(path):
    with open(path, "rb") as f:
        blob = Vmstate.Blob.new_from_bytes(GLib.Bytes.new(f.read()))
    return {i: blob.get_state(i).get_data() for i in blob.get_ids()}


@pytest.mark.parametrize("collector", COLLECTORS)
@pytest.mark.parametrize("helper", HELPERS)
def test_migrate_counter(new_bus, tmp_path, helper, collector):
    blob = str(tmp_path / "blob")
    source, dest = new_bus(), new_bus()
    source.start(helper_cmd(helper, source.address, "counter", 41))
    source.start(helper_cmd(helper, source.address, "other", 7))

    source.run(collector_argv(collector) + [source.address, "save", blob])
    assert blob_states(blob) == {"counter": b"41", "other": b"7"}

    fresh = dest.start(helper_cmd(helper, dest.address, "counter"))
    other = dest.start(helper_cmd(helper, dest.address, "other"))
    dest.run(collector_argv(collector) + [dest.address, "load", blob])
    assert fresh.read_line() == "LOADED 41"
    assert other.read_line() == "LOADED 7"

    # the restored helper saves what it loaded
    again = str(tmp_path / "again")
    dest.run(collector_argv(collector) + [dest.address, "save", again])
    assert blob_states(again) == {"counter": b"41", "other": b"7"}


@pytest.mark.parametrize("helper", HELPERS)
def test_across_languages(new_bus, tmp_path, helper):
    """A counter saved by one language's helper loads into the next one's."""
    target = HELPERS[(HELPERS.index(helper) + 1) % len(HELPERS)]
    blob = str(tmp_path / "blob")
    source, dest = new_bus(), new_bus()
    source.start(helper_cmd(helper, source.address, "counter", 12345))
    source.run(collector_argv("c") + [source.address, "save", blob])
    fresh = dest.start(helper_cmd(target, dest.address, "counter"))
    dest.run(collector_argv("python") + [dest.address, "load", blob])
    assert fresh.read_line() == "LOADED 12345"


@pytest.mark.parametrize("collector", COLLECTORS)
def test_collector_list(bus, collector):
    a = bus.start(helper_cmd("c", bus.address, "b-helper"))
    b = bus.start(helper_cmd("c", bus.address, "a-helper"))
    out = bus.run(collector_argv(collector) + [bus.address, "list"]).stdout.splitlines()
    assert [line.split()[0] for line in out] == ["a-helper", "b-helper"]
    assert all(line.split()[1].startswith(":") for line in out)
    assert a.alive() and b.alive()


# what each example says about "forty-one"
REASON = {
    "c": "forty-one",                     # GLib's g_ascii_string_to_unsigned()
    "python": "invalid literal for int()",  # ValueError, turned into a GError by the override
    "gjs": 'not a counter: "forty-one"',  # a plain JS Error
    "vala": 'not a counter: "forty-one"',  # a Vala errordomain
}


@pytest.mark.parametrize("helper", HELPERS)
def test_helper_rejects_a_bad_state(bus, tmp_path, helper):
    """Each language's natural way to fail a Load reaches the collector
    as an error with the helper's message, and the helper lives on."""
    blob = Vmstate.Blob.new()
    blob.add("counter", GLib.Bytes.new(b"forty-one"))
    path = tmp_path / "bad"
    path.write_bytes(blob.to_bytes().get_data())

    proc = bus.start(helper_cmd(helper, bus.address, "counter", 3))
    result = bus.run(collector_argv("python") + [bus.address, "load", str(path)], check=False)
    assert result.returncode != 0
    assert "counter" in result.stderr
    assert REASON[helper] in result.stderr
    assert proc.alive()

    # its counter is untouched
    good = str(tmp_path / "good")
    bus.run(collector_argv("c") + [bus.address, "save", good])
    assert blob_states(good) == {"counter": b"3"}


@pytest.mark.parametrize("collector", COLLECTORS)
def test_collector_reports_errors(bus, tmp_path, collector):
    bus.start(helper_cmd("c", bus.address, "counter"))
    missing = str(tmp_path / "missing")
    result = bus.run(collector_argv(collector) + [bus.address, "load", missing], check=False)
    assert result.returncode == 1
    assert "missing" in result.stderr
