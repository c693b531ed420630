# test_installed.py: the installed tree works on its own
#
# `meson install --destdir` of this build, then: the C examples build with
# `pkg-config libvmstate-1.0` from that tree (and the Vala helper with its
# vapi), link to the installed library, and migrate a counter; Python and
# GJS load the installed typelib and Python the installed override. Also:
# the shared library exports only vmstate_* symbols.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import os
import shutil
import subprocess

import pytest

from conftest import TIMEOUT, build_path, source_path

CC = os.environ.get("CC") or "cc"
MESON = os.environ.get("MESON") or shutil.which("meson") or "meson"
GJS = os.environ.get("GJS") or shutil.which("gjs") or "gjs"


def find(root, name):
    for dirpath, dirnames, filenames in os.walk(root):
        if name in filenames:
            return os.path.join(dirpath, name)
    pytest.fail("%s is not installed under %s" % (name, root))


class Tree:
    def __init__(self, destdir):
        self.destdir = destdir
        pc = find(destdir, "libvmstate-1.0.pc")
        self.libdir = os.path.dirname(find(destdir, "libvmstate-1.0.so.0"))
        self.typelibdir = os.path.dirname(find(destdir, "Vmstate-1.0.typelib"))
        self.vapidir = os.path.dirname(find(destdir, "libvmstate-1.0.vapi"))
        # .../site-or-dist-packages/gi/overrides/Vmstate.py
        self.pythondir = os.path.dirname(os.path.dirname(os.path.dirname(find(destdir, "Vmstate.py"))))

        # The .pc names the configured prefix; point a copy of it at the
        # DESTDIR (pkg-config's --define-prefix guesses wrong with a
        # multiarch libdir, and a sysroot would move glib's paths too).
        self.pkgconfigdir = os.path.join(destdir, "relocated-pkgconfig")
        os.makedirs(self.pkgconfigdir)
        with open(pc) as f:
            lines = f.read().splitlines()
        prefix = next(line.split("=", 1)[1] for line in lines if line.startswith("prefix="))
        with open(os.path.join(self.pkgconfigdir, "libvmstate-1.0.pc"), "w") as f:
            for line in lines:
                f.write(("prefix=" + destdir + prefix if line.startswith("prefix=") else line) + "\n")

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items()
               if k not in ("GI_TYPELIB_PATH", "LD_LIBRARY_PATH", "PYTHONPATH")}
        env.update(PKG_CONFIG_PATH=self.pkgconfigdir, LD_LIBRARY_PATH=self.libdir,
                   GI_TYPELIB_PATH=self.typelibdir, PYTHONPATH=self.pythondir)
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


def test_installed_headers_and_files(tree):
    include = os.path.dirname(find(tree.destdir, "libvmstate.h"))
    for header in ("vmstate-version.h", "vmstate-enums.h", "vmstate-service.h"):
        assert os.path.exists(os.path.join(include, header))
    with open(os.path.join(tree.vapidir, "libvmstate-1.0.deps")) as f:
        assert "gio-2.0" in f.read().split()


def test_c_examples_link_to_the_installed_library(tree, c_examples):
    out = subprocess.run(["ldd", c_examples["counter-helper"]], env=tree.env(), check=True,
                         capture_output=True, text=True, timeout=TIMEOUT).stdout
    line = next(line for line in out.splitlines() if "libvmstate-1.0.so.0" in line)
    assert tree.libdir in line


def test_c_examples_migrate_into_python_and_gjs(tree, c_examples, new_bus, tmp_path):
    env = tree.env()
    blob = str(tmp_path / "blob")
    source, dest = new_bus(), new_bus()
    source.start([c_examples["counter-helper"], source.address, "counter", "99"], env=env)
    source.run([c_examples["collector"], source.address, "save", blob], env=env)

    python = dest.start(["/usr/bin/python3", source_path("examples", "python", "counter-helper.py"),
                         dest.address, "counter"], env=env)
    gjs = dest.start([GJS, "-m", source_path("examples", "gjs", "counter-helper.js"),
                      dest.address, "other"], env=env)
    dest.run([c_examples["collector"], dest.address, "load", blob], env=env)
    assert python.read_line() == "LOADED 99"
    assert gjs.alive()  # "other" is not in the blob: not loaded


def test_python_uses_the_installed_typelib_and_override(tree):
    code = ("import gi, sys; gi.require_version('Vmstate', '1.0'); "
            "gi.require_version('GIRepository', '2.0'); "
            "from gi.repository import GIRepository, Vmstate; "
            "print(GIRepository.Repository.get_default().get_typelib_path('Vmstate')); "
            "print(sys.modules['gi.overrides.Vmstate'].__file__)")
    out = subprocess.run(["/usr/bin/python3", "-c", code], env=tree.env(), check=True,
                         capture_output=True, text=True, timeout=TIMEOUT).stdout.splitlines()
    assert out[0].startswith(tree.typelibdir)
    assert out[1].startswith(tree.pythondir)


def test_vala_example_builds_with_the_installed_vapi(tree, tmp_path, new_bus):
    valac = shutil.which("valac")
    if valac is None:
        pytest.fail("valac is not installed")
    exe = str(tmp_path / "counter-helper-vala")
    subprocess.run([valac, "--vapidir", tree.vapidir, "--pkg", "libvmstate-1.0",
                    "-X", "-w", "-o", exe, source_path("examples", "vala", "counter-helper.vala")],
                   env=tree.env(), check=True, cwd=str(tmp_path), timeout=300)
    bus = new_bus()
    bus.start([exe, bus.address, "counter", "8"], env=tree.env())
    out = bus.run(["/usr/bin/python3", source_path("examples", "python", "collector.py"),
                   bus.address, "list"], env=tree.env()).stdout
    assert out.split()[0] == "counter"
