"""talkcheck_cc_library: a package's library whose .cc files compile as one unit.

Most of a translation unit's compile time here is the headers it includes
(Boost.Asio, Abseil, protobuf, GoogleTest): `harness/run`'s six files took
30.7 s of compiler CPU one by one and 10.5 s as one unit, and a cold build of
`//harness:talkcheck` spent 485 s of compiler CPU over 116 actions file by
file, 200 s over 50 with one unit per package (5 Dec 2026, fastbuild, 2-core
VM). So each
package's library compiles its .cc files as one translation unit (a "unity"
build): a generated file that #includes them, with the files themselves as
textual headers. Diagnostics still name the file and line they come from.

A file's unnamed-namespace names share the unit with the package's other
files: two files may not define the same helper, which the compiler reports.
"""

def talkcheck_cc_library(name, srcs, textual_hdrs = [], **kwargs):
    """A cc_library whose .cc sources compile together.

    Args:
      name: the library.
      srcs: its sources: the .cc files are compiled as one unit, in this
        order; other files (private headers) are passed through.
      textual_hdrs: passed to cc_library, with the .cc files added.
      **kwargs: passed to cc_library (hdrs, deps, copts, visibility, ...).
    """
    cc = [s for s in srcs if s.endswith(".cc")]
    if len(cc) < 2:
        native.cc_library(name = name, srcs = srcs, textual_hdrs = textual_hdrs, **kwargs)
        return
    unit = name + "_unit.cc"
    pkg = native.package_name()
    native.genrule(
        name = name + "_unit",
        outs = [unit],
        cmd = "printf '%s\\n' " + " ".join([
            "'#include \"%s/%s\"'" % (pkg, s)
            for s in cc
        ]) + " > $@",
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        srcs = [s for s in srcs if not s.endswith(".cc")] + [unit],
        textual_hdrs = textual_hdrs + cc,
        # The .cc files are included, so gcc takes them for headers and warns
        # when a class of theirs holds a type of their unnamed namespace,
        # which is right in a .cc file.
        copts = kwargs.pop("copts", []) + ["-Wno-subobject-linkage"],
        **kwargs
    )
