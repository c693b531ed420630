# vmstate against real QEMU 7.2: QEMU's dbus-vmstate object saves
# `vmstate serve` helpers on a `vmstate bus` into a migration stream;
# `vmstate inspect` walks that stream and `vmstate load` loads it back.
# make-fixture.py makes tests/cli/qemu-7.2-machine-none.mig the same way.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import textwrap
import time

import pytest

from conftest import SOURCE_ROOT, TIMEOUT, VMSTATE, Bus, make_state, run

QEMU = os.environ.get('QEMU', shutil.which('qemu-system-x86_64') or 'qemu-system-x86_64')
# a skip by hand; with -Dstrict_tests=true (./run, CI) a failure
needs_qemu = pytest.mark.skipif(shutil.which(QEMU) is None, reason='qemu-system-x86_64 is not installed')


class Qmp:
    def __init__(self, path, timeout=TIMEOUT):
        deadline = time.monotonic() + timeout
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.file = self.sock.makefile('rw')
        json.loads(self.file.readline())  # the greeting
        self.command('qmp_capabilities')

    def command(self, name, **arguments):
        self.file.write(json.dumps({'execute': name, 'arguments': arguments}) + '\n')
        self.file.flush()
        while True:
            line = self.file.readline()
            if not line:
                raise EOFError(f'QMP closed during {name}')
            reply = json.loads(line)
            if 'return' in reply or 'error' in reply:
                return reply

    def close(self):
        self.file.close()
        self.sock.close()


def qemu_opt(value):
    """QEMU's option syntax doubles commas inside a value."""
    return value.replace(',', ',,')


def start_qemu(processes, tmp_path, address, name, *args):
    """QEMU with a dbus-vmstate object on ADDRESS, stopped (-S) unless
    ARGS say more; returns (process, Qmp)."""
    qmp_path = tmp_path / f'{name}.qmp'
    p = processes.start([QEMU, '-nodefaults', '-display', 'none', *(args or ['-machine', 'none', '-S']),
                         '-object', f'dbus-vmstate,id=dv,addr={qemu_opt(address)}',
                         '-qmp', f'unix:{qmp_path},server=on,wait=on'])
    # with wait=on QEMU starts nothing before the QMP client connects; the
    # socket appears when it is ready for one
    deadline = time.monotonic() + TIMEOUT
    while not qmp_path.exists():
        if p.proc.poll() is not None:
            raise RuntimeError(f'QEMU exited: {p.stderr_text()}')
        if time.monotonic() > deadline:
            raise TimeoutError('QEMU did not create its QMP socket')
        time.sleep(0.02)  # polling for a file to appear, bounded by the deadline
    return p, Qmp(str(qmp_path))


def migrate_to_file(qmp, path):
    r = qmp.command('migrate', uri=f'exec:cat>{path}')
    assert 'return' in r, r
    deadline = time.monotonic() + TIMEOUT
    while True:
        status = qmp.command('query-migrate')['return'].get('status')
        if status in ('completed', 'failed', 'cancelled'):
            return status
        assert time.monotonic() < deadline, 'migration did not finish'
        time.sleep(0.05)  # QMP has no blocking wait; bounded by the deadline


def save_stream(qemu, qmp, path):
    """Migrates QEMU to the file PATH, then quits it."""
    try:
        assert migrate_to_file(qmp, path) == 'completed'
        qmp.command('quit')
    finally:
        qmp.close()
    assert qemu.wait() == 0, qemu.stderr_text()


@needs_qemu
def test_qemu_saves_served_helpers_and_vmstate_reads_the_stream(processes, tmp_path):
    bus = Bus(processes, tmp_path / 'src')
    net = make_state(5000, 11)
    fw = b'table inet filter { }\n'
    (tmp_path / 'net0.state').write_bytes(net)
    (tmp_path / 'fw.state').write_bytes(fw)
    served = [processes.serve(bus, 'net0', tmp_path / 'net0.state'),
              processes.serve(bus, 'fw', tmp_path / 'fw.state')]

    stream = tmp_path / 'vm.mig'
    save_stream(*start_qemu(processes, tmp_path, bus.address, 'src'), stream)
    for p in served:
        assert p.wait_line('SAVED ').startswith('SAVED ')

    # vmstate walks QEMU's stream to the dbus-vmstate section
    r = run('inspect', '--json', '--extract', str(tmp_path / 'x'), str(stream))
    assert r.returncode == 0, r
    doc = json.loads(r.stdout)
    assert doc['format'] == 'qemu-migration-stream'
    names = [s.get('name') for s in doc['stream']['sections']]
    assert 'dbus-vmstate/dbus-vmstate' in names and 'timer' in names and 'globalstate' in names
    assert {e['id']: (e['size'], e['sha256']) for e in doc['entries']} == {
        'net0': (len(net), hashlib.sha256(net).hexdigest()),
        'fw': (len(fw), hashlib.sha256(fw).hexdigest()),
    }
    assert (tmp_path / 'x' / 'net0').read_bytes() == net

    # and loads it into fresh helpers on another bus
    dest = Bus(processes, tmp_path / 'dest')
    processes.serve(dest, 'net0', tmp_path / 'net0.dest')
    processes.serve(dest, 'fw', tmp_path / 'fw.dest')
    r = run('load', '--address', dest.address, str(stream))
    assert r.returncode == 0, r
    assert (tmp_path / 'net0.dest').read_bytes() == net
    assert (tmp_path / 'fw.dest').read_bytes() == fw


@needs_qemu
def test_qemu_incoming_loads_into_a_served_helper(processes, tmp_path):
    """QEMU's incoming side Loads its stream into `vmstate serve`, which
    replaces its state file."""
    src = Bus(processes, tmp_path / 'src')
    (tmp_path / 'a.state').write_bytes(b'state of a')
    processes.serve(src, 'a', tmp_path / 'a.state')
    stream = tmp_path / 'vm.mig'
    save_stream(*start_qemu(processes, tmp_path, src.address, 'src'), stream)

    dest = Bus(processes, tmp_path / 'dest')
    served = processes.serve(dest, 'a', tmp_path / 'a.dest')
    qmp_path = tmp_path / 'dest.qmp'
    incoming = processes.start([QEMU, '-machine', 'none', '-nodefaults', '-display', 'none',
                                '-object', f'dbus-vmstate,id=dv,addr={qemu_opt(dest.address)}',
                                '-incoming', f'exec:cat {stream}',
                                '-qmp', f'unix:{qmp_path},server=on,wait=off'])
    line = served.wait_line('LOADED ')
    assert line == f'LOADED 10 {hashlib.sha256(b"state of a").hexdigest()}'
    assert (tmp_path / 'a.dest').read_bytes() == b'state of a'
    incoming.stop()


@needs_qemu
@pytest.mark.parametrize('machine', ['pc', 'q35'])
def test_inspect_walks_a_full_pc_stream(processes, tmp_path, machine):
    """A running PC's stream: RAM start/part/end sections with real pages,
    some thirty device sections with subsections, all stepped over with
    QEMU's own description, to the dbus-vmstate section and on to EOF."""
    bus = Bus(processes, tmp_path / 'bus')
    state = make_state(20000, 5)
    (tmp_path / 'x.state').write_bytes(state)
    processes.serve(bus, 'x', tmp_path / 'x.state')
    stream = tmp_path / 'vm.mig'
    save_stream(*start_qemu(processes, tmp_path, bus.address, 'pc', '-machine', machine, '-m', '32'),
                stream)

    r = run('inspect', '--json', str(stream))
    assert r.returncode == 0, r
    doc = json.loads(r.stdout)
    sections = doc['stream']['sections']
    kinds = [(s['type'], s.get('name')) for s in sections]
    assert kinds[0] == ('configuration', None) and kinds[-1] == ('eof', None)
    assert ('start', 'ram') in kinds and ('end', 'ram') in kinds
    ram = [s for s in sections if s.get('name') == 'ram']
    assert sum(s['data_size'] for s in ram) > 32 * 1024 * 1024 // 4096  # every page is in there
    full = [s for s in sections if s['type'] == 'full']
    assert len(full) > 25
    assert {'cpu', 'apic', 'mc146818rtc', 'globalstate'} <= {s['name'] for s in full}
    assert doc['stream']['description_offset'] == sections[-1]['offset'] + 1
    assert doc['entries'] == [{'id': 'x', 'size': len(state),
                               'sha256': hashlib.sha256(state).hexdigest(),
                               'preview': state[:64].hex()}]


def qemu_flow_blocks():
    """The code blocks of "The whole flow with QEMU" in
    doc/qemu-libvirt.md, in order, without their indentation."""
    with open(os.path.join(SOURCE_ROOT, 'doc', 'qemu-libvirt.md')) as f:
        text = f.read()
    section = text.split('## The whole flow with QEMU', 1)[1].split('\n## ', 1)[0]
    return [textwrap.dedent(b) for b in
            re.findall(r'^ *```[a-z]*\n(.*?)^ *```', section, re.S | re.M)]


@needs_qemu
def test_the_documented_qemu_flow_runs(tmp_path):
    """The commands of doc/qemu-libvirt.md, as written (in a temporary
    directory instead of /run/vm1, QEMU with `-machine none`): a bus,
    a helper, QEMU with the doubled commas, the migration to a file, the
    wait for cat and vmstate inspect, whose output the page shows."""
    bus, serve, qemu, migrate, wait, inspect = qemu_flow_blocks()[:6]
    assert migrate.startswith('(qemu) migrate "exec:cat > ')
    assert inspect.startswith('$ vmstate inspect ')
    vm = str(tmp_path / 'vm1')
    script = '\n'.join([
        'set -e',
        'export PATH=%s:"$PATH"' % shlex.quote(os.path.dirname(VMSTATE)),
        'pids=; trap \'kill $pids 2>/dev/null\' EXIT',
        bus, 'pids="$pids $!"',
        "printf 'counter state\\n' > /run/vm1/counter.state",
        serve, 'pids="$pids $!"',
        'until vmstate list --address "$ADDR" 2>/dev/null | grep -q counter; do sleep 0.1; done',
        # the monitor reads the migrate command, then quit once the file
        # is there (a wait bounded, in case QEMU fails)
        '{ echo %s; timeout %d sh -c %s; echo quit; } | timeout %d %s' % (
            shlex.quote(migrate[len('(qemu) '):].strip()), TIMEOUT,
            shlex.quote(wait.strip()), TIMEOUT,
            qemu.replace('...', '-machine none -nodefaults -display none -S')
                .replace('\\\n', ' ').replace('qemu-system-x86_64', shlex.quote(QEMU))),
        inspect.splitlines()[0][len('$ '):],
    ]).replace('/run/vm1', vm)
    r = subprocess.run(['bash', '-c', script], capture_output=True, text=True,
                       timeout=3 * TIMEOUT, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, r.stdout + r.stderr
    shown = inspect.replace('/run/vm1', vm).splitlines()[1:]
    printed = r.stdout.splitlines()
    assert shown[0] in printed, r.stdout
    printed = printed[printed.index(shown[0]):]
    assert len(printed) == len(shown), r.stdout
    for line, doc_line in zip(printed, shown):
        if doc_line.endswith('...'):  # the page shortens the sha256
            assert line.startswith(doc_line[:-3]), r.stdout
        else:
            assert line == doc_line, r.stdout
