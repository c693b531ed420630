#!/usr/bin/python3
# Makes qemu-7.2-machine-none.mig, the real QEMU migration stream the
# inspect and load tests read: QEMU 7.2 (Debian 12's qemu-system-x86_64),
# `-machine none -nodefaults` with a dbus-vmstate object on a `vmstate bus`
# bus holding two C test helpers, `alpha` (16 bytes, seed 1) and `beta`
# (40 bytes, seed 2), migrated with QMP `migrate exec:cat>FILE`.
#
#   VMSTATE_BUILD_ROOT=build /usr/bin/python3 tests/cli/make-fixture.py OUT
#
# The stream is 1136 bytes every time, but QEMU writes the entries in its
# hash table's order, so alpha and beta may swap places between runs: the
# committed file (sha256 12aa9a44f5edef9fd3aba51910d1b76c6d7786ebabd5d75aa3db2d63aba9d70b)
# has beta first. `vmstate inspect` shows the same entries for either.
#
# With --pc MIB it makes a large real stream instead (not committed; the
# stream walker's benchmark reads it, see BENCHMARKS.md): `-machine pc`
# with MIB MiB of RAM filled with pseudo-random bytes (a private mapping
# of a file, so that every page is migrated in full, as a busy guest's
# are), stopped (-S), the same two helpers: about MIB MiB of RAM pages
# and the 30-odd device sections of a PC.
#
#   VMSTATE_BUILD_ROOT=build /usr/bin/python3 tests/cli/make-fixture.py --pc 256 /tmp/pc-256.mig
#
# With --envelopes it writes envelopes.blob instead, the blob of states
# in libvmstate envelopes that test_inspect_envelopes() reads, made with
# the library's own encoder through PyGObject (see that test):
#
#   GI_TYPELIB_PATH=build/libvmstate LD_LIBRARY_PATH=build/libvmstate \
#     /usr/bin/python3 tests/cli/make-fixture.py --envelopes tests/cli/envelopes.blob
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import argparse
import pathlib
import random
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))

import test_qemu  # noqa: E402
from conftest import Bus, Processes, make_blob  # noqa: E402
from test_qemu import migrate_to_file, start_qemu  # noqa: E402


def pc_qemu(tmp, mib):
    """A wrapper of QEMU that turns start_qemu()'s `-machine none` into a
    PC whose RAM is MIB MiB of pseudo-random bytes."""
    ram = tmp / 'ram'
    rng = random.Random(15)
    with open(ram, 'wb') as f:
        for _ in range(mib):
            f.write(rng.randbytes(1 << 20))
    wrapper = tmp / 'qemu-pc'
    wrapper.write_text(
        '#!/bin/sh\n'
        '# every argument but "-machine none"\n'
        'for a; do\n'
        '  shift\n'
        '  if [ -n "$skip" ]; then skip=; continue; fi\n'
        '  if [ "$a" = -machine ]; then skip=1; continue; fi\n'
        '  set -- "$@" "$a"\n'
        'done\n'
        f'exec {test_qemu.QEMU} -machine pc,memory-backend=ram -m {mib}M '
        f'-object memory-backend-file,id=ram,size={mib}M,mem-path={ram},share=off "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


def envelope(payload, version, compress):
    import gi
    gi.require_version('Vmstate', '1.0')
    from gi.repository import GLib, Vmstate
    return bytes(Vmstate.Envelope.encode(GLib.Bytes.new(payload), version, compress).get_data())


def write_envelopes(out):
    from test_inspect import ALPHA, ENVELOPE_TABLE
    plain = bytearray(envelope(b'hello world', 1, False))
    plain[-1] ^= 1
    out.write_bytes(make_blob({'fw': envelope(ENVELOPE_TABLE, 2, True), 'bad': bytes(plain),
                               'cut': bytes(plain[:30]), 'raw': ALPHA}))


def main():
    parser = argparse.ArgumentParser(description='Makes a real QEMU 7.2 migration stream.')
    parser.add_argument('--pc', type=int, metavar='MIB', help='a PC with MIB MiB of random RAM')
    parser.add_argument('--envelopes', action='store_true', help='the blob of envelopes instead')
    parser.add_argument('out')
    args = parser.parse_args()
    out = pathlib.Path(args.out).absolute()
    if args.envelopes:
        write_envelopes(out)
        return
    procs = Processes()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        if args.pc:
            test_qemu.QEMU = pc_qemu(tmp, args.pc)
        try:
            bus = Bus(procs, tmp / 'bus')
            procs.helper(bus, 'alpha', 16, 1)
            procs.helper(bus, 'beta', 40, 2)
            qemu, qmp = start_qemu(procs, tmp, bus.address, 'qemu')
            try:
                status = migrate_to_file(qmp, out)
                qmp.command('quit')
            finally:
                qmp.close()
            qemu.wait()
        finally:
            procs.stop_all()
    if status != 'completed':
        sys.exit(f'migration {status}')
    print(f'wrote {out}')


if __name__ == '__main__':
    main()
