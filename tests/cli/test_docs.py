# The man page and the shell completion of the vmstate tool.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess

import pytest

from conftest import SOURCE_ROOT, TIMEOUT, VMSTATE

MAN = os.environ.get('VMSTATE_MAN')


@pytest.mark.skipif(not MAN, reason='help2man was not found at build time')
def test_man_page_documents_every_command():
    text = open(MAN).read()
    assert text.startswith('.\\" DO NOT MODIFY THIS FILE!')
    assert '.SH EXAMPLES' in text and '.SH "EXIT STATUS"' in text
    for command in ['list', 'save', 'load', 'inspect', 'serve', 'bus']:
        assert f'vmstate {command}' in text
    for option in ['state\\-file', 'extract', 'address', 'dir']:
        assert f'\\-\\-{option}' in text
    # groff renders it without a warning
    r = subprocess.run(['groff', '-man', '-Tutf8', '-ww', MAN], capture_output=True,
                       text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and r.stderr == '', r.stderr
    assert 'vmstate serve' in r.stdout


def test_bash_completion_parses():
    path = os.path.join(SOURCE_ROOT, 'tools', 'vmstate.bash-completion')
    r = subprocess.run(['bash', '-n', path], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    # the completion offers every command the program has
    script = f'''
        _init_completion() {{ cur=${{COMP_WORDS[COMP_CWORD]}}; words=("${{COMP_WORDS[@]}}"); cword=$COMP_CWORD; }}
        source {path}
        COMP_WORDS=(vmstate ""); COMP_CWORD=1; _vmstate; echo "${{COMPREPLY[*]}}"
        COMP_WORDS=(vmstate inspect --e); COMP_CWORD=2; _vmstate; echo "${{COMPREPLY[*]}}"
    '''
    r = subprocess.run(['bash', '-c', script], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0, r.stderr
    first, second = r.stdout.splitlines()
    assert set(first.split()) >= {'list', 'save', 'load', 'inspect', 'serve', 'bus'}
    assert second.split() == ['--extract']


def man_example_lines():
    """The man page's first example, as a shell reads it."""
    text = open(os.path.join(SOURCE_ROOT, 'tools', 'vmstate.h2m')).read()
    block = text.split('[EXAMPLES]')[1].split('.nf\n')[1].split('.fi\n')[0]
    return block.replace('\\-', '-').splitlines()


def test_man_page_bus_example_runs(tmp_path):
    """The example starts the bus in a directory that does not exist yet
    and reads its address; the address file holds the same address."""
    lines = man_example_lines()
    start = [line for line in lines if 'vmstate bus' in line or line.startswith('read ')]
    assert len(start) == 2, lines
    vm = tmp_path / 'run' / 'vm1'
    script = '\n'.join(line.replace('/run/vm1', str(vm)) for line in start) + f'''
        trap 'kill "$BUS_PID" 2>/dev/null' EXIT   # whatever fails below
        vmstate list --address "$ADDR" || exit 10
        [ "$(cat {vm}/address)" = "$ADDR" ] || exit 11
        kill "$BUS_PID"; wait "$BUS_PID"; trap - EXIT
        [ ! -e {vm}/address ] || exit 12
    '''
    env = {**os.environ, 'PATH': os.path.dirname(VMSTATE) + ':' + os.environ['PATH']}
    r = subprocess.run(['bash', '-e', '-c', script], capture_output=True, text=True,
                       timeout=TIMEOUT, env=env)
    assert r.returncode == 0, (r.returncode, r.stderr)
    assert 'no helper on the bus' in r.stderr


def test_guide_and_vmstate_bus_agree_on_bus_limits(tmp_path):
    """One number for pending replies everywhere (dbus-daemon 1.14's 128),
    and the limits the guide tells a collector user to set are the ones
    `vmstate bus` writes."""
    import re
    import signal
    from conftest import Processes, Bus
    docs = {name: open(os.path.join(SOURCE_ROOT, 'doc', name)).read()
            for name in ('limits.md', 'collector.md')}
    docs['vmstate-collector.c'] = open(os.path.join(SOURCE_ROOT, 'libvmstate',
                                                    'vmstate-collector.c')).read()
    for name, text in docs.items():
        for number in re.findall(r'(\d+)\s+pending\s+replies', ' '.join(text.split())):
            assert number == '128', (name, number)
    wanted = re.findall(r'<limit name="\w+">\d+</limit>', docs['limits.md'])
    assert len(wanted) >= 5
    processes = Processes()
    try:
        bus = Bus(processes, tmp_path / 'vm1')
        config = (tmp_path / 'vm1' / 'bus.conf').read_text()
        bus.process.signal(signal.SIGTERM)
        assert bus.process.wait() == 0
    finally:
        processes.stop_all()
    for limit in wanted:
        assert limit in config
