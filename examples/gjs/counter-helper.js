#!/usr/bin/gjs -m
// counter-helper.js: a libvmstate helper whose state is a counter
//
// Usage: gjs -m counter-helper.js --dbus-address=ADDRESS [--dbus-id=ID] [--count=COUNT]
//
// Joins the VM's private bus at ADDRESS as a helper named ID (default
// "counter") whose state is COUNT (default 0) as decimal text; prints
// "READY", then "LOADED <count>" whenever a migration restores the counter.
// It exits on SIGINT or SIGTERM, leaving the bus, or when the bus goes away.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
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

const counter = new Counter({id: 'counter'});
counter.add_main_option('count', 0, GLib.OptionFlags.NONE, GLib.OptionArg.INT64,
    "The counter's start", 'COUNT');
counter.connect('ready', () => {  // on the bus: heavy initialisation goes here
    counter.count = Number(counter.get_options().lookup_value('count', null)?.unpack() ?? 0);
    print('READY');
});
// parses the command line, joins the bus, serves until SIGINT or SIGTERM
System.exit(counter.run([System.programInvocationName, ...ARGV]));
