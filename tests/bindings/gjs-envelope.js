// gjs-envelope.js: a GJS helper with versioned, compressed states (issue 13)
//
// Usage: gjs -m gjs-envelope.js ADDRESS ID STATE_VERSION
// Its state is a JSON table of STATE_VERSION: version 1 holds ports,
// version 2 {port, proto}; vfunc_load asks get_loading_version() and
// upgrades a version 1 state. It also checks Vmstate.Envelope from GJS
// before it prints "READY", and prints "LOADED <version> <json>" from
// vfunc_load.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import GObject from 'gi://GObject';
import Vmstate from 'gi://Vmstate?version=1.0';

import {connect, runUntilStopped} from './gjs-bus.js';

const [address, id, versionArg] = ARGV;
const stateVersion = Number(versionArg);

const Firewall = GObject.registerClass(
class Firewall extends Vmstate.Service {
    constructor(params) {
        super(params);
        this.rules = stateVersion === 1 ? {ssh: 22} : {ssh: {port: 22, proto: 'tcp'}};
    }

    vfunc_save() {
        return new TextEncoder().encode(JSON.stringify(this.rules));
    }

    vfunc_load(state) {
        const version = this.get_loading_version();
        let rules = JSON.parse(new TextDecoder().decode(state.toArray()));
        if (version === 1 && stateVersion >= 2) {
            for (const k of Object.keys(rules))
                rules[k] = {port: rules[k], proto: 'tcp'};
        }
        this.rules = rules;
        print(`LOADED ${version} ${JSON.stringify(rules)}`);
        return true;
    }
});

// the codec from GJS
function check(cond, what) {
    if (!cond)
        throw new Error(`codec check failed: ${what}`);
}
const payload = new TextEncoder().encode('conntrack '.repeat(500));
const data = Vmstate.Envelope.encode(payload, 3, true);
check(Vmstate.Envelope.is_envelope(data), 'is_envelope');
const envelope = Vmstate.Envelope.new_from_bytes(data);
check(envelope.version === 3, 'version');
check(envelope.flags === Vmstate.EnvelopeFlags.ZSTD, 'flags');
check(envelope.payload_size === 5000, 'payload_size');
const [out, version] = Vmstate.Envelope.decode(data, 1 << 20);
check(version === 3 && out.get_size() === 5000, 'decode');
try {
    Vmstate.Envelope.decode(new GLib.Bytes(new Uint8Array([1, 2, 3])), 1 << 20);
    check(false, 'decode of raw bytes did not throw');
} catch (e) {
    check(e.matches(Vmstate.Error, Vmstate.Error.NOT_ENVELOPE), `NOT_ENVELOPE: ${e}`);
}

const connection = connect(address);
const helper = new Firewall({id, state_version: stateVersion, min_state_version: 1, compress: true});
helper.export(connection);
print('READY');

runUntilStopped(connection);
