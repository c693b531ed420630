#!/usr/bin/gjs -m
// counter-helper.js: a libvmstate helper whose state is a counter
//
// Usage: gjs -m counter-helper.js ADDRESS ID [COUNT]
//
// Exports a helper named ID on the VM's private bus at ADDRESS, whose
// state is COUNT (default 0) as decimal text; prints "READY", then
// "LOADED <count>" whenever a migration restores the counter. It exits on
// SIGINT or SIGTERM, leaving the bus, or when the bus goes away.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import Vmstate from 'gi://Vmstate?version=1.0';
import System from 'system';

const Counter = GObject.registerClass(
class Counter extends Vmstate.Service {
    vfunc_save() {
        // a Uint8Array or a GLib.Bytes
        return new TextEncoder().encode(String(this.count));
    }

    vfunc_load(state) {
        const text = new TextDecoder().decode(state.toArray());
        if (!/^[0-9]+$/.test(text))
            throw new Error(`not a counter: "${text}"`);
        this.count = Number(text);
        print(`LOADED ${this.count}`);
        return true;  // load returns a boolean: without this, the Load fails
    }
});

if (ARGV.length < 2) {
    printerr('usage: counter-helper.js ADDRESS ID [COUNT]');
    System.exit(2);
}
const [address, id, count = '0'] = ARGV;
const connection = Gio.DBusConnection.new_for_address_sync(address,
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, null, null);
const counter = new Counter({id});
counter.count = Number(count);
// The export keeps the service (and its JS object) alive until unexport()
// or until the connection closes: no reference needs to be kept.
counter.export(connection);
print('READY');

const loop = new GLib.MainLoop(null, false);
for (const signum of [2, 15])  // SIGINT, SIGTERM
    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signum, () => loop.quit());
connection.connect('closed', () => loop.quit());
loop.run();
counter.unexport();  // leave the bus
