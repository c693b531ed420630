# vmstate_strict.py: a pytest plugin that turns skips into failures
#
# Every pytest run of the test suite loads it (`-p vmstate_strict`, with
# this directory on PYTHONPATH). With VMSTATE_TEST_STRICT=1 in the
# environment, which `meson setup -Dstrict_tests=true` (what ./run and CI
# use) puts in every test's environment, a test or a module that skips
# (no QEMU, not root, ...) fails instead, saying why it would have
# skipped: a suite that did not run cannot pass. Without it, skips stay
# skips, for runs by hand. Expected failures (xfail) are not skips.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

import pytest

STRICT = os.environ.get("VMSTATE_TEST_STRICT") == "1"


def _fail_skip(report):
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = ("skipped, and VMSTATE_TEST_STRICT=1 (meson -Dstrict_tests=true) "
                           "makes a skip a failure: " + reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if STRICT:
        _fail_skip(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    if STRICT:
        _fail_skip(outcome.get_result())


def pytest_report_header(config):
    return "VMSTATE_TEST_STRICT=1: a skip is a failure" if STRICT else None
