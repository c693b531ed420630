/* test-vala.vala: the Vala binding, from the generated vapi
 *
 * A Vala service (sync and async overrides, errors thrown the Vala way)
 * and a Vala collector using the async API, in one process on a private
 * bus (GTestDBus); the allowed-uids property and its accessors; a
 * collector error caught by its code, as the error domain's page shows.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/* A state is not NUL-terminated. */
string to_text (Bytes state) {
    var text = new StringBuilder ();
    text.append_len ((string) state.get_data (), (ssize_t) state.get_size ());
    return text.str;
}

class Store : Vmstate.Service {
    public HashTable<string, string> entries = new HashTable<string, string> (str_hash, str_equal);

    public Store (string id) {
        Object (id: id);
    }

    public override Bytes save () throws Error {
        var text = new StringBuilder ();
        entries.foreach ((k, v) => text.append_printf ("%s=%s\n", k, v));
        return new Bytes (text.str.data);
    }

    public override bool load (Bytes state) throws Error {
        var loaded = new HashTable<string, string> (str_hash, str_equal);
        foreach (var line in to_text (state).split ("\n")) {
            if (line == "")
                continue;
            var kv = line.split ("=", 2);
            if (kv.length != 2)
                throw new Vmstate.Error.INVALID_BLOB ("bad line \"%s\"", line);
            loaded[kv[0]] = kv[1];
        }
        entries = loaded;
        return true;
    }
}

/* Gathers its state asynchronously (as a helper querying a kernel table
 * would), overriding the async vfunc pair. */
class SlowCounter : Vmstate.Service {
    public int count = 0;

    public SlowCounter (string id) {
        Object (id: id);
    }

    public override async Bytes save_async (Cancellable? cancellable) throws Error {
        Idle.add (save_async.callback);
        yield;
        return new Bytes ("%d".printf (count).data);
    }

    public override async bool load_async (Bytes state, Cancellable? cancellable) throws Error {
        Idle.add (load_async.callback);
        yield;
        count = int.parse (to_text (state));
        return true;
    }
}

TestDBus bus;

Vmstate.Collector connect_collector () throws Error {
    return new Vmstate.Collector.for_address_sync (bus.get_bus_address ());
}

DBusConnection connect_helper () throws Error {
    return new DBusConnection.for_address_sync (bus.get_bus_address (),
        DBusConnectionFlags.AUTHENTICATION_CLIENT | DBusConnectionFlags.MESSAGE_BUS_CONNECTION);
}

/* Runs an async block to its end on the default main context, bounded. */
void run_async (owned SourceFunc start, MainLoop loop) {
    var timeout = Timeout.add_seconds (30, () => { error ("test timed out"); });
    Idle.add ((owned) start);
    loop.run ();
    Source.remove (timeout);
}

async void save_and_load_async (MainLoop loop) {
    try {
        var store = new Store ("store");
        store.entries["mac"] = "52:54:00:12:34:56";
        store.entries["port"] = "2222";
        store.export (connect_helper ());
        var collector = connect_collector ();

        var helpers = yield collector.list_helpers_async (null);
        assert (helpers.length == 1);
        assert (helpers[0].id == "store");

        var blob_bytes = yield collector.save_async (null);
        var blob = new Vmstate.Blob.from_bytes (blob_bytes);
        assert (blob.get_n_entries () == 1);
        assert ("port=2222\n" in to_text (blob.get_state ("store")));

        var fresh_conn = connect_helper ();
        store.unexport ();
        var fresh = new Store ("store");
        fresh.export (fresh_conn);
        var loaded = false;
        fresh.loaded.connect (() => loaded = true);
        yield collector.load_async (blob_bytes, null);
        assert (loaded);
        assert (fresh.entries["mac"] == "52:54:00:12:34:56");
        assert (fresh.entries["port"] == "2222");

        /* an error thrown in load() reaches the collector with its code */
        var bad = new Vmstate.Blob ();
        bad.add ("store", new Bytes ("garbage".data));
        try {
            yield collector.load_async (bad.to_bytes (), null);
            assert_not_reached ();
        } catch (Error e) {
            assert (e is Vmstate.Error.INVALID_BLOB);
            assert ("bad line \"garbage\"" in e.message);
        }
        assert (fresh.entries["port"] == "2222");
        fresh.unexport ();
    } catch (Error e) {
        error ("%s", e.message);
    }
    loop.quit ();
}

async void async_vfuncs_async (MainLoop loop) {
    try {
        var counter = new SlowCounter ("slow");
        counter.count = 1234;
        assert (yield counter.export_async (connect_helper (), null));
        var collector = connect_collector ();
        var blob = new Vmstate.Blob.from_bytes (yield collector.save_async (null));
        assert (blob.get_state ("slow").compare (new Bytes ("1234".data)) == 0);

        var next = new Vmstate.Blob ();
        next.add ("slow", new Bytes ("77".data));
        yield collector.load_async (next.to_bytes (), null);
        assert (counter.count == 77);
        counter.unexport ();
    } catch (Error e) {
        error ("%s", e.message);
    }
    loop.quit ();
}

void test_save_and_load () {
    var loop = new MainLoop ();
    run_async (() => { save_and_load_async.begin (loop); return Source.REMOVE; }, loop);
}

void test_async_vfuncs () {
    var loop = new MainLoop ();
    run_async (() => { async_vfuncs_async.begin (loop); return Source.REMOVE; }, loop);
}

uint32[] uids_of (Variant uids) {
    assert (uids.is_of_type (new VariantType ("au")));
    uint32[] list = {};
    foreach (var uid in uids)
        list += uid.get_uint32 ();
    return list;
}

/* The property and get/set_allowed_uids () are one Variant "au". */
void test_allowed_uids () {
    var store = new Store ("uids");
    uint32 euid = 0;
    try {
        euid = (uint32) new Credentials ().get_unix_user ();  /* geteuid () */
    } catch (Error e) {
        error ("%s", e.message);
    }
    var defaults = uids_of (store.get_allowed_uids ());
    assert (euid in defaults && 0 in defaults);
    assert (defaults.length == (euid == 0 ? 1 : 2));

    uint32[] listed = { 0, 107 };
    store.allowed_uids = listed;  /* Vala makes the "au" */
    assert (uids_of (store.get_allowed_uids ()).length == 2);
    assert (uids_of (store.get_allowed_uids ())[1] == 107);

    store.set_allowed_uids (new Variant.array (VariantType.UINT32, { new Variant.uint32 (65534) }));
    assert (uids_of (store.allowed_uids).length == 1);
    assert (uids_of (store.allowed_uids)[0] == 65534);

    store.set_allowed_uids (null);
    assert (store.allowed_uids.equal (new Store ("other").allowed_uids));
    assert (uids_of (store.allowed_uids).length == defaults.length);
}

/* As the VmstateError page says: the domain is Vmstate.Error, and a
 * catch clause can name the code. */
void test_catch_error_code () {
    var matched = false;
    try {
        var collector = connect_collector ();
        collector.set_required_ids ({ "absent" });
        try {
            collector.save_sync (null);
        } catch (Vmstate.Error.MISSING_HELPER e) {
            matched = "'absent'" in e.message;
        }
    } catch (Error e) {
        error ("not Vmstate.Error.MISSING_HELPER: %s", e.message);
    }
    assert (matched);
}

int main (string[] args) {
    Test.init (ref args);
    bus = new TestDBus (TestDBusFlags.NONE);
    bus.up ();
    Test.add_func ("/vala/service/save-and-load", test_save_and_load);
    Test.add_func ("/vala/service/async-vfuncs", test_async_vfuncs);
    Test.add_func ("/vala/service/allowed-uids", test_allowed_uids);
    Test.add_func ("/vala/collector/catch-error-code", test_catch_error_code);
    var status = Test.run ();
    bus.down ();
    return status;
}
