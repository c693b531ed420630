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
