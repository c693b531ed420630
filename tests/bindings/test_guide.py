# test_guide.py: the code the guide quotes is the code the tests run
#
# Every line of the first code block of each "Writing a helper" page must
# appear in the example it quotes, so the guide cannot drift from
# examples/ (which test_examples.py runs).
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import re

import pytest

from conftest import source_path

PAGES = {
    "helper-c.md": "examples/c/counter-helper.c",
    "helper-python.md": "examples/python/counter-helper.py",
    "helper-gjs.md": "examples/gjs/counter-helper.js",
    "helper-vala.md": "examples/vala/counter-helper.vala",
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_guide_quotes_the_example(page):
    with open(source_path("doc", page)) as f:
        blocks = re.findall(r"^```[a-z]+\n(.*?)^```", f.read(), re.S | re.M)
    assert blocks, "no code block in " + page
    with open(source_path(*PAGES[page].split("/"))) as f:
        example = {line.rstrip() for line in f}
    missing = [line for line in blocks[0].splitlines() if line.strip() and line.rstrip() not in example]
    assert missing == [], "%s quotes lines that are not in %s" % (page, PAGES[page])
