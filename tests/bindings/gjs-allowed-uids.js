// gjs-allowed-uids.js: the allowed-uids property and its accessors from
// GJS agree both ways, as one GLib.Variant of type `au`
//
// Usage: gjs -m gjs-allowed-uids.js EUID
// Prints "OK" when every check passed; a failed check throws.
//
// SPDX-License-Identifier: LGPL-2.1-or-later

import GLib from 'gi://GLib';
import Vmstate from 'gi://Vmstate?version=1.0';

const euid = Number(ARGV[0]);
const defaultUids = [...new Set([euid, 0])].sort((a, b) => a - b);

function uids(variant, how) {
    if (!(variant instanceof GLib.Variant) || variant.get_type_string() !== 'au')
        throw new Error(`${how}: not a GLib.Variant of type au: ${variant}`);
    return variant.deepUnpack();
}

function check(actual, expected, how) {
    if (JSON.stringify(actual) !== JSON.stringify(expected))
        throw new Error(`${how}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
}

function sorted(list) {
    return [...list].sort((a, b) => a - b);
}

const service = new Vmstate.Service({id: 'u'});
check(sorted(uids(service.get_allowed_uids(), 'default, accessor')), defaultUids, 'default, accessor');
check(sorted(uids(service.allowed_uids, 'default, property')), defaultUids, 'default, property');

service.allowed_uids = new GLib.Variant('au', [0, 107]);
check(uids(service.get_allowed_uids(), 'property then accessor'), [0, 107], 'property then accessor');

service.set_allowed_uids(new GLib.Variant('au', [65534]));
check(uids(service.allowed_uids, 'accessor then property'), [65534], 'accessor then property');

service.set_allowed_uids(null);
check(sorted(uids(service.allowed_uids, 'accessor null')), defaultUids, 'accessor null');

service.allowed_uids = new GLib.Variant('au', [107]);
service.allowed_uids = null;
check(sorted(uids(service.get_allowed_uids(), 'property null')), defaultUids, 'property null');

service.set_allowed_uids(new GLib.Variant('au', []));
check(sorted(uids(service.get_allowed_uids(), 'empty')), defaultUids, 'empty');

const constructed = new Vmstate.Service({id: 'c', allowed_uids: new GLib.Variant('au', [107])});
check(uids(constructed.get_allowed_uids(), 'at construction'), [107], 'at construction');

print('OK');
