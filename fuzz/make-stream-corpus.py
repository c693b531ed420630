#!/usr/bin/python3
# make-stream-corpus.py: writes the seed corpus of fuzz-stream in
# fuzz/corpus/stream/ (run from fuzz/), from the real QEMU 7.2 stream the
# CLI tests read (tests/cli/qemu-7.2-machine-none.mig, made by
# tests/cli/make-fixture.py): the stream itself, its description padded
# to lengths holding the byte 0x06 (774 = 0x306, 1600 = 0x640), one with
# a subsection (described and in the stream), and the description alone
# (for the JSON reader); regress-* once made the walker misbehave. The files are committed; rerun this only to
# change them.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, '..', 'tests', 'cli', 'qemu-7.2-machine-none.mig')
OUT = os.path.join(HERE, 'corpus', 'stream')


def split(data):
    """(the sections up to EOF, the description), finding the description
    as the walker does: the earliest 0x06 among the 5 bytes up to the last
    one whose length reaches the end."""
    last = data.rindex(b'\x06')
    for pos in range(max(last - 4, 0), last + 1):
        if data[pos] == 6 and struct.unpack_from('>I', data, pos + 1)[0] == len(data) - pos - 5:
            return data[:pos], data[pos + 5:]
    raise ValueError('no description')


def join(sections, text):
    return sections + b'\x06' + struct.pack('>I', len(text)) + text


def pad(text, length):
    return text + b' ' * (length - len(text))


def main():
    with open(FIXTURE, 'rb') as f:
        data = f.read()
    sections, text = split(data)
    seeds = {
        'qemu-7.2-machine-none': data,
        'description-774': join(sections, pad(text, 774)),
        'description-1600': join(sections, pad(text, 1600)),
        'description-only': text,
        # once made the walker set an error twice (found by fuzz-stream)
        'regress-description-invalid': join(sections, text[:-1] + b',}'),
    }
    # a subsection of the timer: described, and in the stream after the
    # timer's 24 bytes of fields
    vmdesc = json.loads(text)
    timer = next(d for d in vmdesc['devices'] if d['name'] == 'timer')
    timer['subsections'] = [{'vmsd_name': 'timer/dticks', 'version': 1,
                             'fields': [{'name': 'dticks', 'type': 'int64', 'size': 8}]}]
    name = b'timer'
    header = b'\x04' + struct.pack('>I', 0) + bytes([len(name)]) + name
    start = sections.index(header)
    fields_end = start + len(header) + 8 + 24
    sub = b'\x05' + bytes([12]) + b'timer/dticks' + struct.pack('>I', 1) + bytes(8)
    seeds['subsection'] = join(sections[:fields_end] + sub + sections[fields_end:],
                               json.dumps(vmdesc).encode())
    os.makedirs(OUT, exist_ok=True)
    for name, content in seeds.items():
        with open(os.path.join(OUT, name), 'wb') as f:
            f.write(content)


if __name__ == '__main__':
    main()
