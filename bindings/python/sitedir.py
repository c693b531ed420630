#!/usr/bin/python3
# sitedir.py PREFIX PURELIB: where to install a pure module under PREFIX
# so that this Python imports it with nothing set.
#
# PURELIB (meson's purelib for PREFIX) if it is on sys.path; else the first
# site-packages or dist-packages directory on sys.path under PREFIX (with
# Debian's Python and PREFIX /usr/local, meson says
# /usr/local/lib/python3/dist-packages, which /usr/bin/python3 does not
# search, and sys.path has /usr/local/lib/python3.11/dist-packages); else
# PURELIB, with a line on stderr saying that PYTHONPATH must name it.
# Run it with -E: the answer must not depend on the caller's PYTHONPATH.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import sys

prefix, purelib = (os.path.normpath(arg) for arg in sys.argv[1:3])
path = [os.path.normpath(p) for p in sys.path if os.path.isabs(p)]
under_prefix = [p for p in path
                if os.path.commonpath([p, prefix]) == prefix
                and os.path.basename(p) in ("site-packages", "dist-packages")]
if purelib in path or not under_prefix:
    if purelib not in path:
        print("%s is not on the sys.path of %s: set PYTHONPATH=%s for the Python override"
              % (purelib, sys.executable, purelib), file=sys.stderr)
    print(purelib)
else:
    print(under_prefix[0])
