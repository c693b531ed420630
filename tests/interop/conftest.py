# conftest.py: fixtures of the QEMU interop tests
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

import pytest

import vmstate_interop as vi


def pytest_configure(config):
    build = os.environ.get("VMSTATE_BUILD_ROOT")
    source = os.environ.get("VMSTATE_SOURCE_ROOT")
    if build and "VMSTATE_TEST_HELPER" not in os.environ:
        os.environ["VMSTATE_TEST_HELPER"] = os.path.join(build, "tests", "helper", "vmstate-test-helper")
    if source and "VMSTATE_PY_HELPER" not in os.environ:
        os.environ["VMSTATE_PY_HELPER"] = os.path.join(source, "tests", "interop",
                                                       "vmstate-py-helper.py")


@pytest.fixture
def rig(tmp_path):
    """Starts buses, helpers and QEMUs for one test and stops them all."""
    if vi.find_qemu() is None:
        pytest.skip("qemu-system-x86_64 is not installed (Debian: apt install qemu-system-x86)")
    for var in ("VMSTATE_TEST_HELPER", "VMSTATE_PY_HELPER"):
        assert os.path.exists(os.environ.get(var, "")), f"{var} not set or missing; run under meson test"
    r = vi.Rig(tmp_path)
    try:
        yield r
    finally:
        r.close()


def pytest_sessionfinish(session, exitstatus):
    # every test skipped (no QEMU): tell meson, which counts 77 as SKIP;
    # with -Dstrict_tests=true the skips have failed (tests/vmstate_strict.py)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or exitstatus != 0:
        return
    stats = reporter.stats
    if stats.get("skipped") and not stats.get("passed") and not stats.get("failed"):
        session.exitstatus = 77
