# vmstate bus: a private dbus-daemon for one VM.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import os
import select
import shutil
import signal
import stat
import subprocess
import tempfile

import pytest

from conftest import VMSTATE, TIMEOUT, Bus, Process, parse_blob, run


def dbus_list_names(address, *prefix):
    return subprocess.run([*prefix, 'dbus-send', f'--bus={address}', '--print-reply',
                           '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus',
                           'org.freedesktop.DBus.ListNames'],
                          capture_output=True, text=True, timeout=TIMEOUT)


STOP_SIGNALS = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP]


@pytest.mark.parametrize('signum', STOP_SIGNALS)
def test_bus_in_dir(processes, tmp_path, signum):
    bus = Bus(processes, tmp_path / 'vm1')
    socket_path = tmp_path / 'vm1' / 'bus'
    assert bus.address.startswith(f'unix:path={socket_path},guid=')
    assert stat.S_ISSOCK(os.lstat(socket_path).st_mode)
    assert stat.S_IMODE(os.stat(tmp_path / 'vm1').st_mode) == 0o700

    config = (tmp_path / 'vm1' / 'bus.conf').read_text()
    assert '<auth>EXTERNAL</auth>' in config
    assert config.count('<auth>') == 1
    assert '<deny user="*"/>' in config
    assert f'<allow user="{os.getuid()}"/>' in config
    assert f'<listen>unix:path={socket_path}</listen>' in config

    # a usable message bus
    r = dbus_list_names(bus.address)
    assert r.returncode == 0, r
    assert 'org.freedesktop.DBus' in r.stdout

    bus.process.signal(signum)
    assert bus.process.wait() == 0
    assert not socket_path.exists()
    assert not (tmp_path / 'vm1' / 'bus.conf').exists()
    assert (tmp_path / 'vm1').is_dir()  # the caller's directory stays


@pytest.mark.parametrize('signum', STOP_SIGNALS)
def test_bus_fresh_runtime_dir(processes, tmp_path, signum):
    """The fresh directory, its socket, config and the address file are
    all gone after any of the signals that stop the bus."""
    runtime = tmp_path / 'runtime'
    runtime.mkdir(mode=0o700)
    address_file = tmp_path / 'address'
    p = processes.start([VMSTATE, 'bus', '--address-file', str(address_file)],
                        env={**os.environ, 'XDG_RUNTIME_DIR': str(runtime)})
    address = p.read_line()
    made = [d for d in runtime.iterdir()]
    assert len(made) == 1 and made[0].name.startswith('vmstate-bus-')
    assert address.startswith(f'unix:path={made[0]}/bus,')
    assert stat.S_IMODE(made[0].stat().st_mode) == 0o700
    assert sorted(f.name for f in made[0].iterdir()) == ['bus', 'bus.conf']
    assert address_file.read_text() == address + '\n'
    assert run('list', '--address', address).returncode == 0
    p.signal(signum)
    assert p.wait() == 0, p.stderr_text()
    assert list(runtime.iterdir()) == []
    assert not address_file.exists()


def fake_daemon(tmp_path, body):
    """A dbus-daemon stand-in for --dbus-daemon: a shell script."""
    fake = tmp_path / 'fake-dbus-daemon'
    fake.write_text('#!/bin/sh\n' + body)
    fake.chmod(0o755)
    return str(fake)


@pytest.mark.parametrize('signum', STOP_SIGNALS)
@pytest.mark.parametrize('with_dir', [False, True])
def test_bus_signal_while_the_daemon_starts(processes, tmp_path, signum, with_dir):
    """A signal that comes before the daemon printed its address stops
    vmstate bus cleanly too: the daemon stopped, nothing left behind, no
    address printed. The stand-in daemon says it runs on one fifo, then
    blocks opening another that nobody opens for writing, so vmstate bus
    is provably waiting for the address when the signal comes."""
    started = tmp_path / 'started'
    gate = tmp_path / 'gate'
    os.mkfifo(started)
    os.mkfifo(gate)
    daemon = fake_daemon(tmp_path, f'echo $$ > {started}\nread line < {gate}\n'
                                   f'exec {shutil.which("dbus-daemon")} "$@"\n')
    runtime = tmp_path / 'runtime'
    runtime.mkdir(mode=0o700)
    vm = tmp_path / 'vm1'
    fd = os.open(started, os.O_RDONLY | os.O_NONBLOCK)
    try:
        p = processes.start([VMSTATE, 'bus', '--dbus-daemon', daemon,
                             '--address-file', str(tmp_path / 'address'),
                             *(['--dir', str(vm)] if with_dir else [])],
                            env={**os.environ, 'XDG_RUNTIME_DIR': str(runtime)})
        assert select.select([fd], [], [], TIMEOUT)[0], 'the stand-in daemon did not start'
        daemon_pid = int(os.read(fd, 64))
    finally:
        os.close(fd)
    # it is vmstate bus's child, blocked before printing any address
    assert open(f'/proc/{daemon_pid}/stat').read().split(')')[1].split()[1] == str(p.pid)
    if with_dir:
        assert sorted(f.name for f in vm.iterdir()) == ['bus.conf']
    else:
        assert len(list(runtime.iterdir())) == 1

    p.signal(signum)
    assert p.wait() == 0, p.stderr_text()
    assert p.proc.stdout.read() == b''
    assert list(runtime.iterdir()) == []
    if with_dir:
        assert list(vm.iterdir()) == []   # the caller's directory stays, empty
    assert not (tmp_path / 'address').exists()
    assert not os.path.exists(f'/proc/{daemon_pid}')


def test_bus_daemon_that_does_not_start(tmp_path):
    """A daemon that exits without an address: its message, then vmstate
    bus's, exit 1, nothing left behind."""
    runtime = tmp_path / 'runtime'
    runtime.mkdir(mode=0o700)
    daemon = fake_daemon(tmp_path, 'echo "dbus-daemon[1]: cannot listen: no" >&2\nexit 3\n')
    r = run('bus', '--dbus-daemon', daemon, env={**os.environ, 'XDG_RUNTIME_DIR': str(runtime)})
    assert r.returncode == 1
    assert r.stdout == ''
    assert r.stderr == ('dbus-daemon[1]: cannot listen: no\n'
                        'vmstate bus: dbus-daemon did not start (see its messages above)\n')
    assert list(runtime.iterdir()) == []


def test_bus_refuses_a_live_socket(processes, tmp_path):
    bus = Bus(processes, tmp_path / 'vm1')
    r = run('bus', '--dir', bus.dir)
    assert r.returncode == 1
    assert 'already listening' in r.stderr
    # the first bus is untouched
    assert dbus_list_names(bus.address).returncode == 0


def test_bus_refuses_a_non_socket(tmp_path):
    (tmp_path / 'bus').write_text('not a socket')
    r = run('bus', '--dir', str(tmp_path))
    assert r.returncode == 1
    assert 'not a socket' in r.stderr
    assert (tmp_path / 'bus').read_text() == 'not a socket'


def test_bus_missing_daemon(tmp_path):
    r = run('bus', '--dir', str(tmp_path), '--dbus-daemon', str(tmp_path / 'no-such-daemon'))
    assert r.returncode == 1
    assert 'cannot start' in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_bus_daemon_dying_is_a_failure(processes, tmp_path):
    bus = Bus(processes, tmp_path / 'vm1')
    r = dbus_list_names(bus.address)
    assert r.returncode == 0
    # find the daemon: the only child of `vmstate bus`
    children = open(f'/proc/{bus.process.pid}/task/{bus.process.pid}/children').read().split()
    assert len(children) == 1
    os.kill(int(children[0]), signal.SIGKILL)
    assert bus.process.wait() == 1
    assert 'exited on its own' in bus.process.stderr_text()


@pytest.mark.skipif(os.getuid() != 0 or shutil.which('setpriv') is None,
                    reason='needs root and setpriv to connect as another user')
def test_bus_refuses_other_users(processes):
    # a directory every user can reach, so that only the bus policy can
    # refuse the other user (pytest's tmp_path is private to its owner)
    vm = tempfile.mkdtemp(prefix='vmstate-cli-test-', dir='/tmp')
    try:
        os.chmod(vm, 0o755)
        bus = Bus(processes, vm)
        assert dbus_list_names(bus.address).returncode == 0
        r = dbus_list_names(bus.address, 'setpriv', '--reuid=65534', '--regid=65534',
                            '--clear-groups')
        assert r.returncode != 0
        assert 'org.freedesktop.DBus' not in r.stdout
    finally:
        processes.stop_all()
        shutil.rmtree(vm)


def test_bus_address_file(processes, tmp_path):
    """--address-file is written before the address is printed (so once
    the bus listens), in a --dir that did not exist, and removed at exit."""
    vm = tmp_path / 'new' / 'vm1'
    address_file = vm / 'address'
    p = processes.start([VMSTATE, 'bus', '--dir', str(vm), '--address-file', str(address_file)])
    address = p.read_line()
    assert address_file.read_text() == address + '\n'
    assert stat.S_IMODE(address_file.stat().st_mode) == 0o600
    assert dbus_list_names(address).returncode == 0
    p.signal(signal.SIGTERM)
    assert p.wait() == 0
    assert not address_file.exists()


def test_bus_address_file_unwritable(tmp_path):
    r = run('bus', '--dir', str(tmp_path / 'vm1'), '--address-file', str(tmp_path / 'no' / 'such' / 'f'))
    assert r.returncode == 1
    assert str(tmp_path / 'no' / 'such' / 'f') in r.stderr
    assert list((tmp_path / 'vm1').iterdir()) == []


@pytest.mark.parametrize('mode, warns', [(0o700, False), (0o750, True), (0o755, True)])
def test_bus_warns_about_an_open_dir(processes, tmp_path, mode, warns):
    vm = tmp_path / 'vm1'
    vm.mkdir()
    os.chmod(vm, mode)
    bus = Bus(processes, vm)
    bus.process.signal(signal.SIGTERM)
    assert bus.process.wait() == 0
    stderr = bus.process.stderr_text()
    assert ('warning' in stderr and f'{mode:04o}' in stderr and '0700' in stderr) == warns, stderr


def test_bus_drops_the_fd_limit_noise_only(processes, tmp_path):
    """dbus-daemon as root without CAP_SYS_RESOURCE complains that it
    cannot raise its fd limit; that line is dropped, the others pass."""
    fake = tmp_path / 'dbus-daemon'
    fake.write_text('#!/bin/sh\n'
                    'echo "dbus-daemon[1]: org.freedesktop.DBus.Error.AccessDenied: '
                    'Failed to set fd limit to 65536: Operation not permitted" >&2\n'
                    'echo "dbus-daemon[1]: something that matters" >&2\n'
                    f'exec {shutil.which("dbus-daemon")} "$@"\n')
    fake.chmod(0o755)
    p = processes.start([VMSTATE, 'bus', '--dir', str(tmp_path / 'vm1'), '--dbus-daemon', str(fake)])
    assert p.read_line().startswith('unix:path=')
    p.signal(signal.SIGTERM)
    assert p.wait() == 0
    stderr = p.stderr_text()
    assert 'something that matters' in stderr
    assert 'fd limit' not in stderr


def test_bus_without_xdg_runtime_dir(processes, tmp_path):
    """The documented fallback: GLib's ~/.cache (or $XDG_CACHE_HOME)."""
    assert 'XDG_RUNTIME_DIR' in run('bus', '--help').stdout
    assert '~/.cache' in run('bus', '--help').stdout
    env = {k: v for k, v in os.environ.items() if k not in ('XDG_RUNTIME_DIR', 'XDG_CACHE_HOME')}
    env['HOME'] = str(tmp_path)
    p = processes.start([VMSTATE, 'bus'], env=env)
    address = p.read_line()
    made = list((tmp_path / '.cache').iterdir())
    assert len(made) == 1 and made[0].name.startswith('vmstate-bus-')
    assert address.startswith(f'unix:path={made[0]}/bus,')
    p.signal(signal.SIGTERM)
    assert p.wait() == 0


def test_bus_allows_states_up_to_64_mib(processes, tmp_path):
    """A 40 MB state through the bus `vmstate bus` configures: saved, then
    loaded back (dbus-daemon's default max_message_size of 32 MiB would
    disconnect the helper, and the save would fail)."""
    bus = Bus(processes, tmp_path / 'vm1')
    config = (tmp_path / 'vm1' / 'bus.conf').read_text()
    assert '<limit name="max_message_size">134217728</limit>' in config
    assert '<limit name="max_replies_per_connection">1024</limit>' in config
    size = 40 * 1000 * 1000
    helper = processes.helper(bus, 'big', size, 9, '--max-state-size', str(64 << 20))
    out = tmp_path / 'out'
    r = run('save', '--address', bus.address, '--max-state-size', '64M', '-o', str(out))
    assert r.returncode == 0, r
    state = parse_blob(out.read_bytes())['big']
    assert len(state) == size
    r = run('load', '--address', bus.address, '--max-state-size', '64MiB', str(out))
    assert r.returncode == 0, r
    assert helper.wait_line('LOADED ') == f'LOADED {size} {hashlib.sha256(state).hexdigest()}'
