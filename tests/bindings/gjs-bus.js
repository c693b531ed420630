// gjs-bus.js: what the GJS test helpers share: a connection to the
// test's private bus, and a main loop that runs until SIGTERM or until
// the bus goes away
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';

export function connect(address) {
    return Gio.DBusConnection.new_for_address_sync(address,
        Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
        Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, null, null);
}

export function runUntilStopped(connection) {
    const loop = new GLib.MainLoop(null, false);
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, () => loop.quit());
    connection.connect('closed', () => loop.quit());
    loop.run();
}
