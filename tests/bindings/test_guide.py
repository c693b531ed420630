# test_guide.py: the code the guide quotes is the code the tests run,
# and the reference pages a helper author reads have real text
#
# Every line of the first code block of each "Writing a helper" page must
# appear in the example it quotes, so the guide cannot drift from
# examples/ (which test_examples.py runs). The generated reference (built
# by gi-docgen with the project) must describe what a helper implements:
# no "No description available" on the pages of Service.save/load, the
# ServiceClass vfuncs and the loaded signal. The examples on the class
# pages of Service, Collector and Blob compile against the built library.
#
# SPDX-License-Identifier: LGPL-2.1-or-later

import html
import os
import re
import shutil
import subprocess

import pytest

from conftest import BUILD_ROOT, doc_comment_code, source_path

PAGES = {
    "helper-c.md": "examples/c/counter-helper.c",
    "helper-python.md": "examples/python/counter-helper.py",
    "helper-gjs.md": "examples/gjs/counter-helper.js",
    "helper-vala.md": "examples/vala/counter-helper.vala",
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_guide_quotes_the_example(page):
    with open(source_path("doc", page)) as f:
        blocks = re.findall(r"^```[a-z]+\n(.*?)^```", f.read(), re.S | re.M)
    assert blocks, "no code block in " + page
    with open(source_path(*PAGES[page].split("/"))) as f:
        example = {line.rstrip() for line in f}
    missing = [line for line in blocks[0].splitlines() if line.strip() and line.rstrip() not in example]
    assert missing == [], "%s quotes lines that are not in %s" % (page, PAGES[page])


MISSING = "No description available"
DOC_DIR = os.path.join(BUILD_ROOT, "doc", "libvmstate-1.0")
VFUNCS = ["save", "load", "save_async", "save_finish", "load_async", "load_finish"]
REFERENCE_PAGES = (["method.Service.%s.html" % m for m in VFUNCS]
                   + ["vfunc.Service.%s.html" % v for v in VFUNCS + ["loaded"]]
                   + ["signal.Service.loaded.html", "class.Collector.html", "class.Blob.html"])


def reference_page(name):
    if not os.path.isdir(DOC_DIR):
        if shutil.which("gi-docgen") is None:
            pytest.skip("gi-docgen is not installed, so the reference is not built")
        pytest.fail("the reference is not built in " + DOC_DIR)
    with open(os.path.join(DOC_DIR, name)) as f:
        return f.read()


def page_text(page):
    """The visible text of an HTML page, whitespace collapsed."""
    page = re.sub(r"<script.*?</script>", "", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.mark.parametrize("name", REFERENCE_PAGES)
def test_helper_reference_page_has_a_description(name):
    assert MISSING not in reference_page(name)


@pytest.mark.parametrize("vfunc", ["save", "load"])
def test_save_and_load_pages_say_what_a_helper_must_know(vfunc):
    """What the vfunc must do, where it runs, what an error does, the
    size limit; load must return TRUE."""
    text = page_text(reference_page("vfunc.Service.%s.html" % vfunc))
    for phrase in ["What it must do", "thread-default main context",
                   "D-Bus error reply", "max-state-size", "1 MiB",
                   "VMSTATE_ERROR_STATE_TOO_LARGE"]:
        assert phrase in text, "vfunc %s: no %r" % (vfunc, phrase)
    if vfunc == "load":
        assert "must return TRUE" in text


@pytest.mark.parametrize("vfunc", ["save_async", "load_async"])
def test_async_pages_say_when_the_cancellable_is_cancelled(vfunc):
    text = page_text(reference_page("vfunc.Service.%s.html" % vfunc))
    assert "cancelled when the caller leaves the bus" in text
    assert "unexported" in text


def test_service_class_page_describes_the_vfuncs():
    """The class page: its description, its class structure and the
    summary of every vfunc, all but the per-member list (see below)."""
    page = reference_page("class.Service.html")
    # gi-docgen 2023.1 ends the list with </dd></div>, not </dl>
    members = re.search(r'<dl class="members">.*?</div>', page, re.S)
    assert members, "no class members list in class.Service.html"
    assert MISSING not in page.replace(members.group(0), "")


@pytest.mark.xfail(strict=True, reason="g-ir-scanner 1.74 drops the docs of function-pointer "
                   "members of a class struct, so gi-docgen has none for them")
def test_service_class_members_are_described():
    """Starts passing (and so fails, being strict) once the GIR carries
    the @save... member docs of VmstateServiceClass."""
    assert MISSING not in reference_page("class.Service.html")


CLASS_PAGE_SOURCES = ["vmstate-service.c", "vmstate-collector.c", "vmstate-blob.c"]

# What the class page examples leave out: the subclass boilerplate, and
# the variables and the caller of the functions they show.
EXAMPLE_WRAPPERS = {
    "vmstate-service.c": ("""
#define MY_TYPE_HELPER (my_helper_get_type ())
G_DECLARE_FINAL_TYPE (MyHelper, my_helper, MY, HELPER, VmstateService)
struct _MyHelper { VmstateService parent_instance; guint64 count; };
G_DEFINE_TYPE (MyHelper, my_helper, VMSTATE_TYPE_SERVICE)
static void my_helper_init (MyHelper *self) { }
""", None),
    "vmstate-collector.c": ("", """
int main (int argc, char **argv) { g_autoptr(GError) error = NULL; return !save_and_load (argv[1], &error); }
"""),
    "vmstate-blob.c": ("", """
int main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) state = g_bytes_new ("x", 1);
  g_autoptr(GBytes) bytes = make_blob (state, &error);
  return !print_blob (bytes, &error);
}
"""),
}


@pytest.mark.parametrize("source", CLASS_PAGE_SOURCES)
def test_class_page_example_compiles(source, tmp_path):
    cc = shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    code = doc_comment_code(source, "/**", "c")  # the class doc comment
    before, after = EXAMPLE_WRAPPERS[source]
    if after is None:  # the service example ends with lines of main()
        code, tail = code.split("// in main", 1)
        after = ("int main (void) { GDBusConnection *connection = NULL; GError *error = NULL;"
                 " VmstateService *service; GMainLoop *loop = g_main_loop_new (NULL, FALSE);\n"
                 "// in main" + tail + "return 0; }\n")
    program = tmp_path / "example.c"
    program.write_text("#include <string.h>\n#include <libvmstate/libvmstate.h>\n"
                       + before + code + after)
    gio = subprocess.run(["pkg-config", "--cflags", "--libs", "gio-2.0"],
                         capture_output=True, text=True, check=True).stdout.split()
    libdir = os.path.join(BUILD_ROOT, "libvmstate")
    proc = subprocess.run([cc, "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror",
                           "-o", str(tmp_path / "example"), str(program),
                           "-I" + source_path(), "-I" + BUILD_ROOT, "-I" + libdir,
                           "-L" + libdir, "-lvmstate-1.0"] + gio,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
