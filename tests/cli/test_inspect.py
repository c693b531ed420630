# vmstate inspect: blob files and real QEMU migration streams, good and bad.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import hashlib
import json
import os
import struct

import pytest

from conftest import FIXTURE_DIR, make_blob, make_state, run

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


def join_stream(sections, vmdesc):
    text = json.dumps(vmdesc).encode()
    return sections + b'\x06' + struct.pack('>I', len(text)) + text


def test_inspect_qemu_stream_text():
    r = run('inspect', FIXTURE)
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == f'{FIXTURE}: QEMU migration stream, version 3, 1136 bytes, 7 sections'
    assert lines[1].startswith("section 'dbus-vmstate/dbus-vmstate' (id 1, instance 0, version 0) at offset 121: 128 bytes")
    assert lines[2] == '2 entries'
    assert lines[3] == f'  alpha: 16 bytes, sha256 {sha(ALPHA)}'
    assert lines[4].split()[1:17] == [f'{b:02x}' for b in ALPHA]
    assert f'  beta: 40 bytes, sha256 {sha(BETA)}' in lines


def test_inspect_qemu_stream_json():
    r = run('inspect', '--json', FIXTURE)
    assert r.returncode == 0, r
    doc = json.loads(r.stdout)
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
    doc = json.loads(run('inspect', '--json', str(blob)).stdout)
    assert doc['format'] == 'blob' and 'stream' not in doc
    assert [(e['id'], e['size']) for e in doc['entries']] == [('a', 5), ('b', 300)]
    assert doc['entries'][1]['preview'] == big[:64].hex()


def test_inspect_empty_blob(tmp_path):
    blob = tmp_path / 'blob'
    blob.write_bytes(b'\0\0\0\0')
    doc = json.loads(run('inspect', '--json', str(blob)).stdout)
    assert doc['entries'] == []


def test_inspect_missing_file(tmp_path):
    r = run('inspect', str(tmp_path / 'nope'))
    assert r.returncode == 1
    assert 'nope' in r.stderr and 'No such file' in r.stderr


@pytest.mark.parametrize('content', [b'', b'hello world\n', b'\x7fELF' + bytes(100),
                                     make_blob({'a': b'x'})[:-1]])
def test_inspect_not_a_migration_file(tmp_path, content):
    f = tmp_path / 'f'
    f.write_bytes(content)
    r = run('inspect', str(f))
    assert r.returncode == 1
    assert r.stdout == ''
    assert 'neither a QEMU migration stream nor a valid dbus-vmstate blob' in r.stderr


def test_inspect_every_truncation_fails_cleanly(tmp_path):
    data = fixture_bytes()
    f = tmp_path / 'cut.mig'
    for cut in list(range(4, len(data), 5)) + [len(data) - 1]:
        f.write_bytes(data[:cut])
        r = run('inspect', str(f))
        assert r.returncode == 1, (cut, r)
        assert 'bad QEMU migration stream' in r.stderr, (cut, r.stderr)


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
    assert r.returncode == 1, r
    assert message in r.stderr, r.stderr


def test_inspect_stream_without_dbus_vmstate(tmp_path):
    sections, vmdesc = split_fixture()
    # drop the dbus-vmstate section (offsets 121..297, see the JSON test)
    sections = sections[:121] + sections[297:]
    vmdesc['devices'] = [d for d in vmdesc['devices'] if d['vmsd_name'] != 'dbus-vmstate']
    f = tmp_path / 'none.mig'
    f.write_bytes(join_stream(sections, vmdesc))
    r = run('inspect', str(f))
    assert r.returncode == 1, r
    assert 'no dbus-vmstate section' in r.stderr


def test_inspect_stream_whose_description_misses_a_device(tmp_path):
    sections, vmdesc = split_fixture()
    vmdesc['devices'] = [d for d in vmdesc['devices'] if d['name'] != 'timer']
    f = tmp_path / 'nodesc.mig'
    f.write_bytes(join_stream(sections, vmdesc))
    r = run('inspect', str(f))
    assert r.returncode == 1, r
    assert "cannot step over section 'timer'" in r.stderr


def test_inspect_stream_rewritten_description_still_walks(tmp_path):
    """The JSON reader copes with another layout of the same description."""
    sections, vmdesc = split_fixture()
    f = tmp_path / 'same.mig'
    text = json.dumps(vmdesc, indent=3, ensure_ascii=True).encode()
    f.write_bytes(sections + b'\x06' + struct.pack('>I', len(text)) + text)
    doc = json.loads(run('inspect', '--json', str(f)).stdout)
    assert [e['sha256'] for e in doc['entries']] == [sha(ALPHA), sha(BETA)]


def test_inspect_stream_with_bad_payload(tmp_path):
    data = bytearray(fixture_bytes())
    data[164:168] = b'\x00\x00\x00\x09'  # the blob's entry count
    f = tmp_path / 'badblob.mig'
    f.write_bytes(bytes(data))
    r = run('inspect', str(f))
    assert r.returncode == 1
    assert 'dbus-vmstate section of the migration stream is not a valid blob' in r.stderr


# Issue 13: states in libvmstate envelopes (made with the library's own
# encoder through PyGObject)

def _envelope(payload, version, compress):
    import gi
    gi.require_version('Vmstate', '1.0')
    from gi.repository import GLib, Vmstate
    return bytes(Vmstate.Envelope.encode(GLib.Bytes.new(payload), version, compress).get_data())


def test_inspect_envelopes(tmp_path):
    table = b'ipv4 2 tcp 6 431999 ESTABLISHED src=10.0.2.15 dst=1.2.3.4 [ASSURED]\n' * 200
    packed = _envelope(table, 2, True)
    plain = bytearray(_envelope(b'hello world', 1, False))
    plain[-1] ^= 1
    blob = make_blob({'fw': packed, 'bad': bytes(plain), 'cut': bytes(plain[:30]),
                      'raw': ALPHA})
    path = tmp_path / 'envelopes.bin'
    path.write_bytes(blob)

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
