"""talkcheck_cc_fuzzer: a libFuzzer target and a gcc-built test over its seed corpus.

corpus_test_member(fuzzer) returns a fuzzer's corpus test as a member of a
test_batch (tests/batch.bzl): //tests/fuzz:corpus_tests runs every one.
"""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

# Where the corpus tests run in `bazel test //...`.
_CORPUS_TESTS = "//tests/fuzz:__pkg__"

def talkcheck_cc_fuzzer(name, srcs, deps, corpus, **kwargs):
    """Declares `name` (the libFuzzer binary) and `name_corpus_test`.

    `name` links with -fsanitize=fuzzer and is tagged manual: build it with clang,
    `bazel build --config=fuzz //pkg:name` (tools/fuzz.sh runs every one). The test
    links the same LLVMFuzzerTestOneInput with //tests/fuzz:corpus_driver instead of
    libFuzzer, so `bazel test //...` under gcc runs the entry point over every file
    of the corpus (the seeds and the findings kept as regression inputs).

    Args:
      name: the fuzzer binary; the corpus test is `name + "_corpus_test"`.
      srcs: the fuzzer's sources, defining LLVMFuzzerTestOneInput.
      deps: the libraries it fuzzes.
      corpus: the seed corpus files (a glob over testdata/fuzz/<name>/).
      **kwargs: passed to both rules (e.g. visibility).
    """
    cc_binary(
        name = name,
        srcs = srcs,
        deps = deps,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["manual", "fuzzer"],
        testonly = True,
        data = corpus,
        **kwargs
    )
    native.filegroup(
        name = name + "_corpus",
        testonly = True,
        srcs = corpus,
        visibility = [_CORPUS_TESTS],
    )
    cc_test(
        name = name + "_corpus_test",
        srcs = srcs,
        deps = deps + ["//tests/fuzz:corpus_driver"],
        data = [":" + name + "_corpus"],
        args = ["$(locations :%s_corpus)" % name],
        size = "small",
        tags = ["manual"],
        visibility = [_CORPUS_TESTS],
        **kwargs
    )

def corpus_test_member(fuzzer):
    """The corpus test of `fuzzer` (a talkcheck_cc_fuzzer label) as a test_batch member."""
    name = fuzzer.split(":")[1]
    return struct(
        name = name + "_corpus_test",
        command = [
            "$(rootpath %s_corpus_test)" % fuzzer,
            "$(rootpaths %s_corpus)" % fuzzer,
        ],
        data = [fuzzer + "_corpus_test", fuzzer + "_corpus"],
    )
