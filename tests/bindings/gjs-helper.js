// gjs-helper.js: GJS helpers that fail in each way a JS programmer would
//
// Usage: gjs -m gjs-helper.js ADDRESS ID MODE
//   MODE "plain":   vfunc_save returns a Uint8Array, vfunc_load returns true
//   MODE "throw":   both vfuncs throw a plain Error
//   MODE "gerror":  both vfuncs throw a GLib.Error of the Vmstate domain
//   MODE "type":    vfunc_save returns a string; vfunc_load reads undefined.x
// Prints "READY", then "LOADED <size>" from the loaded signal.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Gio from 'gi://Gio';
import GObject from 'gi://GObject';
import Vmstate from 'gi://Vmstate?version=1.0';

const [address, id, mode] = ARGV;

const Helper = GObject.registerClass(
class Helper extends Vmstate.Service {
    vfunc_save() {
        switch (mode) {
        case 'throw':
            throw new Error('save went wrong in JS');
        case 'gerror':
            throw new GLib.Error(Vmstate.Error, Vmstate.Error.NOT_SUPPORTED, 'save is not supported here');
        case 'type':
            return 'not bytes';
        default:
            return new Uint8Array([1, 2, 3]);
        }
    }

    vfunc_load(state) {
        this.lastSize = state.get_size();
        switch (mode) {
        case 'throw':
            throw new Error('load went wrong in JS');
        case 'gerror':
            throw new GLib.Error(Vmstate.Error, Vmstate.Error.NOT_SUPPORTED, 'load is not supported here');
        case 'type':
            return undefined.x;
        default:
            return true;  // load returns a boolean
        }
    }
});

const connection = Gio.DBusConnection.new_for_address_sync(address,
    Gio.DBusConnectionFlags.AUTHENTICATION_CLIENT |
    Gio.DBusConnectionFlags.MESSAGE_BUS_CONNECTION, null, null);
const helper = new Helper({id});
helper.connect('loaded', () => print(`LOADED ${helper.lastSize}`));
helper.export(connection);
print('READY');

const loop = new GLib.MainLoop(null, false);
GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, 15, () => loop.quit());
connection.connect('closed', () => loop.quit());
loop.run();
