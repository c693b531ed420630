# vmstate inspect: blob files and real QEMU migration streams, good and bad.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import json
import os
import struct
import subprocess
import time

import pytest

from conftest import FIXTURE_DIR, TIMEOUT, VMSTATE, make_blob, make_state, parse_blob, run

FIXTURE = os.path.join(FIXTURE_DIR, 'qemu-7.2-machine-none.mig')
ALPHA = make_state(16, 1)
BETA = make_state(40, 2)


def sha(data):
    return hashlib.sha256(data).hexdigest()


def fixture_bytes():
    with open(FIXTURE, 'rb') as f:
        return f.read()


def split_fixture():
    """(sections bytes up to and including EOF, the JSON description)."""
    data = fixture_bytes()
    pos = data.rindex(b'\x06')
    (length,) = struct.unpack_from('>I', data, pos + 1)
    assert pos + 5 + length == len(data)
    return data[:pos], json.loads(data[pos + 5:])


def join_stream(sections, vmdesc, length=None):
    """The stream of SECTIONS and the description VMDESC, padded with
    spaces to LENGTH bytes when given."""
    text = json.dumps(vmdesc).encode()
    if length is not None:
        assert length >= len(text)
        text += b' ' * (length - len(text))
    return sections + b'\x06' + struct.pack('>I', len(text)) + text


def run_bytes(*args, **kwargs):
    """vmstate ARGS (bytes allowed), output as bytes: what a terminal or a
    JSON reader gets, without Python decoding it first."""
    return subprocess.run([VMSTATE, *args], capture_output=True, timeout=TIMEOUT, **kwargs)


def fails(r, message):
    """A clean failure: exit status 1, nothing on stdout, one line on
    stderr, 'vmstate inspect: ' and then MESSAGE."""
    assert r.returncode == 1, r
    assert r.stdout == ''
    assert r.stderr.endswith('\n') and r.stderr.count('\n') == 1, r.stderr
    assert r.stderr.startswith('vmstate inspect: ' + message), r.stderr


def timer_section(section_id, instance_id, data=bytes(24)):
    """A full section of QEMU's 'timer' device, with its footer."""
    return (b'\x04' + struct.pack('>I', section_id) + b'\x05timer' +
            struct.pack('>II', instance_id, 2) + data + b'\x7e' + struct.pack('>I', section_id))


def stream_with_sections(sections, vmdesc, extra, devices):
    """The fixture with the EXTRA sections before its end-of-stream marker
    and DEVICES added to its description."""
    assert sections[-1:] == b'\x00'
    vmdesc = dict(vmdesc, devices=vmdesc['devices'] + devices)
    return join_stream(sections[:-1] + extra + b'\x00', vmdesc)


def test_inspect_qemu_stream_text():
    r = run('inspect', FIXTURE)
    assert r.returncode == 0, r
    assert r.stderr == ''
    lines = r.stdout.splitlines()
    assert lines[0] == f'{FIXTURE}: QEMU migration stream, version 3, 1136 bytes, 7 sections'
    assert lines[1].startswith("section 'dbus-vmstate/dbus-vmstate' (id 1, instance 0, version 0) at offset 121: 128 bytes")
    assert lines[2] == '2 entries'
    assert lines[3] == f'  alpha: 16 bytes, sha256 {sha(ALPHA)}'
    assert lines[4] == ('    00000000  ' + ' '.join(f'{b:02x}' for b in ALPHA[:8]) + '  ' +
                        ' '.join(f'{b:02x}' for b in ALPHA[8:]) + '  |' +
                        ''.join(chr(b) if 32 <= b < 127 else '.' for b in ALPHA) + '|')
    assert lines[5] == f'  beta: 40 bytes, sha256 {sha(BETA)}'
    assert len(lines) == 9  # beta's 40 bytes: three preview lines


def test_inspect_qemu_stream_json():
    r = run('inspect', '--json', FIXTURE)
    assert r.returncode == 0, r
    assert r.stderr == ''
    doc = json.loads(r.stdout)
    assert doc['file'] == FIXTURE
    assert doc['format'] == 'qemu-migration-stream'
    assert doc['size'] == 1136
    stream = doc['stream']
    assert stream['version'] == 3
    assert [(s['type'], s.get('name')) for s in stream['sections']] == [
        ('configuration', None),
        ('start', 'ram'),
        ('end', 'ram'),
        ('full', 'timer'),
        ('full', 'dbus-vmstate/dbus-vmstate'),
        ('full', 'globalstate'),
        ('eof', None),
    ]
    dbus = stream['sections'][stream['dbus_vmstate_section']]
    assert dbus['name'] == 'dbus-vmstate/dbus-vmstate'
    assert dbus['data_size'] == 4 + 128  # be32 data_size + the padded blob
    assert stream['description_offset'] == 432
    assert stream['description_offset'] + 5 + stream['description_size'] == 1136
    assert doc['payload_size'] == 128
    assert doc['entries'] == [
        {'id': 'alpha', 'size': 16, 'sha256': sha(ALPHA), 'preview': ALPHA.hex()},
        {'id': 'beta', 'size': 40, 'sha256': sha(BETA), 'preview': BETA.hex()},
    ]


def test_inspect_extract(tmp_path):
    out = tmp_path / 'states'
    r = run('inspect', '--json', '--preview', '0', '--extract', str(out), FIXTURE)
    assert r.returncode == 0, r
    doc = json.loads(r.stdout)
    assert [e['preview'] for e in doc['entries']] == ['', '']
    assert (out / 'alpha').read_bytes() == ALPHA
    assert (out / 'beta').read_bytes() == BETA
    assert doc['entries'][0]['extracted'] == str(out / 'alpha')


def test_inspect_extract_never_escapes_the_directory(tmp_path):
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({'../evil': b'1', '.hidden': b'2', 'a/b': b'3', 'ok.v2': b'4',
                                'été': b'5'}))
    out = tmp_path / 'out'
    r = run('inspect', '--extract', str(out), str(blob))
    assert r.returncode == 0, r
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ['%2E.%2Fevil', '%2Ehidden', 'a%2Fb', 'ok.v2', '%C3%A9t%C3%A9'])
    assert (out / '%2E.%2Fevil').read_bytes() == b'1'
    assert sorted(p.name for p in tmp_path.iterdir()) == ['blob', 'out']


def test_inspect_blob(tmp_path):
    blob = tmp_path / 'blob'
    big = make_state(300, 9)
    blob.write_bytes(make_blob({'b': big, 'a': b'hello'}))
    r = run('inspect', str(blob))
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == f'{blob}: dbus-vmstate blob, {blob.stat().st_size} bytes'
    assert lines[1] == '2 entries'
    assert lines[2] == f'  a: 5 bytes, sha256 {sha(b"hello")}'
    assert lines[3].endswith('|hello|')
    assert '… 236 more bytes' in r.stdout  # 300 - the 64-byte preview
    r = run('inspect', '--json', str(blob))
    assert r.returncode == 0, r
    doc = json.loads(r.stdout)
    assert doc['format'] == 'blob' and 'stream' not in doc
    assert [(e['id'], e['size']) for e in doc['entries']] == [('a', 5), ('b', 300)]
    assert doc['entries'][1]['preview'] == big[:64].hex()


def test_inspect_empty_blob(tmp_path):
    blob = tmp_path / 'blob'
    blob.write_bytes(b'\0\0\0\0')
    r = run('inspect', '--json', str(blob))
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == {'file': str(blob), 'size': 4, 'format': 'blob',
                                    'payload_size': 4, 'entries': []}
    r = run('inspect', str(blob))
    assert r.returncode == 0, r
    assert r.stdout == f'{blob}: dbus-vmstate blob, 4 bytes\n0 entries\n'


def test_inspect_missing_file(tmp_path):
    r = run('inspect', str(tmp_path / 'nope'))
    fails(r, f'cannot open {tmp_path / "nope"}: No such file or directory')


def test_inspect_usage_errors():
    for args, message in [((), 'FILE is required'), ((FIXTURE, FIXTURE), f"unexpected argument '{FIXTURE}'"),
                          (('--preview', '-1', FIXTURE), '--preview must be 0 or more')]:
        r = run('inspect', *args)
        assert r.returncode == 2, r
        assert r.stdout == ''
        assert r.stderr == f"vmstate inspect: {message}\nTry 'vmstate inspect --help' for more information.\n"


@pytest.mark.parametrize('content', [b'', b'hello world\n', b'\x7fELF' + bytes(100),
                                     make_blob({'a': b'x'})[:-1]])
def test_inspect_not_a_migration_file(tmp_path, content):
    f = tmp_path / 'f'
    f.write_bytes(content)
    r = run('inspect', str(f))
    fails(r, f'{f} is neither a QEMU migration stream nor a valid dbus-vmstate blob: ')


def test_inspect_every_truncation_fails_cleanly(tmp_path):
    data = fixture_bytes()
    f = tmp_path / 'cut.mig'
    for cut in range(len(data)):
        f.write_bytes(data[:cut])
        r = run('inspect', str(f))
        if cut < 4:  # not even the magic: taken for a blob
            fails(r, f'{f} is neither a QEMU migration stream nor a valid dbus-vmstate blob: ')
        else:
            fails(r, f'{f}: bad QEMU migration stream: ')


@pytest.mark.parametrize('offset, value, message', [
    (4, b'\x00\x00\x00\x02', 'version 2'),
    (73, b'\x09', 'unknown section type 0x09'),
    (117, b'\x00\x00\x00\x07', 'footer of id 7'),
    (55, b'\x02\x00\x00\x00\x09', 'section id 9, which did not start'),
    (0x22, b'\x00\x00\x00\x00\x00\x00\x00\x80', 'unknown RAM record flags'),
    (160, b'\x00\x00\x00\x7f', 'the stream\'s description says 132'),
])
def test_inspect_corrupt_stream(tmp_path, offset, value, message):
    data = bytearray(fixture_bytes())
    data[offset:offset + len(value)] = value
    f = tmp_path / 'bad.mig'
    f.write_bytes(bytes(data))
    r = run('inspect', str(f))
    fails(r, f'{f}: bad QEMU migration stream: ')
    assert message in r.stderr, r.stderr


def test_inspect_stream_without_dbus_vmstate(tmp_path):
    sections, vmdesc = split_fixture()
    # drop the dbus-vmstate section (offsets 121..297, see the JSON test)
    sections = sections[:121] + sections[297:]
    vmdesc['devices'] = [d for d in vmdesc['devices'] if d['vmsd_name'] != 'dbus-vmstate']
    f = tmp_path / 'none.mig'
    f.write_bytes(join_stream(sections, vmdesc))
    r = run('inspect', str(f))
    fails(r, f'{f}: the QEMU migration stream has no dbus-vmstate section (6 sections walked)')


def test_inspect_stream_whose_description_misses_a_device(tmp_path):
    sections, vmdesc = split_fixture()
    vmdesc['devices'] = [d for d in vmdesc['devices'] if d['name'] != 'timer']
    f = tmp_path / 'nodesc.mig'
    f.write_bytes(join_stream(sections, vmdesc))
    r = run('inspect', str(f))
    fails(r, f"{f}: bad QEMU migration stream: at offset 73 (0x49): cannot step over section 'timer': "
          "the stream's JSON description does not describe it")


def test_inspect_stream_rewritten_description_still_walks(tmp_path):
    """The JSON reader copes with another layout of the same description."""
    sections, vmdesc = split_fixture()
    f = tmp_path / 'same.mig'
    text = json.dumps(vmdesc, indent=3, ensure_ascii=True).encode()
    f.write_bytes(sections + b'\x06' + struct.pack('>I', len(text)) + text)
    r = run('inspect', '--json', str(f))
    assert r.returncode == 0, r
    doc = json.loads(r.stdout)
    assert [e['sha256'] for e in doc['entries']] == [sha(ALPHA), sha(BETA)]


def test_inspect_stream_with_bad_payload(tmp_path):
    data = bytearray(fixture_bytes())
    data[164:168] = b'\x00\x00\x00\x09'  # the blob's entry count
    f = tmp_path / 'badblob.mig'
    f.write_bytes(bytes(data))
    r = run('inspect', str(f))
    fails(r, f'{f}: the dbus-vmstate section of the migration stream is not a valid blob: ')


# Issue 13: states in libvmstate envelopes, made with the library's own
# encoder by make-fixture.py --envelopes (a file, so that the test does
# not load libvmstate into Python, which an ASan build cannot do):
#   fw    the table below, version 2, zstd
#   bad   b'hello world', version 1, uncompressed, its last byte flipped
#   cut   the first 30 bytes of bad
#   raw   ALPHA, not an envelope
ENVELOPES = os.path.join(FIXTURE_DIR, 'envelopes.blob')
ENVELOPE_TABLE = b'ipv4 2 tcp 6 431999 ESTABLISHED src=10.0.2.15 dst=1.2.3.4 [ASSURED]\n' * 200


def test_inspect_envelopes():
    path = ENVELOPES
    table = ENVELOPE_TABLE
    entries = parse_blob(open(path, 'rb').read())
    packed, plain = entries['fw'], entries['bad']
    assert entries['cut'] == plain[:30] and entries['raw'] == ALPHA

    r = run('inspect', '-p', '0', str(path))
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[1] == '4 entries'
    i = lines.index(f'  fw: {len(packed)} bytes, sha256 {sha(packed)}')
    assert lines[i + 1].startswith(f'    envelope: state version 2, {len(table)} bytes of payload, '
                                   f'zstd {len(packed) - 24} bytes (')
    assert lines[i + 1].endswith(' OK')
    i = lines.index(f'  bad: {len(plain)} bytes, sha256 {sha(bytes(plain))}')
    assert lines[i + 1].startswith('    envelope: state version 1, 11 bytes of payload, uncompressed, CRC-32C 0x')
    assert lines[i + 1].endswith(' BAD')
    assert 'bad checksum' in lines[i + 2]
    i = lines.index(f'  cut: 30 bytes, sha256 {sha(bytes(plain[:30]))}')
    assert lines[i + 1].startswith('    envelope: malformed: truncated envelope')
    # a raw entry is shown as before, with no envelope line
    i = lines.index(f'  raw: 16 bytes, sha256 {sha(ALPHA)}')
    assert i == len(lines) - 1 or not lines[i + 1].startswith('    envelope')

    r = run('inspect', '--json', '-p', '0', str(path))
    assert r.returncode == 0, r
    entries = {e['id']: e for e in json.loads(r.stdout)['entries']}
    assert entries['fw']['envelope'] == {
        'version': 2, 'compression': 'zstd', 'payload_size': len(table),
        'stored_size': len(packed) - 24, 'checksum': packed[20:24].hex(),
        'valid': True, 'error': None}
    assert entries['bad']['envelope']['valid'] is False
    assert 'bad checksum' in entries['bad']['envelope']['error']
    assert entries['cut']['envelope'] == {'valid': False, 'error': entries['cut']['envelope']['error']}
    assert 'envelope' not in entries['raw']


def test_inspect_invalid_description(tmp_path):
    """A description that is not JSON is an error that says so, once."""
    sections, vmdesc = split_fixture()
    text = json.dumps(vmdesc).encode()[:-1] + b',}'
    f = tmp_path / 'badjson.mig'
    f.write_bytes(sections + b'\x06' + struct.pack('>I', len(text)) + text)
    r = run('inspect', str(f))
    fails(r, f"{f}: bad QEMU migration stream: the stream's description at offset 432 is not "
          f"valid: invalid JSON at byte {len(text) - 1}: expected a key")


# Issue 15: a description whose be32 length holds the byte 0x06 (0x306,
# and every length of 0x600..0x6ff) was taken for no description at all.

DESCRIPTION_LENGTHS_WITH_0x06 = [0x306] + list(range(0x600, 0x700))


def test_inspect_description_length_holding_0x06(tmp_path):
    sections, vmdesc = split_fixture()
    f = tmp_path / 'padded.mig'
    for length in DESCRIPTION_LENGTHS_WITH_0x06:
        f.write_bytes(join_stream(sections, vmdesc, length))
        r = run('inspect', '--json', '-p', '0', str(f))
        assert r.returncode == 0, (length, r)
        doc = json.loads(r.stdout)
        assert doc['stream']['description_offset'] == len(sections)
        assert doc['stream']['description_size'] == length
        assert [e['sha256'] for e in doc['entries']] == [sha(ALPHA), sha(BETA)]


def load_fixture_into_served_helpers(bus, processes, tmp_path, path, **kwargs):
    """`vmstate load PATH` into two `vmstate serve` helpers, alpha and
    beta, which must then hold the fixture's states."""
    processes.serve(bus, 'alpha', tmp_path / 'alpha.state')
    processes.serve(bus, 'beta', tmp_path / 'beta.state')
    r = run_bytes('load', '--address', bus.address, path, **kwargs)
    assert r.returncode == 0, r
    assert r.stdout == b'' and r.stderr == b''
    assert (tmp_path / 'alpha.state').read_bytes() == ALPHA
    assert (tmp_path / 'beta.state').read_bytes() == BETA


@pytest.mark.parametrize('length', [0x306, 0x640])
def test_load_description_length_holding_0x06(bus, processes, tmp_path, length):
    sections, vmdesc = split_fixture()
    f = tmp_path / 'padded.mig'
    f.write_bytes(join_stream(sections, vmdesc, length))
    load_fixture_into_served_helpers(bus, processes, tmp_path, str(f))


# Issue 15: --json is valid JSON (and UTF-8) whatever the strings in it;
# bytes that are not UTF-8 become U+FFFD.

def renamed_dbus_section(name):
    """The fixture with its dbus-vmstate section renamed to NAME (bytes)."""
    data = fixture_bytes()
    old = b'\x19dbus-vmstate/dbus-vmstate'
    assert data[126:127 + 25] == old
    sections, vmdesc = split_fixture()
    sections = sections[:126] + bytes([len(name)]) + name + sections[127 + 25:]
    # the description still names it dbus-vmstate/dbus-vmstate: the walker
    # then goes by the "/dbus-vmstate" suffix
    return join_stream(sections, vmdesc)


def test_inspect_json_escapes_what_is_not_utf8(tmp_path):
    d = tmp_path / b'out-\xfe'.decode(errors='surrogateescape')
    f = tmp_path / b'\xff\x1b.mig'.decode(errors='surrogateescape')
    f.write_bytes(renamed_dbus_section(b'\xff\xfe/dbus-vmstate'))
    r = run_bytes('inspect', '--json', '--extract', os.fsencode(d), os.fsencode(f))
    assert r.returncode == 0, r
    text = r.stdout.decode('utf-8')  # strict: valid UTF-8
    doc = json.loads(r.stdout)
    assert doc['file'] == str(tmp_path) + '/\ufffd\x1b.mig'
    dbus = doc['stream']['sections'][doc['stream']['dbus_vmstate_section']]
    assert dbus['name'] == '\ufffd\ufffd/dbus-vmstate'
    assert doc['entries'][0]['extracted'] == str(tmp_path) + '/out-\ufffd/alpha'
    assert '\x1b' not in text and '\\u001b' in text

    # the same in text: the raw bytes escaped, nothing else
    r = run_bytes('inspect', os.fsencode(f))
    assert r.returncode == 0, r
    lines = r.stdout.decode('utf-8').splitlines()
    assert lines[0] == str(tmp_path) + '/\\xff\\x1b.mig: QEMU migration stream, version 3, 1126 bytes, 7 sections'
    assert lines[1].startswith("section '\\xff\\xfe/dbus-vmstate' (id 1, instance 0, version 0) at offset 121: ")


# Issue 15: Ids and section names never reach the terminal raw.

# ASCII, as the helpers take it from their command line
EVIL = 'ev\x1b[2Jil\nline2\x07'
EVIL_SHOWN = 'ev\\x1b[2Jil\\nline2\\x07'
# with a right-to-left override, which a terminal would obey
EVIL_BIDI = EVIL + '\u202e'
EVIL_BIDI_SHOWN = EVIL_SHOWN + '\\xe2\\x80\\xae'


def assert_no_control(r):
    for out in (r.stdout, r.stderr):
        text = out if isinstance(out, str) else out.decode('utf-8')
        assert not any(ord(c) < 0x20 and c != '\n' or 0x7f <= ord(c) < 0xa0 or c == '\u202e'
                       for c in text), text
        assert 'line2' not in text.replace(EVIL_SHOWN, ''), text  # never on a line of its own


def test_inspect_text_escapes_ids_and_section_names(tmp_path):
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({EVIL_BIDI: b'state'}))
    r = run('inspect', str(blob))
    assert r.returncode == 0, r
    assert_no_control(r)
    assert r.stdout.splitlines()[2] == f'  {EVIL_BIDI_SHOWN}: 5 bytes, sha256 {sha(b"state")}'
    r = run('inspect', '--json', str(blob))
    assert r.returncode == 0, r
    assert json.loads(r.stdout)['entries'][0]['id'] == EVIL_BIDI

    f = tmp_path / 'evil.mig'
    f.write_bytes(renamed_dbus_section(b'\x1b[2J\n/dbus-vmstate'))
    r = run('inspect', str(f))
    assert r.returncode == 0, r
    assert_no_control(r)
    assert r.stdout.splitlines()[1].startswith("section '\\x1b[2J\\n/dbus-vmstate' (id 1,")

    # and in an error message: a section the walker cannot step over
    sections, vmdesc = split_fixture()
    f.write_bytes(join_stream(sections[:79] + b'\x1b[2J\n' + sections[84:], vmdesc))  # 'timer'
    r = run('inspect', str(f))
    fails(r, f"{f}: bad QEMU migration stream: at offset 73 (0x49): cannot step over section "
          "'\\x1b[2J\\n': the stream's JSON description does not describe it")


def test_list_save_load_escape_ids(bus, processes, tmp_path):
    helpers = [processes.helper(bus, EVIL, 16, 1), processes.helper(bus, EVIL, 16, 2)]
    r = run('list', '--address', bus.address)
    assert r.returncode == 1, r  # a duplicate Id
    assert_no_control(r)
    lines = r.stdout.splitlines()
    assert sorted(line.split()[:2] for line in lines[1:]) == sorted(
        [EVIL_SHOWN, h.unique_name] for h in helpers)
    assert r.stderr == (f"vmstate list: several helpers have the Id '{EVIL_SHOWN}'; a save or load "
                        "of it fails until all but one leave the bus\n")
    r = run('list', '--address', bus.address, '--json')
    assert [h['id'] for h in json.loads(r.stdout)] == [EVIL, EVIL]

    # the library's own messages that hold the Id
    r = run('save', '--address', bus.address, '-o', str(tmp_path / 'x'))
    assert r.returncode == 1, r
    assert_no_control(r)
    assert EVIL_SHOWN in r.stderr
    helpers[1].stop()

    blob = tmp_path / 'blob'
    r = run('save', '--address', bus.address, '-o', str(blob))
    assert r.returncode == 0, r
    r = run('load', '--address', bus.address, '--ids', 'nope\x1b[2J', str(blob))
    assert r.returncode == 1, r
    assert_no_control(r)
    assert r.stderr == (f"vmstate load: {blob} holds no state for the Id 'nope\\x1b[2J' "
                        f"(it holds: {EVIL_SHOWN}); no helper was loaded\n")


def test_load_escapes_a_helpers_error(bus, processes, tmp_path):
    processes.helper(bus, 'a', 16, 1, '--load-error', 'bad\x1b[2J\nthing')
    blob = tmp_path / 'blob'
    blob.write_bytes(make_blob({'a': b'state'}))
    r = run('load', '--address', bus.address, str(blob))
    assert r.returncode == 1, r
    assert_no_control(r)
    assert r.stderr.startswith('vmstate load: ') and r.stderr.count('\n') == 1
    assert 'bad\\x1b[2J\\nthing' in r.stderr


# Issue 15: standard input and pipes

def test_inspect_reads_standard_input_and_pipes(tmp_path):
    want = json.loads(run('inspect', '--json', FIXTURE).stdout)
    data = fixture_bytes()
    for path in ('-', '/dev/stdin'):
        r = run_bytes('inspect', '--json', path, input=data)  # a pipe
        assert r.returncode == 0, (path, r)
        assert json.loads(r.stdout) == dict(want, file=path)
    with open(FIXTURE, 'rb') as f:  # a regular file as standard input
        r = run_bytes('inspect', '--json', '-', stdin=f)
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == dict(want, file='-')
    # a pipe that another process writes into
    cat = subprocess.Popen(['cat', FIXTURE], stdout=subprocess.PIPE)
    try:
        r = run_bytes('inspect', '--json', '-', stdin=cat.stdout)
    finally:
        cat.stdout.close()
        cat.wait(timeout=TIMEOUT)
    assert r.returncode == 0, r
    assert json.loads(r.stdout) == dict(want, file='-')
    # errors name standard input
    r = run('inspect', '-', input=data[:100].decode('latin-1'))
    fails(r, 'standard input: bad QEMU migration stream: ')
    r = run('inspect', '-', input='')
    fails(r, 'standard input is neither a QEMU migration stream nor a valid dbus-vmstate blob: ')


def test_load_reads_standard_input(bus, processes, tmp_path):
    load_fixture_into_served_helpers(bus, processes, tmp_path, '-', input=fixture_bytes())


# Issue 15: the walk is linear. Two crafted streams of 16 000 extra
# sections, which took 32 s and more before: one device per section (the
# description was searched linearly for every section), and one device
# with 16 000 empty fields (each section walked all of them). A generous
# bound: linear, they take well under a second (see BENCHMARKS.md).

N_SECTIONS = 16000


def test_inspect_many_sections_is_linear(tmp_path):
    sections, vmdesc = split_fixture()
    timer = next(d for d in vmdesc['devices'] if d['name'] == 'timer')
    many_devices = stream_with_sections(
        sections, vmdesc, b''.join(timer_section(100 + i, 1 + i) for i in range(N_SECTIONS)),
        [dict(timer, instance_id=1 + i) for i in range(N_SECTIONS)])
    many_fields = stream_with_sections(
        sections, vmdesc, b''.join(timer_section(100 + i, 1, b'') for i in range(N_SECTIONS)),
        [dict(timer, instance_id=1, fields=[{'name': f'f{i}', 'type': 'unused_buffer', 'size': 0}
                                             for i in range(N_SECTIONS)])])
    for name, data in [('devices', many_devices), ('fields', many_fields)]:
        f = tmp_path / f'{name}.mig'
        f.write_bytes(data)
        start = time.monotonic()
        r = run('inspect', '-p', '0', str(f))
        elapsed = time.monotonic() - start
        assert r.returncode == 0, r
        assert r.stdout.startswith(f'{f}: QEMU migration stream, version 3, {len(data)} bytes, '
                                   f'{7 + N_SECTIONS} sections\n')
        assert elapsed < 10, (name, elapsed)


def test_inspect_bounds_iterative_sections(tmp_path):
    """QEMU starts one 'ram' section; 1025 are refused, not all hashed."""
    sections, vmdesc = split_fixture()
    ram = b''.join(b'\x01' + struct.pack('>I', 1000 + i) + b'\x03ram' + struct.pack('>II', 0, 4) +
                   struct.pack('>Q', 0x10) + b'\x7e' + struct.pack('>I', 1000 + i) for i in range(1025))
    f = tmp_path / 'ram.mig'
    f.write_bytes(join_stream(sections[:-1] + ram + b'\x00', vmdesc))
    r = run('inspect', str(f))
    offset = len(sections) - 1 + 1023 * 30  # the fixture's own 'ram' is the first
    fails(r, f'{f}: bad QEMU migration stream: at offset {offset} (0x{offset:x}): '
          'more than 1024 iterative sections start')
