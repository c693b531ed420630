# The man page and the shell completion of the vmstate tool.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import subprocess

import pytest

from conftest import SOURCE_ROOT, TIMEOUT

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
