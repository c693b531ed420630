# test_installed.py: the installed tree works on its own
#
# `meson install --destdir` of this build, then:
# - the tree holds what it should and nothing else: the library and its
#   soname links, headers, .pc, GIR, typelib, vapi, the tool, its man page
#   and bash completion, and the Python override in a directory on
#   /usr/bin/python3's own sys.path; each is checked;
# - with only what README.md's "Building by hand" has a user set (the
#   DESTDIR standing in for /), Python and GJS load the installed typelib
#   and Python the installed override, the C examples build with
#   `pkg-config libvmstate-1.0` from that tree (and the Vala helper with
#   its vapi), link to the installed library, and migrate a counter.
# Also: the shared library exports only vmstate_* symbols.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import glob
import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import TIMEOUT, build_path, source_path

CC = os.environ.get("CC") or "cc"
MESON = os.environ.get("MESON") or shutil.which("meson") or "meson"
GJS = os.environ.get("GJS") or shutil.which("gjs") or "gjs"
PYTHON = "/usr/bin/python3"
# What the tests run with (meson's test environment), which a user does not
# have: it would bring the build tree in.
BUILD_TREE_VARIABLES = ("GI_TYPELIB_PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "PKG_CONFIG_PATH")
# Where valac finds vapis with XDG_DATA_DIRS unset (GLib's default)
XDG_DATA_DIRS = ("/usr/local/share", "/usr/share")
# The prefix and libdir that README.md's "Building by hand" speaks of
README_PREFIX = "/usr/local"
README_LIBDIR = "/usr/local/lib/x86_64-linux-gnu"


def meson_introspect(what):
    return json.loads(subprocess.run([MESON, "introspect", what, build_path()], check=True,
                                     capture_output=True, text=True, timeout=TIMEOUT).stdout)


def configured_dirs():
    """The install directories of this build, absolute."""
    options = {o["name"]: o["value"] for o in meson_introspect("--buildoptions")}
    dirs = {name: os.path.join(options["prefix"], options[name])
            for name in ("bindir", "includedir", "libdir", "datadir", "mandir")}
    dirs["prefix"] = options["prefix"]
    return dirs


def python_sys_path():
    """Where /usr/bin/python3 imports from when nothing is set."""
    env = {k: v for k, v in os.environ.items() if k not in BUILD_TREE_VARIABLES}
    out = subprocess.run([PYTHON, "-c", "import sys; print('\\n'.join(sys.path))"], env=env, cwd="/",
                         check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout
    return [p for p in out.splitlines() if os.path.isabs(p)]


def readme_install_section():
    with open(source_path("README.md")) as f:
        return re.search(r"^## Building by hand\n(.*?)^## ", f.read(), re.S | re.M).group(1)


def readme_exports():
    """The variables README.md's "Building by hand" has a user export."""
    return dict(re.findall(r"^    export (\w+)=(\S+)$", readme_install_section(), re.M))


class Tree:
    def __init__(self, destdir):
        self.destdir = destdir
        self.dirs = configured_dirs()
        self.libdir = self.root(self.dirs["libdir"])
        self.typelibdir = self.root(self.dirs["libdir"], "girepository-1.0")
        self.vapidir = self.root(self.dirs["datadir"], "vala", "vapi")
        self.python_path = python_sys_path()
        self.sys_path = [self.root(p) for p in self.python_path]

        # The .pc names the configured prefix; point a copy of it at the
        # DESTDIR (pkg-config's --define-prefix guesses wrong with a
        # multiarch libdir, and a sysroot would move glib's paths too).
        pc = self.root(self.dirs["libdir"], "pkgconfig", "libvmstate-1.0.pc")
        self.pkgconfigdir = destdir + "-pkgconfig"
        os.makedirs(self.pkgconfigdir)
        with open(pc) as f:
            lines = f.read().splitlines()
        prefix = next(line.split("=", 1)[1] for line in lines if line.startswith("prefix="))
        with open(os.path.join(self.pkgconfigdir, "libvmstate-1.0.pc"), "w") as f:
            for line in lines:
                f.write(("prefix=" + destdir + prefix if line.startswith("prefix=") else line) + "\n")

    def root(self, path, *parts):
        """PATH of the installed system, in the DESTDIR."""
        return os.path.join(self.destdir + path, *parts)

    def in_prefix(self, path):
        """A path README.md names for its prefix, for this build's."""
        for readme, ours in ((README_LIBDIR, self.dirs["libdir"]), (README_PREFIX, self.dirs["prefix"])):
            if path == readme or path.startswith(readme + "/"):
                return ours + path[len(readme):]
        return path

    def env(self, **extra):
        """What a user of the installed tree has, with the DESTDIR for /:
        the variables README.md has them export; LD_LIBRARY_PATH for the
        ldconfig it asks for; PYTHONPATH for the sys.path /usr/bin/python3
        has on its own, XDG_DATA_DIRS for valac's default and
        PKG_CONFIG_PATH for pkg-config's; nothing of the build tree."""
        env = {k: v for k, v in os.environ.items() if k not in BUILD_TREE_VARIABLES}
        for name, value in readme_exports().items():
            env[name] = ":".join(self.root(self.in_prefix(p)) for p in value.split(":"))
        env.update(LD_LIBRARY_PATH=self.libdir, PYTHONPATH=":".join(self.sys_path),
                   XDG_DATA_DIRS=":".join(self.root(d) for d in XDG_DATA_DIRS),
                   PKG_CONFIG_PATH=self.pkgconfigdir)
        env.update(extra)
        return env

    def pkg_config(self, *args):
        return subprocess.run(["pkg-config", *args, "libvmstate-1.0"], env=self.env(),
                              check=True, capture_output=True, text=True,
                              timeout=TIMEOUT).stdout.split()


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    destdir = str(tmp_path_factory.mktemp("destdir"))
    # Without --no-rebuild: `meson test` only builds what the tests depend
    # on, and install needs every installed target.
    subprocess.run([MESON, "install", "-C", build_path(), "--destdir", destdir, "--quiet"],
                   check=True, timeout=600)
    return Tree(destdir)


@pytest.fixture(scope="module")
def c_examples(tree, tmp_path_factory):
    outdir = tmp_path_factory.mktemp("c-examples")
    cflags = tree.pkg_config("--cflags")
    libs = tree.pkg_config("--libs")
    assert any(flag.startswith("-I" + tree.destdir) for flag in cflags), cflags
    built = {}
    for name in ("counter-helper", "collector"):
        exe = str(outdir / name)
        subprocess.run([CC, "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror",
                        "-o", exe, source_path("examples", "c", name + ".c"), *cflags, *libs],
                       env=tree.env(), check=True, timeout=120)
        built[name] = exe
    return built


def test_only_vmstate_symbols_are_exported():
    out = subprocess.run(["nm", "-D", "--defined-only",
                          build_path("libvmstate", "libvmstate-1.0.so")],
                         check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout
    names = [line.split()[-1] for line in out.splitlines() if line.strip()]
    assert "vmstate_service_export" in names
    assert "vmstate_collector_save_async" in names
    others = [n for n in names if not n.startswith("vmstate_")]
    assert others == []


def installed(tree):
    """Every file and link the install put down, as paths of the installed
    system, but the HTML reference (doc/ tests that)."""
    docdir = os.path.join(tree.dirs["datadir"], "doc", "libvmstate-1.0")
    paths = set()
    for dirpath, dirnames, filenames in os.walk(tree.destdir):
        for name in filenames:
            path = os.path.join(dirpath, name)[len(tree.destdir):]
            if not path.startswith(docdir + "/"):
                paths.add(path)
    return paths


def public_headers(tree):
    """The headers libvmstate.h includes: the source's public ones and the
    two generated."""
    sources = [os.path.basename(h) for h in glob.glob(source_path("libvmstate", "*.h"))
               if not h.endswith("-private.h")]
    return [os.path.join(tree.dirs["includedir"], "libvmstate-1.0", "libvmstate", h)
            for h in sources + ["vmstate-version.h", "vmstate-enums.h"]]


def test_the_installed_tree(tree):
    dirs = tree.dirs
    lib = dirs["libdir"]
    site = [p for p in tree.python_path if os.path.exists(tree.root(p, "gi", "overrides", "Vmstate.py"))]
    assert len(site) == 1, "the override is not in one directory of /usr/bin/python3's sys.path"
    expected = {
        os.path.join(dirs["bindir"], "vmstate"),
        os.path.join(dirs["bindir"], "vmstate-slirp-helper"),
        os.path.join(lib, "libvmstate-1.0.so"),
        os.path.join(lib, "libvmstate-1.0.so.0"),
        os.path.join(lib, "libvmstate-1.0.so.0.0.0"),
        os.path.join(lib, "pkgconfig", "libvmstate-1.0.pc"),
        os.path.join(lib, "girepository-1.0", "Vmstate-1.0.typelib"),
        os.path.join(dirs["datadir"], "gir-1.0", "Vmstate-1.0.gir"),
        os.path.join(dirs["datadir"], "vala", "vapi", "libvmstate-1.0.vapi"),
        os.path.join(dirs["datadir"], "vala", "vapi", "libvmstate-1.0.deps"),
        os.path.join(dirs["datadir"], "bash-completion", "completions", "vmstate"),
        os.path.join(dirs["mandir"], "man1", "vmstate.1"),
        os.path.join(site[0], "gi", "overrides", "Vmstate.py"),
        *public_headers(tree),
    }
    assert sorted(installed(tree) - expected) == [], "installed, and not checked here"
    assert sorted(expected - installed(tree)) == [], "not installed"


def test_pkg_config_finds_the_installed_headers_and_library(tree):
    # The .pc as installed, with the DESTDIR as sysroot (which moves glib's
    # flags too: only ours are checked here; c_examples compiles with them).
    env = tree.env(PKG_CONFIG_PATH=tree.root(tree.dirs["libdir"], "pkgconfig"),
                   PKG_CONFIG_SYSROOT_DIR=tree.destdir)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libvmstate-1.0"], env=env, check=True,
                           capture_output=True, text=True, timeout=TIMEOUT).stdout.split()
    include = tree.root(tree.dirs["includedir"], "libvmstate-1.0")
    assert "-I" + include in flags
    assert "-L" + tree.libdir in flags
    assert "-lvmstate-1.0" in flags
    with open(os.path.join(include, "libvmstate", "libvmstate.h")) as f:
        umbrella = f.read()
    included = re.findall(r'^#\s*include "(.*)"$', umbrella, re.M)
    assert sorted(included + ["libvmstate.h"]) == sorted(os.path.basename(h) for h in public_headers(tree))


def test_the_installed_library_and_its_links(tree):
    assert os.readlink(os.path.join(tree.libdir, "libvmstate-1.0.so")) == "libvmstate-1.0.so.0"
    assert os.readlink(os.path.join(tree.libdir, "libvmstate-1.0.so.0")) == "libvmstate-1.0.so.0.0.0"
    out = subprocess.run(["readelf", "-d", os.path.join(tree.libdir, "libvmstate-1.0.so.0.0.0")],
                         check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout
    assert "Library soname: [libvmstate-1.0.so.0]" in out


def test_the_installed_gir_typelib_and_vapi(tree):
    with open(tree.root(tree.dirs["datadir"], "gir-1.0", "Vmstate-1.0.gir")) as f:
        gir = f.read()
    assert '<package name="libvmstate-1.0"/>' in gir
    assert re.search(r'<namespace name="Vmstate"\s+version="1.0"\s+shared-library="libvmstate-1.0.so.0"', gir)
    with open(os.path.join(tree.typelibdir, "Vmstate-1.0.typelib"), "rb") as f:
        assert f.read(16) == b"GOBJ\nMETADATA\r\n\x1a"
    with open(os.path.join(tree.vapidir, "libvmstate-1.0.vapi")) as f:
        vapi = f.read()
    assert 'gir_namespace = "Vmstate"' in vapi and 'cheader_filename = "libvmstate/libvmstate.h"' in vapi
    with open(os.path.join(tree.vapidir, "libvmstate-1.0.deps")) as f:
        assert "gio-2.0" in f.read().split()


def test_the_installed_tool_and_man_page(tree):
    out = subprocess.run([tree.root(tree.dirs["bindir"], "vmstate"), "--version"], env=tree.env(),
                         check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout
    assert out.split()[-1] == meson_introspect("--projectinfo")["version"]
    man = tree.root(tree.dirs["mandir"], "man1", "vmstate.1")
    page = subprocess.run(["groff", "-man", "-Tutf8", "-P-cbou", man], check=True,
                          capture_output=True, text=True, timeout=TIMEOUT).stdout
    for command in ("bus", "serve", "list", "save", "load", "inspect"):
        assert "vmstate " + command in page


def test_the_installed_slirp_helper(tree):
    out = subprocess.run([tree.root(tree.dirs["bindir"], "vmstate-slirp-helper"), "--print-capabilities"],
                         env=tree.env(), check=True, capture_output=True, text=True, timeout=TIMEOUT).stdout
    assert json.loads(out)["type"] == "slirp-helper"


def test_c_examples_link_to_the_installed_library(tree, c_examples):
    out = subprocess.run(["ldd", c_examples["counter-helper"]], env=tree.env(), check=True,
                         capture_output=True, text=True, timeout=TIMEOUT).stdout
    line = next(line for line in out.splitlines() if "libvmstate-1.0.so.0" in line)
    assert tree.libdir in line


def test_c_examples_migrate_into_python_and_gjs(tree, c_examples, new_bus, tmp_path):
    env = tree.env()
    blob = str(tmp_path / "blob")
    source, dest = new_bus(), new_bus()
    source.start([c_examples["counter-helper"], "--dbus-address=" + source.address, "--count=99"],
                 env=env)
    source.run([c_examples["collector"], source.address, "save", blob], env=env)

    python = dest.start(["/usr/bin/python3", source_path("examples", "python", "counter-helper.py"),
                         "--dbus-address=" + dest.address], env=env)
    gjs = dest.start([GJS, "-m", source_path("examples", "gjs", "counter-helper.js"),
                      "--dbus-address=" + dest.address, "--dbus-id=other"], env=env)
    dest.run([c_examples["collector"], dest.address, "load", blob], env=env)
    assert python.read_line() == "LOADED 99"
    assert gjs.alive()  # "other" is not in the blob: not loaded


def test_the_readme_environment_is_all_a_user_needs(tree):
    # Tree.env() gives LD_LIBRARY_PATH for the ldconfig README.md asks
    # for: the system loader must look in libdir once its cache is renewed.
    assert "sudo ldconfig" in readme_install_section()
    conf = []
    for path in ["/etc/ld.so.conf"] + sorted(glob.glob("/etc/ld.so.conf.d/*.conf")):
        with open(path) as f:
            conf += [line.strip() for line in f]
    assert tree.dirs["libdir"] in conf
    # pkg-config and valac need nothing.
    pc_path = subprocess.run(["pkg-config", "--variable", "pc_path", "pkg-config"],
                             env=tree.env(PKG_CONFIG_PATH=""), check=True, capture_output=True,
                             text=True, timeout=TIMEOUT).stdout.strip().split(":")
    assert os.path.join(tree.dirs["libdir"], "pkgconfig") in pc_path
    assert tree.dirs["datadir"] in XDG_DATA_DIRS
    # The rest is the README's exports: the typelib's directory.
    exports = {name: tree.in_prefix(value) for name, value in readme_exports().items()}
    assert exports == {"GI_TYPELIB_PATH": os.path.join(tree.dirs["libdir"], "girepository-1.0")}


def test_python_uses_the_installed_typelib_and_override(tree):
    code = ("import gi, sys; gi.require_version('Vmstate', '1.0'); "
            "gi.require_version('GIRepository', '2.0'); "
            "from gi.repository import GIRepository, Vmstate; "
            "print(GIRepository.Repository.get_default().get_typelib_path('Vmstate')); "
            "print(sys.modules['gi.overrides.Vmstate'].__file__); "
            "print(Vmstate.Service.run.__qualname__)")
    out = subprocess.run([PYTHON, "-c", code], env=tree.env(), cwd="/", check=True,
                         capture_output=True, text=True, timeout=TIMEOUT).stdout.splitlines()
    assert out[0] == os.path.join(tree.typelibdir, "Vmstate-1.0.typelib")
    assert os.path.dirname(out[1]) in [os.path.join(p, "gi", "overrides") for p in tree.sys_path]
    assert out[2] == "Service.run"


def test_gjs_uses_the_installed_typelib(tree):
    code = ("imports.gi.versions.Vmstate = '1.0'; "
            "const {GIRepository, Vmstate} = imports.gi; "
            "print(GIRepository.Repository.get_default().get_typelib_path('Vmstate')); "
            "print(Vmstate.Service.$gtype.name);")
    out = subprocess.run([GJS, "-c", code], env=tree.env(), cwd="/", check=True,
                         capture_output=True, text=True, timeout=TIMEOUT).stdout.splitlines()
    assert out == [os.path.join(tree.typelibdir, "Vmstate-1.0.typelib"), "VmstateService"]


def test_vala_example_builds_with_the_installed_vapi(tree, tmp_path, new_bus):
    valac = shutil.which("valac")
    if valac is None:
        pytest.fail("valac is not installed")
    exe = str(tmp_path / "counter-helper-vala")
    subprocess.run([valac, "--pkg", "libvmstate-1.0",
                    "-X", "-w", "-o", exe, source_path("examples", "vala", "counter-helper.vala")],
                   env=tree.env(), check=True, cwd=str(tmp_path), timeout=300)
    bus = new_bus()
    bus.start([exe, "--dbus-address=" + bus.address, "--count=8"], env=tree.env())
    out = bus.run(["/usr/bin/python3", source_path("examples", "python", "collector.py"),
                   bus.address, "list"], env=tree.env()).stdout
    assert out.split()[0] == "counter"
