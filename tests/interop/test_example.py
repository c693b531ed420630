#!/usr/bin/python3
# test_example.py: examples/qemu/qemu-migrate.py runs and shows what it says
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess

import pytest

import vmstate_interop as vi


def test_qemu_example():
    if vi.find_qemu() is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian: apt install qemu-system-x86)")
    script = os.path.join(os.environ["VMSTATE_SOURCE_ROOT"], "examples", "qemu", "qemu-migrate.py")
    proc = subprocess.Popen(["/usr/bin/python3", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.terminate()  # the example stops what it started on SIGTERM
            proc.communicate(timeout=30)
    assert proc.returncode == 0, stdout + stderr
    lines = stdout.splitlines()
    assert '   nat: LOADED {"tcp:2222": "10.0.2.15:22", "udp:5353": "10.0.2.15:53"}' in lines
    assert '   dns: LOADED {"vm.example": "10.0.2.15"}' in lines
    assert '   dns: {"vm.example": "10.0.2.15"}  same' in lines
    assert '   nat: {"tcp:2222": "10.0.2.15:22", "udp:5353": "10.0.2.15:53"}  same' in lines
    assert "DIFFERENT" not in stdout
