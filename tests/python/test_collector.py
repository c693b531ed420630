# test_collector.py: VmstateCollector from Python, through PyGObject from
# the build tree
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess
import sys

# Runs in a child process, so that a hang (the bug this guards against:
# save_sync never returned) fails the test at the timeout instead of
# blocking the suite forever.
NO_CONNECTION = r"""
import gi
gi.require_version("Vmstate", "1.0")
from gi.repository import GLib, Vmstate

collector = Vmstate.Collector()
for name, call in (("list_helpers_sync", lambda: collector.list_helpers_sync(None)),
                   ("save_sync", lambda: collector.save_sync(None)),
                   ("load_sync", lambda: collector.load_sync(GLib.Bytes.new(b"\0\0\0\0"), None))):
    try:
        call()
    except GLib.Error as e:
        assert e.matches(Vmstate.Error.quark(), Vmstate.Error.FAILED), e
        assert "no connection" in e.message, e.message
        print(name, "raised:", e.message)
    else:
        raise AssertionError(name + " did not raise")
print("DONE")
"""


def test_collector_without_connection_fails_at_once():
    proc = subprocess.run([sys.executable, "-c", NO_CONNECTION],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "DONE", proc.stdout
    assert "save_sync raised" in proc.stdout
    # the construction warned, and said what to use instead
    assert "created without a connection" in proc.stderr
    assert "vmstate_collector_new()" in proc.stderr
    assert "Vmstate.Collector.new()" in proc.stderr


def test_library_leaves_the_allocator_alone():
    """No process-wide tricks: malloc_trim() takes every arena lock of the
    VMM that links the library, inside the VM's downtime."""
    lib = os.path.join(os.environ["VMSTATE_BUILD_ROOT"], "libvmstate", "libvmstate-1.0.so")
    out = subprocess.run(["nm", "-D", "--undefined-only", lib],
                         capture_output=True, text=True, check=True).stdout
    symbols = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.strip()}
    assert "g_object_new" in symbols, "nm listed no imports: " + out[:200]
    for forbidden in ("malloc_trim", "mallopt", "malloc_stats"):
        assert forbidden not in symbols


def _failed_helpers(collector, start):
    """Runs an async save or load; returns (error, failed helpers)."""
    from gi.repository import GLib
    loop = GLib.MainLoop()
    box = {}

    def done(source, result):
        finish = source.save_finish if "save" in box["name"] else source.load_finish
        try:
            finish(result)
            box["error"] = None
        except GLib.Error as e:
            box["error"] = e
        box["failed"] = source.get_failed_helpers(result)
        loop.quit()

    box["name"] = start.__name__
    start(done)
    loop.run()
    return box["error"], box["failed"]


def test_failed_helpers_name_the_helper_without_parsing(bus, spawn_helper):
    import gi
    gi.require_version("Vmstate", "1.0")
    from gi.repository import GLib, Vmstate

    long_id = "p" * 255
    bad = spawn_helper("--id", long_id, "--save-error", "disk on fire")
    spawn_helper("--id", "good")
    twins = [spawn_helper("--id", "twin") for _ in range(2)]
    collector = Vmstate.Collector.new_for_address_sync(bus.address, None)

    # two holders of a listed Id: both, with their pids
    collector.props.required_ids = ["twin"]

    def save(cb):
        collector.save_async(None, cb)
    error, failed = _failed_helpers(collector, save)
    assert error.matches(Vmstate.Error.quark(), Vmstate.Error.DUPLICATE_ID)
    assert sorted((h.props.id, h.props.unique_name, h.props.pid) for h in failed) == \
        sorted(("twin", t.unique_name, t.pid) for t in twins)

    # a helper that failed: its whole Id, though the message cuts it short
    collector.props.required_ids = [long_id, "good"]
    error, failed = _failed_helpers(collector, save)
    assert error.matches(Vmstate.Error.quark(), Vmstate.Error.HELPER_FAILED)
    assert long_id not in error.message
    assert [(h.get_id(), h.get_unique_name()) for h in failed] == [(long_id, bad.unique_name)]

    # a success, and a failure that is no helper's
    collector.props.required_ids = ["good"]
    error, failed = _failed_helpers(collector, save)
    assert error is None and list(failed) == []

    def load(cb):
        collector.load_async(GLib.Bytes.new(b"garbage"), None, cb)
    error, failed = _failed_helpers(collector, load)
    assert error.matches(Vmstate.Error.quark(), Vmstate.Error.INVALID_BLOB)
    assert list(failed) == []
