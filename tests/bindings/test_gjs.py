# test_gjs.py: a helper written in GJS, called by a collector over a
# private bus: what reaches the collector when the JS code returns true,
# forgets to, throws a plain Error, throws a GLib.Error, or breaks; a
# helper that keeps no reference to its service; export_async; the GJS
# snippet of the error domain's page against a real collector error
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import signal
import subprocess

import gi
import pytest

gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate  # noqa: E402

from conftest import (TIMEOUT, blob_for, check_failed_without_error,  # noqa: E402
                      check_kept_without_reference, collector, error_page_snippet,
                      source_path)

GJS = os.environ.get("GJS") or shutil.which("gjs") or "gjs"


def start(bus, mode, helper_id="js"):
    return bus.start([GJS, "-m", source_path("tests", "bindings", "gjs-helper.js"),
                      bus.address, helper_id, mode])


def call_fails(bus, mode, op, code):
    """Starts the helper in MODE and calls its Save or Load (of a state for
    "js"), which must fail with the Vmstate.Error CODE; returns the helper
    process, the collector and the message."""
    proc = start(bus, mode)
    c = collector(bus)
    with pytest.raises(GLib.Error) as info:
        if op == "save":
            c.save_sync(None)
        else:
            c.load_sync(blob_for("js", b"x"), None)
    assert info.value.matches(Vmstate.error_quark(), code), info.value.message
    return proc, c, info.value.message


@pytest.mark.parametrize("mode", ["plain", "export-async"])
def test_plain_save_and_load_that_returns_true(bus, mode):
    proc = start(bus, mode)
    c = collector(bus)
    blob = Vmstate.Blob.new_from_bytes(c.save_sync(None))
    assert blob.get_ids() == ["js"]
    assert blob.get_state("js").get_data() == b"\x01\x02\x03"

    assert c.load_sync(blob_for("js", b"four"), None)
    assert proc.read_line() == "LOADED 4"


@pytest.mark.parametrize("op", ["save", "load"])
def test_throwing_a_plain_error_is_an_error_reply(bus, op):
    proc, c, message = call_fails(bus, "throw", op, Vmstate.Error.HELPER_FAILED)
    assert "%s went wrong in JS" % op in message
    assert "js" in message
    # the helper neither crashed nor emitted loaded, and still answers
    assert proc.alive()
    assert start(bus, "plain", "js2")
    c.set_required_ids(["js2"])
    assert Vmstate.Blob.new_from_bytes(c.save_sync(None)).get_ids() == ["js2"]
    assert proc.alive()


@pytest.mark.parametrize("op", ["save", "load"])
def test_throwing_a_gerror_keeps_its_code_and_message(bus, op):
    """A Vmstate.Error thrown in JS crosses the bus with its code."""
    proc, _, message = call_fails(bus, "gerror", op, Vmstate.Error.NOT_SUPPORTED)
    assert "%s is not supported here" % op in message
    assert proc.alive()


@pytest.mark.parametrize("op", ["save", "load"])
def test_a_js_bug_is_an_error_reply(bus, op):
    """Returning a string from vfunc_save, or a TypeError in vfunc_load."""
    proc, _, message = call_fails(bus, "type", op, Vmstate.Error.HELPER_FAILED)
    # GJS 1.74 says "Expected type struct for Return value but got type
    # 'string'" and "undefined has no properties"
    detail = "string" if op == "save" else "undefined"
    assert detail in message
    assert proc.alive()

    # and the helper says it on its own stderr, naming itself and the call
    os.kill(proc.pid, signal.SIGTERM)
    proc.proc.wait(TIMEOUT)
    logged = [line for line in proc.stderr().splitlines()
              if "helper 'js' (:" in line and "): %s failed: " % op.capitalize() in line]
    assert len(logged) == 1 and detail in logged[0], proc.stderr()


def test_a_load_that_forgets_to_return_true_fails_clearly(bus):
    """vfunc_load returns a boolean: a JS function that ends without
    `return true` returns false without an error, and the Load fails with
    an error that names the helper and says what happened."""
    proc = start(bus, "noreturn")
    c = collector(bus)
    with pytest.raises(GLib.Error) as info:
        c.load_sync(blob_for("js", b"x"), None)
    check_failed_without_error(c, info.value, "js")
    assert "return true" in info.value.message
    assert proc.alive()


def test_a_helper_that_keeps_no_reference_survives_gc(bus):
    """new Keeper({id}).export(connection) and no reference kept: after
    System.gc() the service is still on the bus, and its JS wrapper with
    its `state` property too."""
    proc = start(bus, "unreferenced", "kept")
    check_kept_without_reference(bus, proc, "kept")


def test_allowed_uids_property_and_accessors_agree():
    """The property and get/set_allowed_uids() are one GLib.Variant `au`
    in GJS, both ways; null or an empty list restores the default."""
    result = subprocess.run([GJS, "-m", source_path("tests", "bindings", "gjs-allowed-uids.js"),
                             str(os.geteuid())],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["OK"]


def test_error_page_gjs_snippet_matches_a_collector_error(bus, tmp_path):
    """The snippet, as written, catches the collector's error for a
    required helper that is not on the bus; the error is also an
    instance of Vmstate.Error."""
    script = tmp_path / "match.js"
    script.write_text("""import GLib from 'gi://GLib';
import Vmstate from 'gi://Vmstate?version=1.0';
const collector = Vmstate.Collector.new_for_address_sync(ARGV[0], null);
collector.set_required_ids(['absent']);
let matched = false;
""" + error_page_snippet("js").replace(
        "...", "{ matched = true; print(`MATCHED ${e instanceof Vmstate.Error} ${e.message}`); }") + """
if (!matched)
    print('NOT MATCHED');
""")
    result = subprocess.run([GJS, "-m", str(script), bus.address], stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("MATCHED true "), result.stdout + result.stderr
    assert "'absent'" in lines[0]
