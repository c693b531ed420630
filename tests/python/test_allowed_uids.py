# test_allowed_uids.py: the allowed-uids property and its accessors from
# Python: one GVariant `au` both ways, linked in the GIR, and enforced
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import xml.etree.ElementTree as ET

import pytest

from gi.repository import GLib, Vmstate

from conftest import run_async

GIR = "{http://www.gtk.org/introspection/core/1.0}"
GLIB = "{http://www.gtk.org/introspection/glib/1.0}"


def au(*uids):
    return GLib.Variant("au", list(uids))


def default_uids():
    return sorted({os.geteuid(), 0})


def uids_of(variant):
    assert isinstance(variant, GLib.Variant)
    assert variant.get_type_string() == "au"
    return sorted(variant.unpack())


def test_the_default_is_own_euid_and_root():
    svc = Vmstate.Service(id="u")
    assert uids_of(svc.get_allowed_uids()) == default_uids()
    assert uids_of(svc.props.allowed_uids) == default_uids()
    assert os.geteuid() in svc.get_allowed_uids().unpack()


def test_set_by_property_read_by_accessor():
    svc = Vmstate.Service(id="u")
    svc.props.allowed_uids = au(0, 107)
    assert svc.get_allowed_uids().unpack() == [0, 107]
    svc.set_property("allowed-uids", au(65534))
    assert svc.get_allowed_uids().unpack() == [65534]


def test_set_by_accessor_read_by_property():
    svc = Vmstate.Service(id="u")
    svc.set_allowed_uids(au(107, 0))
    assert svc.props.allowed_uids.unpack() == [107, 0]
    assert svc.get_property("allowed-uids").unpack() == [107, 0]


@pytest.mark.parametrize("how", ["accessor", "property"])
@pytest.mark.parametrize("value", [None, au()], ids=["None", "empty"])
def test_none_or_empty_restores_the_default(how, value):
    svc = Vmstate.Service(id="u")
    svc.set_allowed_uids(au(107))
    if how == "accessor":
        svc.set_allowed_uids(value)
    else:
        svc.props.allowed_uids = value
    assert uids_of(svc.get_allowed_uids()) == default_uids()
    assert uids_of(svc.props.allowed_uids) == default_uids()


def test_notify_only_on_change():
    svc = Vmstate.Service(id="u")
    seen = []
    svc.connect("notify::allowed-uids", lambda s, pspec: seen.append(s.get_allowed_uids().unpack()))
    svc.set_allowed_uids(au(107))
    svc.props.allowed_uids = au(107)
    svc.set_allowed_uids(None)
    svc.set_allowed_uids(None)
    assert seen == [[107], svc.get_allowed_uids().unpack()]


def test_the_gir_links_the_property_and_its_accessors():
    gir = ET.parse(os.path.join(os.environ["VMSTATE_BUILD_ROOT"], "libvmstate", "Vmstate-1.0.gir"))
    cls = gir.find(".//%sclass[@name='Service']" % GIR)
    prop = cls.find("%sproperty[@name='allowed-uids']" % GIR)
    getter = cls.find("%smethod[@name='get_allowed_uids']" % GIR)
    setter = cls.find("%smethod[@name='set_allowed_uids']" % GIR)

    assert prop.get("getter") == "get_allowed_uids"
    assert prop.get("setter") == "set_allowed_uids"
    assert getter.get(GLIB + "get-property") == "allowed-uids"
    assert setter.get(GLIB + "set-property") == "allowed-uids"

    (param,) = setter.findall("%sparameters/%sparameter" % (GIR, GIR))
    types = [prop.find(GIR + "type").get("name"),
             getter.find("%sreturn-value/%stype" % (GIR, GIR)).get("name"),
             param.find(GIR + "type").get("name")]
    assert types == ["GLib.Variant"] * 3
    assert param.get("nullable") == "1"
    assert getter.find(GIR + "return-value").get("transfer-ownership") == "none"


class Saver(Vmstate.Service):
    def do_save(self):
        return b"secret"


def test_a_uid_not_listed_is_refused(bus):
    """Set from Python, the list is the one the service enforces."""
    svc = Saver(id="u")
    svc.set_allowed_uids(au(os.geteuid() + 1 if os.geteuid() else 65534))  # neither us nor root
    svc.export(bus.connect())
    collector = Vmstate.Collector.new(bus.connect())
    with pytest.raises(GLib.Error) as info:
        run_async(lambda cb: collector.save_async(None, cb), collector.save_finish)
    assert "AccessDenied" in info.value.message
    assert "its uid %d is not allowed" % os.geteuid() in info.value.message

    svc.props.allowed_uids = None
    blob = run_async(lambda cb: collector.save_async(None, cb), collector.save_finish)
    assert Vmstate.Blob.new_from_bytes(blob).get_state("u").get_data() == b"secret"
    svc.unexport()
