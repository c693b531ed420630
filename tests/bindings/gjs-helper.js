// gjs-helper.js: GJS helpers that fail in each way a JS programmer would
//
// Usage: gjs -m gjs-helper.js ADDRESS ID MODE
//   MODE "plain":   vfunc_save returns a Uint8Array, vfunc_load returns true
//   MODE "throw":   both vfuncs throw a plain Error
//   MODE "gerror":  both vfuncs throw a GLib.Error of the Vmstate domain
//   MODE "type":    vfunc_save returns a string; vfunc_load reads undefined.x
//   MODE "noreturn": vfunc_load forgets to return true
//   MODE "export-async": as "plain", exported with export_async
//   MODE "unreferenced": new Keeper({id}).export(connection) and no
//                   reference kept; the state lives in a JS property;
//                   System.gc() runs before "READY" and after every
//                   answer, which prints "COLLECTED"
// Prints "READY" once on the bus, then (except "unreferenced") "LOADED
// <size>" from the loaded signal.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Vmstate from 'gi://Vmstate?version=1.0';
import System from 'system';

import {connect, runUntilStopped} from './gjs-bus.js';

const [address, id, mode] = ARGV;

// what both vfuncs do in the modes "throw" and "gerror"
function throwIfAsked(call) {
    if (mode === 'throw')
        throw new Error(`${call} went wrong in JS`);
    if (mode === 'gerror')
        throw new GLib.Error(Vmstate.Error, Vmstate.Error.NOT_SUPPORTED, `${call} is not supported here`);
}

const Helper = GObject.registerClass(
class Helper extends Vmstate.Service {
    vfunc_save() {
        throwIfAsked('save');
        return mode === 'type' ? 'not bytes' : new Uint8Array([1, 2, 3]);
    }

    vfunc_load(state) {
        this.lastSize = state.get_size();
        throwIfAsked('load');
        switch (mode) {
        case 'type':
            return undefined.x;
        case 'noreturn':
            break;  // and so returns undefined, which is false
        default:
            return true;  // load returns a boolean
        }
    }
});

// A full GC once the current answer is sent, while nothing but the
// export holds the service.
function collectSoon() {
    GLib.idle_add(GLib.PRIORITY_DEFAULT_IDLE, () => {
        System.gc();
        print('COLLECTED');
        return GLib.SOURCE_REMOVE;
    });
}

const Keeper = GObject.registerClass(
class Keeper extends Vmstate.Service {
    constructor(params) {
        super(params);
        this.state = new TextEncoder().encode(`kept by ${this.id}`);
    }

    vfunc_save() {
        collectSoon();
        return this.state;
    }

    vfunc_load(state) {
        this.state = state.toArray();
        collectSoon();
        return true;
    }
});

const connection = connect(address);
if (mode === 'unreferenced') {
    new Keeper({id}).export(connection);
    System.gc();
    print('READY');
} else {
    const helper = new Helper({id});
    helper.connect('loaded', () => print(`LOADED ${helper.lastSize}`));
    if (mode === 'export-async') {
        helper.export_async(connection, null, (self, result) => {
            self.export_finish(result);
            print('READY');
        });
    } else {
        helper.export(connection);
        print('READY');
    }
}

runUntilStopped(connection);
