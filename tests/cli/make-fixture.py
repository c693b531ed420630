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
# SPDX-License-Identifier: LGPL-2.1-or-later

import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))

from conftest import Bus, Processes  # noqa: E402
from test_qemu import migrate_to_file, start_qemu  # noqa: E402


def main(out):
    out = pathlib.Path(out).absolute()
    procs = Processes()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
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
    if len(sys.argv) != 2:
        sys.exit('usage: make-fixture.py OUT')
    main(sys.argv[1])
