# test_testbus.py: the shared bus fixture (tests/vmstate_testbus.py) starts
# a real private dbus-daemon with the config a test asks for
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os

from gi.repository import Gio, GLib

from vmstate_testbus import ALLOW_ALL, ANY_USER, CONFIG, PrivateBus


def bus_id(connection):
    reply = connection.call_sync("org.freedesktop.DBus", "/org/freedesktop/DBus",
                                    "org.freedesktop.DBus", "GetId", None, None,
                                    Gio.DBusCallFlags.NONE, -1, None)
    return reply.unpack()[0]


def test_private_bus_is_ours_and_goes_away(bus):
    assert bus.address.startswith("unix:path=" + bus.dir)
    assert bus.address != os.environ.get("DBUS_SESSION_BUS_ADDRESS")
    assert bus_id(bus.connect())
    bus.stop()
    assert not bus.alive()
    bus.stop()  # again: nothing to do


def test_policy_and_limits():
    with PrivateBus(policy=ANY_USER, limits={"max_message_size": 40 << 20}) as bus:
        config = open(bus.config).read()
        assert '<allow user="*"/>' in config
        assert '<limit name="max_message_size">41943040</limit>' in config
        # a 33 MiB body: over dbus-daemon's default 32 MiB, under ours
        # (built from GBytes: a Python bytes object converts byte by byte)
        payload = GLib.Variant.new_from_bytes(GLib.VariantType("ay"), GLib.Bytes(b"\0" * (33 << 20)), True)
        big = GLib.Variant.new_tuple(payload)
        c = bus.connect()
        msg = Gio.DBusMessage.new_signal("/t", "org.example.T", "Big")
        msg.set_body(big)
        c.send_message(msg, Gio.DBusSendMessageFlags.NONE)
        c.flush_sync(None)
        assert bus_id(c)  # the daemon took it and still answers this connection
    assert not os.path.exists(bus.dir)


def test_whole_config():
    limit = '  <limit name="max_replies_per_connection">1024</limit>\n'
    text = CONFIG.replace("{policy}", ALLOW_ALL).replace("{limits}", limit)
    with PrivateBus(config=text) as bus:
        assert limit in open(bus.config).read()
        assert bus_id(bus.connect())
