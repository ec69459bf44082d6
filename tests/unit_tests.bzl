"""talkcheck_cc_test and talkcheck_unit_tests: a package's GoogleTest files,
each a test target of its own, and all of them in one test binary.

Bazel's cost per test target (its test-setup.sh and the processes it starts,
about 0.33 s of CPU per cc_test on the 2-core VM, where starting a process
costs ~8 ms) was most of what the unit tests cost: 32 cc_tests of base/,
fake_server/, media_sim/ and harness/report/ took 11-12 s of CPU, 1 s of it
their own (5 Dec 2026). So `bazel test //...` runs one binary per package,
`unit_tests`, which links every test case of the package; each test file stays
a target of its own (tagged manual), `bazel test //media_sim:rtp_test` runs
it alone, and `--test_filter` picks cases out of `unit_tests`.
"""

_MEMBER = "talkcheck_unit_test"

_SIZES = ["small", "medium", "large", "enormous"]

def talkcheck_cc_test(name, srcs, deps, data = [], size = "small", tags = [], **kwargs):
    """A cc_test whose cases also run in the package's talkcheck_unit_tests.

    The sources compile once, into `name + "_cases"` (alwayslink, so that the
    GoogleTest registrations survive linking); `name` links them with their
    deps (gtest_main among them) and is tagged manual.
    """
    native.cc_library(
        name = name + "_cases",
        testonly = True,
        srcs = srcs,
        deps = deps,
        data = data,
        alwayslink = True,
        visibility = ["//visibility:private"],
    )
    native.cc_test(
        name = name,
        deps = [":" + name + "_cases"],
        size = size,
        tags = tags + ["manual", _MEMBER],
        **kwargs
    )

def talkcheck_unit_tests(name = "unit_tests"):
    """One cc_test of every talkcheck_cc_test declared above it in the package.

    Call it at the end of the BUILD file. It runs its members one after
    another, so its size is at least medium (the scenario package's small
    tests together took 71 s of a small test's 60 under the suite's load);
    each member's data comes with its cases library.
    """
    members = [
        r
        for r in native.existing_rules().values()
        if r["kind"] == "cc_test" and _MEMBER in r.get("tags", [])
    ]
    size = _SIZES.index("medium")
    for r in members:
        size = max(size, _SIZES.index(r.get("size", "small")))
    native.cc_test(
        name = name,
        deps = [":" + r["name"] + "_cases" for r in members],
        size = _SIZES[size],
    )
