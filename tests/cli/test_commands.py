# vmstate list, save, load and serve against a real private bus, real
# `vmstate serve` helpers and the C test helper; usage errors.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import json
import os
import pty
import signal
import stat
import subprocess

import pytest

from conftest import (FIXTURE_DIR, VMSTATE, TIMEOUT, make_blob, make_state,
                      parse_blob, run)

COMMANDS = ['list', 'save', 'load', 'inspect', 'serve', 'bus']


# usage

@pytest.mark.parametrize('args', [
    [],
    ['frobnicate'],
    ['--frobnicate'],
    ['help', 'frobnicate'],
    ['list'],
    ['list', '--address', 'not an address'],
    ['list', '--address', 'unix:path=/nonexistent', 'extra'],
    ['list', '--bogus'],
    ['save', '--address', 'unix:path=/nonexistent'],
    ['save', '-o', 'x'],
    ['save', '--address', 'unix:path=/nonexistent', '-o', 'x', '--ids', 'a,,b'],
    ['save', '--address', 'unix:path=/nonexistent', '-o', 'x', '--timeout', 'soon'],
    ['load', '--address', 'unix:path=/nonexistent'],
    ['load', '--address', 'unix:path=/nonexistent', 'a', 'b'],
    ['inspect'],
    ['inspect', 'a', 'b'],
    ['inspect', '--preview', '-1', 'a'],
    ['serve', '--address', 'unix:path=/nonexistent', '--id', 'x'],
    ['serve', '--id', 'x', '--state-file', 'f'],
    ['serve', '--address', 'unix:path=/nonexistent', '--state-file', 'f'],
    ['bus', 'extra'],
])
def test_usage_errors_exit_2(args):
    r = run(*args)
    assert r.returncode == 2, r
    assert r.stdout == ''
    assert r.stderr.startswith('vmstate'), r.stderr
    assert '--help' in r.stderr


def test_help_and_version():
    r = run('--help')
    assert r.returncode == 0
    for command in COMMANDS:
        assert f'\n  {command} ' in r.stdout
    r = run('--version')
    assert r.returncode == 0 and r.stdout.startswith('vmstate')
    for command in COMMANDS:
        r = run(command, '--help')
        assert r.returncode == 0, r
        assert f'vmstate {command}' in r.stdout
        assert r.stdout == run('help', command).stdout
    assert '--state-file' in run('serve', '--help').stdout
    assert '--extract' in run('inspect', '--help').stdout
    r = run('--help-all')
    for option in ['--address', '--ids', '--output', '--json', '--extract', '--state-file', '--dir']:
        assert option in r.stdout


# unreachable bus

@pytest.mark.parametrize('command', [['list'], ['save', '-o', 'OUT'], ['load', 'IN']])
def test_unreachable_address(tmp_path, command):
    blob = tmp_path / 'IN'
    blob.write_bytes(make_blob({'a': b'x'}))
    address = f'unix:path={tmp_path}/no-bus-here'
    args = [str(tmp_path / a) if a in ('OUT', 'IN') else a for a in command]
    r = run(*args, '--address', address)
    assert r.returncode == 1, r
    assert 'cannot connect' in r.stderr and 'no-bus-here' in r.stderr
    assert not (tmp_path / 'OUT').exists()


def test_serve_unreachable_address(tmp_path):
    r = run('serve', '--address', f'unix:path={tmp_path}/none', '--id', 'x',
            '--state-file', str(tmp_path / 'f'))
    assert r.returncode == 1
    assert 'cannot connect' in r.stderr


# list

def test_list_empty_bus(bus):
    r = run('list', '--address', bus.address)
    assert r.returncode == 0
    assert r.stdout == ''
    assert 'no helper' in r.stderr
    r = run('list', '--address', bus.address, '--json')
    assert r.returncode == 0
    assert json.loads(r.stdout) == []


def test_list(bus, processes, tmp_path):
    served = processes.serve(bus, 'zeta', tmp_path / 'zeta.state')
    helper = processes.helper(bus, 'alpha')
    r = run('list', '--address', bus.address, '--json')
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == [
        {'id': 'alpha', 'unique_name': helper.unique_name, 'pid': helper.pid, 'duplicate': False},
        {'id': 'zeta', 'unique_name': served.unique_name, 'pid': served.pid, 'duplicate': False},
    ]
    r = run('list', '--address', bus.address)
    assert r.returncode == 0
    lines = r.stdout.splitlines()
    assert lines[0].split() == ['ID', 'UNIQUE-NAME', 'PID']
    assert lines[1].split() == ['alpha', helper.unique_name, str(helper.pid)]
    assert lines[2].split() == ['zeta', served.unique_name, str(served.pid)]


def test_list_shows_and_flags_duplicate_ids(bus, processes):
    """Every helper is listed, the holders of a shared Id flagged, exit 1."""
    twins = sorted([processes.helper(bus, 'same'), processes.helper(bus, 'same', 16, 2)],
                   key=lambda p: p.unique_name)
    alone = processes.helper(bus, 'alone')
    r = run('list', '--address', bus.address)
    assert r.returncode == 1, r
    assert "'same'" in r.stderr and 'alone' not in r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ['ID', 'UNIQUE-NAME', 'PID']
    assert [line.split() for line in lines[1:]] == [
        ['alone', alone.unique_name, str(alone.pid)],
        ['same', twins[0].unique_name, str(twins[0].pid), 'duplicate'],
        ['same', twins[1].unique_name, str(twins[1].pid), 'duplicate'],
    ]
    r = run('list', '--address', bus.address, '--json')
    assert r.returncode == 1
    assert json.loads(r.stdout) == [
        {'id': 'alone', 'unique_name': alone.unique_name, 'pid': alone.pid, 'duplicate': False},
        *({'id': 'same', 'unique_name': t.unique_name, 'pid': t.pid, 'duplicate': True}
          for t in twins),
    ]


def test_ids_ignore_stray_duplicates(bus, processes, tmp_path):
    """With --ids, helpers outside the list do not matter (QEMU's id-list)."""
    processes.helper(bus, 'net0', 64, 5)
    for seed in (1, 2):
        processes.helper(bus, 'stray', 16, seed, '--save-error', 'must not be called',
                         '--load-error', 'must not be called')
    out = tmp_path / 'out'
    r = run('save', '--address', bus.address, '--ids', 'net0', '-o', str(out))
    assert r.returncode == 0, r
    assert parse_blob(out.read_bytes()) == {'net0': make_state(64, 5)}
    r = run('load', '--address', bus.address, '--ids', 'net0', str(out))
    assert r.returncode == 0, r
    # without --ids, the strays are a duplicate Id again
    r = run('save', '--address', bus.address, '-o', str(tmp_path / 'all'))
    assert r.returncode == 1 and "'stray'" in r.stderr


@pytest.mark.parametrize('command', ['save', 'load'])
def test_ids_listed_duplicate_names_both_holders(bus, processes, tmp_path, command):
    twins = [processes.helper(bus, 'net0', 16, seed) for seed in (1, 2)]
    processes.helper(bus, 'stray')
    processes.helper(bus, 'stray')
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({'net0': b'x'}))
    args = ['-o', str(tmp_path / 'out')] if command == 'save' else [str(blob)]
    r = run(command, '--address', bus.address, '--ids', 'net0', *args)
    assert r.returncode == 1, r
    assert "'net0'" in r.stderr and 'stray' not in r.stderr
    for t in twins:
        assert f'{t.unique_name} (pid {t.pid})' in r.stderr


def test_long_ids_are_cut_short_in_messages(bus, processes, tmp_path):
    long_id = 'L' * 300
    r = run('save', '--address', bus.address, '--ids', long_id, '-o', str(tmp_path / 'o'))
    assert r.returncode == 1
    assert "'" + 'L' * 64 + "…'" in r.stderr and long_id not in r.stderr
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({'a': b'x'}))
    r = run('load', '--address', bus.address, '--ids', long_id, str(blob))
    assert r.returncode == 1
    assert "'" + 'L' * 64 + "…'" in r.stderr and long_id not in r.stderr


# save

def test_save_all(bus, processes, tmp_path):
    processes.helper(bus, 'a', 16, 1)
    processes.helper(bus, 'b', 5000, 2)
    processes.helper(bus, 'c', 0, 3)
    out = tmp_path / 'states.blob'
    r = run('save', '--address', bus.address, '-o', str(out))
    assert r.returncode == 0, r
    assert r.stderr == ''  # no progress line when stderr is not a terminal
    assert parse_blob(out.read_bytes()) == {
        'a': make_state(16, 1), 'b': make_state(5000, 2), 'c': b''}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_save_ids_and_stdout(bus, processes):
    processes.helper(bus, 'a', 16, 1)
    processes.helper(bus, 'b', 32, 2)
    processes.helper(bus, 'c', 48, 3)
    r = subprocess.run([VMSTATE, 'save', '--address', bus.address, '--ids', 'c',
                        '--ids', 'a,c', '-o', '-'], capture_output=True, timeout=TIMEOUT)
    assert r.returncode == 0, r
    assert parse_blob(r.stdout) == {'a': make_state(16, 1), 'c': make_state(48, 3)}


def test_save_unknown_id(bus, processes, tmp_path):
    processes.helper(bus, 'a')
    out = tmp_path / 'out'
    r = run('save', '--address', bus.address, '--ids', 'a,ghost', '-o', str(out))
    assert r.returncode == 1
    assert "'ghost'" in r.stderr
    assert not out.exists()


@pytest.mark.parametrize('extra, expect', [
    (['--save-error', 'the disk is on fire'], 'the disk is on fire'),
    (['--save-crash'], "'bad'"),
    (['--save-delay-ms', '5000'], 'did not answer'),
])
def test_save_helper_fails(bus, processes, tmp_path, extra, expect):
    processes.helper(bus, 'good', 16, 1)
    processes.helper(bus, 'bad', 16, 2, *extra)
    out = tmp_path / 'out'
    out.write_bytes(b'previous')
    r = run('save', '--address', bus.address, '--timeout', '500', '-o', str(out))
    assert r.returncode == 1, r
    assert expect in r.stderr and 'nothing was written' in r.stderr
    assert out.read_bytes() == b'previous'


def test_save_too_large(bus, processes, tmp_path):
    """The message names the helper, the size and the limit that refused
    it (the collector's, set by --max-state-size); no file is written,
    and an existing one is left as it was."""
    big = processes.helper(bus, 'big', 4096, 1)
    out = tmp_path / 'o'
    kept = tmp_path / 'kept'
    kept.write_bytes(b'previous')
    for target in (out, kept):
        r = run('save', '--address', bus.address, '--max-state-size', '1000', '-o', str(target))
        assert r.returncode == 1, r
        assert r.stderr == (f"vmstate save: helper 'big' ({big.unique_name}) saved a state of "
                            "4096 bytes, more than the collector's max-state-size of 1000 bytes; "
                            "nothing was written\n")
        assert r.stdout == ''
    assert not out.exists()
    assert kept.read_bytes() == b'previous'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['bus', 'kept']


@pytest.mark.parametrize('value', ['64Q', '1.5M', '-1', '65M', '67108865', '', 'M', '1 M'])
@pytest.mark.parametrize('command', [['save', '-o', 'x'], ['load', 'x'],
                                     ['serve', '--id', 'x', '--state-file', 'x']])
def test_size_options_refuse_bad_values(command, value):
    r = run(*command, '--address', 'unix:path=/nonexistent', '--max-state-size', value)
    assert r.returncode == 2, r
    assert f"--max-state-size '{value}'" in r.stderr
    assert '64K or 1MiB' in r.stderr and '--help' in r.stderr


@pytest.mark.parametrize('value, ok', [('4096', True), ('4095', False), ('4K', True),
                                       ('4KiB', True), ('3K', False), ('1M', True),
                                       ('1MiB', True), ('64M', True)])
def test_size_options_accept_suffixes(bus, processes, tmp_path, value, ok):
    processes.helper(bus, 'big', 4096, 1)
    r = run('save', '--address', bus.address, '--max-state-size', value, '-o', str(tmp_path / 'o'))
    assert (r.returncode == 0) == ok, r
    if not ok:
        assert "'big'" in r.stderr and 'max-state-size' in r.stderr


def test_serve_size_option_with_suffix(bus, processes, tmp_path):
    state = tmp_path / 'state'
    state.write_bytes(b'x' * 2000)
    processes.serve(bus, 'file', state, '--max-state-size', '1K')
    r = run('save', '--address', bus.address, '-o', str(tmp_path / 'o'))
    assert r.returncode == 1
    assert 'max-state-size of 1024 bytes' in r.stderr
    assert 'vmstate_service_set_max_state_size()' in r.stderr


def run_on_a_terminal(*args):
    """Runs vmstate ARGS with stderr on a pseudo-terminal; returns (status, stderr)."""
    master, slave = pty.openpty()
    try:
        r = subprocess.run([VMSTATE, *args], stdout=subprocess.PIPE, stderr=slave,
                           timeout=TIMEOUT)
        os.close(slave)
        slave = -1
        text = b''
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal was closed
                break
            if not chunk:
                break
            text += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    return r.returncode, text.decode()


def test_progress_on_a_terminal(bus, processes, tmp_path):
    for i in range(3):
        processes.helper(bus, f'h{i}', 64, i)
    out = tmp_path / 'out'
    status, text = run_on_a_terminal('save', '--address', bus.address, '-o', str(out))
    assert status == 0
    assert 'saving 3 helpers' in text
    assert 'saved 3 helpers' in text and str(out) in text
    assert len(parse_blob(out.read_bytes())) == 3

    status, text = run_on_a_terminal('load', '--address', bus.address, '--ids', 'h0,h2', str(out))
    assert status == 0
    assert 'loading 2 helpers' in text and 'loaded 2 helpers' in text

    status, text = run_on_a_terminal('save', '--quiet', '--address', bus.address, '-o', str(out))
    assert status == 0 and text == ''


# load

def test_save_then_load_into_served_files(bus, processes, tmp_path):
    processes.helper(bus, 'net0', 3000, 7)
    processes.helper(bus, 'fw', 100, 8)
    blob = tmp_path / 'blob'
    assert run('save', '--address', bus.address, '-o', str(blob)).returncode == 0

    # a destination bus with two file helpers
    dest = __import__('conftest').Bus(processes, tmp_path / 'dest')
    net0 = processes.serve(dest, 'net0', tmp_path / 'net0.state')
    fw = processes.serve(dest, 'fw', tmp_path / 'fw.state')
    r = run('load', '--address', dest.address, str(blob))
    assert r.returncode == 0, r
    assert (tmp_path / 'net0.state').read_bytes() == make_state(3000, 7)
    assert (tmp_path / 'fw.state').read_bytes() == make_state(100, 8)
    assert net0.wait_line('LOADED ') == f'LOADED 3000 {hashlib.sha256(make_state(3000, 7)).hexdigest()}'
    assert fw.wait_line('LOADED ').startswith('LOADED 100 ')

    # and back: what the files hold is what a save gets
    blob2 = tmp_path / 'blob2'
    assert run('save', '--address', dest.address, '-o', str(blob2)).returncode == 0
    assert blob2.read_bytes() == blob.read_bytes()


def test_load_ids_subset(bus, processes, tmp_path):
    a = tmp_path / 'a.state'
    b = tmp_path / 'b.state'
    a.write_bytes(b'old a')
    b.write_bytes(b'old b')
    processes.serve(bus, 'a', a)
    processes.serve(bus, 'b', b)
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({'a': b'new a', 'b': b'new b'}))
    r = run('load', '--address', bus.address, '--ids', 'b', str(blob))
    assert r.returncode == 0, r
    assert a.read_bytes() == b'old a'
    assert b.read_bytes() == b'new b'

    r = run('load', '--address', bus.address, '--ids', 'c', str(blob))
    assert r.returncode == 1
    assert "no state for the Id 'c'" in r.stderr


def test_load_missing_file(bus, tmp_path):
    r = run('load', '--address', bus.address, str(tmp_path / 'nope'))
    assert r.returncode == 1
    assert 'nope' in r.stderr and 'No such file' in r.stderr


@pytest.mark.parametrize('content', [
    b'',
    b'\x00\x00',
    make_blob({'a': b'new a'})[:-1],            # truncated
    make_blob({'a': b'new a'}) + b'junk',       # garbage after the entries
    b'\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00',  # an empty Id
    b'QEVM\x00\x00\x00\x03\x07',                # a truncated migration stream
])
def test_load_corrupt_file_loads_nothing(bus, processes, tmp_path, content):
    a = tmp_path / 'a.state'
    a.write_bytes(b'old a')
    processes.serve(bus, 'a', a)
    blob = tmp_path / 'blob'
    blob.write_bytes(content)
    r = run('load', '--address', bus.address, str(blob))
    assert r.returncode == 1, r
    assert str(blob) in r.stderr
    assert a.read_bytes() == b'old a'


def test_load_unknown_helper_loads_nothing(bus, processes, tmp_path):
    a = tmp_path / 'a.state'
    a.write_bytes(b'old a')
    processes.serve(bus, 'a', a)
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({'a': b'new a', 'stranger': b'x'}))
    r = run('load', '--address', bus.address, str(blob))
    assert r.returncode == 1
    assert "'stranger'" in r.stderr
    assert a.read_bytes() == b'old a'


def test_load_helper_fails(bus, processes, tmp_path):
    processes.helper(bus, 'a', 16, 1, '--load-error', 'version 9 is from the future')
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({'a': b'state'}))
    r = run('load', '--address', bus.address, str(blob))
    assert r.returncode == 1
    assert 'version 9 is from the future' in r.stderr


def test_load_qemu_stream_fixture(bus, processes, tmp_path):
    """The payload of a real QEMU 7.2 stream goes into file helpers."""
    processes.serve(bus, 'alpha', tmp_path / 'alpha.state')
    processes.serve(bus, 'beta', tmp_path / 'beta.state')
    r = run('load', '--address', bus.address, os.path.join(FIXTURE_DIR, 'qemu-7.2-machine-none.mig'))
    assert r.returncode == 0, r
    assert (tmp_path / 'alpha.state').read_bytes() == make_state(16, 1)
    assert (tmp_path / 'beta.state').read_bytes() == make_state(40, 2)


# serve

def test_serve_load_replaces_the_file_atomically(bus, processes, tmp_path):
    state = tmp_path / 'x.state'
    state.write_bytes(b'before')
    link = tmp_path / 'x.hardlink'
    os.link(state, link)
    served = processes.serve(bus, 'x', state)
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({'x': b'after'}))
    assert run('load', '--address', bus.address, str(blob)).returncode == 0
    served.wait_line('LOADED ')
    assert state.read_bytes() == b'after'
    # rename, not rewrite in place: the old inode still holds the old state
    assert link.read_bytes() == b'before'
    assert os.stat(state).st_ino != os.stat(link).st_ino
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith('x.state')] == ['x.state']


def test_serve_missing_state_file_fails_save(bus, processes, tmp_path):
    processes.serve(bus, 'ghostly', tmp_path / 'absent.state')
    r = run('save', '--address', bus.address, '-o', str(tmp_path / 'o'))
    assert r.returncode == 1
    assert "'ghostly'" in r.stderr and 'absent.state' in r.stderr


def test_serve_escapes_its_failure_messages(bus, processes, tmp_path):
    # a state file whose name would clear the operator's terminal
    served = processes.serve(bus, 'esc', tmp_path / 'gone\x1b[2J.state')
    r = run('save', '--address', bus.address, '-o', str(tmp_path / 'o'))
    assert r.returncode == 1
    served.signal(signal.SIGTERM)
    assert served.wait() == 0
    err = served.stderr_text()
    assert 'vmstate serve: Save failed: ' in err and 'gone\\x1b[2J.state' in err
    assert '\x1b' not in err and '\x1b' not in r.stderr


def test_serve_duplicate_id_in_save(bus, processes, tmp_path):
    processes.serve(bus, 'twin', tmp_path / 'a')
    processes.serve(bus, 'twin', tmp_path / 'b')
    r = run('save', '--address', bus.address, '-o', str(tmp_path / 'o'))
    assert r.returncode == 1
    assert "'twin'" in r.stderr


@pytest.mark.parametrize('ident, why', [
    ('', 'the Id is empty (it must be 1 to 255 bytes)'),
    ('x' * 256, 'the Id is 256 bytes long (at most 255 are allowed)'),
    ('é' * 128, 'the Id is 256 bytes long (at most 255 are allowed)')])
def test_serve_invalid_id_is_a_usage_error(tmp_path, ident, why):
    """Checked before the bus is reached (this address has none): exit 2,
    in the library's words (vmstate_id_is_valid)."""
    r = run('serve', '--address', f'unix:path={tmp_path}/none', '--id', ident,
            '--state-file', str(tmp_path / 'f'))
    assert r.returncode == 2, r
    shown = ident if len(ident) <= 64 else ident[:64] + '…'
    assert r.stderr == (f"vmstate serve: --id '{shown}': {why}\n"
                        "Try 'vmstate serve --help' for more information.\n")
    assert r.stdout == ''
    assert list(tmp_path.iterdir()) == []


def test_serve_longest_id(bus, processes, tmp_path):
    ident = 'é' * 127 + 'x'   # 255 bytes
    processes.serve(bus, ident, tmp_path / 'f')
    assert [h['id'] for h in json.loads(run('list', '--address', bus.address, '--json').stdout)] == [ident]


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_serve_stops_on_signal_and_leaves_the_bus(bus, processes, tmp_path, signum):
    served = processes.serve(bus, 'x', tmp_path / 'x.state')
    assert json.loads(run('list', '--address', bus.address, '--json').stdout)[0]['id'] == 'x'
    served.signal(signum)
    assert served.wait() == 0
    assert json.loads(run('list', '--address', bus.address, '--json').stdout) == []


def test_serve_exits_1_when_the_bus_goes_away(bus, processes, tmp_path):
    served = processes.serve(bus, 'x', tmp_path / 'x.state')
    bus.process.signal(signal.SIGTERM)
    assert bus.process.wait() == 0
    assert served.wait() == 1
    assert 'closed' in served.stderr_text()
