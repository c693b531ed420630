# test_vmstate_strict.py: with VMSTATE_TEST_STRICT=1 (meson
# -Dstrict_tests=true, what ./run and CI use), a test that skips fails:
# the plugin (vmstate_strict.py) on made-up tests, and the suites that
# skip when a program is missing or the user is not root, run in a
# subprocess where QEMU is "missing" or as another user.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

TESTS = os.path.dirname(os.path.abspath(__file__))
TIMEOUT = 120

SKIPPING = '''
import pytest

def test_runs():
    pass

def test_skips():
    pytest.skip("no frobnicator here")

@pytest.mark.skipif(True, reason="marked to skip")
def test_marked():
    pass

@pytest.mark.xfail(strict=True, reason="a known bug")
def test_expected_failure():
    assert False
'''

SKIPPING_MODULE = '''
import pytest
pytest.skip("the whole module skips", allow_module_level=True)
'''


def pytest_run(args, strict, prefix=(), cwd=None, **env):
    """Runs pytest with the plugin, as meson does; returns (status, output)."""
    environ = {k: v for k, v in os.environ.items() if k != 'VMSTATE_TEST_STRICT'}
    environ.update(env)
    environ['PYTHONPATH'] = TESTS + ':' + environ.get('PYTHONPATH', '')
    if strict:
        environ['VMSTATE_TEST_STRICT'] = '1'
    r = subprocess.run([*prefix, sys.executable, '-m', 'pytest', '-p', 'no:cacheprovider',
                        '-p', 'vmstate_strict', '-rA', *args], capture_output=True, text=True,
                       timeout=TIMEOUT, env=environ, cwd=cwd)
    return r.returncode, r.stdout + r.stderr


def test_skips_pass_by_hand(tmp_path):
    (tmp_path / 'test_skipping.py').write_text(SKIPPING)
    (tmp_path / 'test_skipping_module.py').write_text(SKIPPING_MODULE)
    status, out = pytest_run([str(tmp_path)], strict=False)
    assert status == 0, out
    assert '1 passed, 3 skipped, 1 xfailed' in out


def test_skips_fail_when_strict(tmp_path):
    (tmp_path / 'test_skipping.py').write_text(SKIPPING)
    status, out = pytest_run(['test_skipping.py'], strict=True, cwd=tmp_path)
    assert status == 1, out
    assert 'VMSTATE_TEST_STRICT=1: a skip is a failure' in out
    assert 'FAILED test_skipping.py::test_skips' in out
    assert 'ERROR test_skipping.py::test_marked' in out   # skipif skips in setup
    assert 'makes a skip a failure: Skipped: no frobnicator here' in out
    assert 'makes a skip a failure: Skipped: marked to skip' in out
    # passes and expected failures are what they were
    assert 'PASSED test_skipping.py::test_runs' in out
    assert 'XFAIL test_skipping.py::test_expected_failure' in out
    assert 'skipped' not in out.splitlines()[-1]

    (tmp_path / 'test_skipping_module.py').write_text(SKIPPING_MODULE)
    status, out = pytest_run(['test_skipping_module.py'], strict=True, cwd=tmp_path)
    assert status != 0, out
    assert 'makes a skip a failure: Skipped: the whole module skips' in out


@pytest.mark.parametrize('strict, expected', [(False, 77), (True, 1)])
def test_interop_without_qemu(tmp_path, strict, expected):
    """The interop suite tells meson SKIP (77) when nothing ran; strict,
    it fails."""
    status, out = pytest_run([os.path.join(TESTS, 'interop', 'test_example.py')], strict,
                             cwd=os.path.join(TESTS, 'interop'), QEMU=str(tmp_path / 'no-qemu'))
    assert status == expected, out
    assert 'qemu-system-x86_64 is not installed' in out


@pytest.mark.parametrize('strict', [False, True])
@pytest.mark.parametrize('args, missing, says', [
    (['test_qemu.py'], {'QEMU': 'no-qemu-here'}, 'qemu-system-x86_64 is not installed'),
    (['-k', 'man_page_documents', 'test_docs.py'], {'VMSTATE_MAN': ''},
     'help2man was not found'),
])
def test_cli_without_a_program(strict, args, missing, says):
    status, out = pytest_run(args, strict, cwd=os.path.join(TESTS, 'cli'), **missing)
    assert status == (1 if strict else 0), out
    assert says in out
    assert ' passed' not in out.splitlines()[-1]


@pytest.mark.parametrize('strict', [False, True])
def test_root_only_test_as_another_user(strict):
    """The bus test that needs root: as nobody, it skips by hand and fails
    strict (run as root, as CI does, it runs: tests/cli/test_bus.py)."""
    prefix = []
    if os.getuid() == 0:
        assert shutil.which('setpriv'), 'setpriv (util-linux) is needed to run as nobody'
        prefix = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    home = tempfile.mkdtemp(prefix='vmstate-strict-', dir='/tmp')  # nobody's, for the run
    try:
        os.chmod(home, 0o777)
        status, out = pytest_run(['-k', 'test_bus_refuses_other_users', '--basetemp', home + '/t',
                                  os.path.join(TESTS, 'cli', 'test_bus.py')], strict,
                                 prefix=prefix, cwd=home, HOME=home)
    finally:
        shutil.rmtree(home)
    assert status == (1 if strict else 0), out
    assert 'needs root and setpriv' in out
