/* counter-helper.vala: a libvmstate helper whose state is a counter
 *
 * Usage: counter-helper-vala ADDRESS ID [COUNT]
 *
 * Exports a helper named ID on the VM's private bus at ADDRESS, whose
 * state is COUNT (default 0) as decimal text; prints "READY", then
 * "LOADED <count>" whenever a migration restores the counter.
 *
 * Build: valac --pkg libvmstate-1.0 counter-helper.vala
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

class Counter : Vmstate.Service {
    public uint64 count;

    public Counter (string id, uint64 count) {
        Object (id: id);
        this.count = count;
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
    if (args.length < 3) {
        stderr.printf ("usage: %s ADDRESS ID [COUNT]\n", args[0]);
        return 2;
    }
    var loop = new MainLoop ();
    try {
        var connection = new DBusConnection.for_address_sync (args[1],
            DBusConnectionFlags.AUTHENTICATION_CLIENT | DBusConnectionFlags.MESSAGE_BUS_CONNECTION);
        var counter = new Counter (args[2], args.length > 3 ? uint64.parse (args[3]) : 0);
        /* exported, counter stays alive until unexport () or until the
         * connection closes */
        counter.export (connection);
        print ("READY\n");
        stdout.flush ();
        Unix.signal_add (2, () => { loop.quit (); return Source.REMOVE; });
        Unix.signal_add (15, () => { loop.quit (); return Source.REMOVE; });
        connection.on_closed.connect (() => loop.quit ());
        loop.run ();
        counter.unexport ();  /* leave the bus */
    } catch (Error e) {
        stderr.printf ("counter-helper: %s\n", e.message);
        return 1;
    }
    return 0;
}
