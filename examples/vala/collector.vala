/* collector.vala: save every helper on a VM's bus to a file, or load it back
 *
 * Usage: collector-vala ADDRESS save FILE
 *        collector-vala ADDRESS load FILE
 *        collector-vala ADDRESS list
 *
 * Build: valac --pkg libvmstate-1.0 collector.vala
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

async void run (string address, string command, string? path) throws Error {
    var collector = yield new Vmstate.Collector.for_address (address, null);
    if (command == "list") {
        var helpers = yield collector.list_helpers_async (null);
        foreach (var helper in helpers)
            print ("%s %s\n", helper.id, helper.unique_name);
    } else if (command == "save" && path != null) {
        var blob = yield collector.save_async (null);
        FileUtils.set_data (path, blob.get_data ());
    } else if (command == "load" && path != null) {
        uint8[] data;
        FileUtils.get_data (path, out data);
        yield collector.load_async (new Bytes.take (data), null);
    } else {
        throw new OptionError.FAILED ("unknown command '%s'", command);
    }
}

int main (string[] args) {
    if (args.length < 3) {
        stderr.printf ("usage: %s ADDRESS save|load FILE\n       %s ADDRESS list\n", args[0], args[0]);
        return 2;
    }
    var loop = new MainLoop ();
    int status = 0;
    run.begin (args[1], args[2], args.length > 3 ? args[3] : null, (obj, res) => {
        try {
            run.end (res);
        } catch (Error e) {
            stderr.printf ("collector: %s\n", e.message);
            status = 1;
        }
        loop.quit ();
    });
    loop.run ();
    return status;
}
