/* counter-helper.vala: a libvmstate helper whose state is a counter
 *
 * Usage: counter-helper-vala --dbus-address=ADDRESS [--dbus-id=ID] [--count=COUNT]
 *
 * Joins the VM's private bus at ADDRESS as a helper named ID (default
 * "counter") whose state is COUNT (default 0) as decimal text; prints
 * "READY", then "LOADED <count>" whenever a migration restores the counter.
 *
 * Build: valac --pkg libvmstate-1.0 counter-helper.vala
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

class Counter : Vmstate.Service {
    public uint64 count;

    public Counter () {
        Object (id: "counter");
    }

    public override Bytes save () throws Error {
        return new Bytes (count.to_string ().data);
    }

    public override bool load (Bytes state) throws Error {
        var text = new StringBuilder ();  // the state is not NUL-terminated
        text.append_len ((string) state.get_data (), (ssize_t) state.get_size ());
        uint64 loaded;
        if (!uint64.try_parse (text.str, out loaded))
            throw new Vmstate.Error.FAILED ("not a counter: \"%s\"", text.str);
        count = loaded;
        print ("LOADED %s\n", count.to_string ());
        stdout.flush ();
        return true;  /* or throw: load follows the GError rules */
    }
}

int main (string[] args) {
    var counter = new Counter ();
    counter.add_main_option ("count", 0, OptionFlags.NONE, OptionArg.INT64, "The counter's start", "COUNT");
    counter.ready.connect (() => {  /* on the bus: heavy initialisation goes here */
        var count = counter.get_options ().lookup_value ("count", VariantType.INT64);
        counter.count = count != null ? count.get_int64 () : 0;
        print ("READY\n");
        stdout.flush ();
    });
    /* parses the command line, joins the bus, serves until SIGTERM */
    return counter.run (args);
}
