# test_doap.py: vmstate.doap is well-formed and has what GNOME's tools read
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import xml.etree.ElementTree as ET

from conftest import source_path

DOAP = "{http://usefulinc.com/ns/doap#}"
FOAF = "{http://xmlns.com/foaf/0.1/}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"


def test_doap():
    root = ET.parse(source_path("vmstate.doap")).getroot()
    assert root.tag == DOAP + "Project"
    assert root.find(DOAP + "name").text == "libvmstate"
    for field in ("shortdesc", "description", "programming-language"):
        assert root.find(DOAP + field).text.strip()
    assert "LGPL-2.1-or-later" in root.find(DOAP + "license").get(RDF + "resource")
    assert root.find(f"{DOAP}repository/{DOAP}GitRepository/{DOAP}location") is not None
    assert root.find(f"{DOAP}maintainer/{FOAF}Person/{FOAF}name").text.strip()
