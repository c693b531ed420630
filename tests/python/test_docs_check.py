# test_docs_check.py: gi-docgen check covers the whole GIR
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import subprocess

SOURCE = os.environ["VMSTATE_SOURCE_ROOT"]
BUILD = os.environ["VMSTATE_BUILD_ROOT"]


def test_docgen_config_hides_nothing():
    """Every symbol of the GIR is documented: none is left out of the
    check (VMSTATE_DEPRECATED_FOR once was)."""
    with open(os.path.join(SOURCE, "doc", "libvmstate.toml.in")) as f:
        config = f.read()
    assert "check_ignore" not in config
    assert "hidden" not in config


def test_docgen_check_whole_gir():
    gidocgen = shutil.which("gi-docgen")
    assert gidocgen, "gi-docgen is not installed (./run installs it)"
    proc = subprocess.run(
        [gidocgen, "check", "--fatal-warnings",
         "--config", os.path.join(BUILD, "doc", "libvmstate.toml"),
         "--add-include-path=" + os.path.join(BUILD, "libvmstate"),
         os.path.join(BUILD, "libvmstate", "Vmstate-1.0.gir")],
        capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WARNING" not in proc.stdout + proc.stderr
