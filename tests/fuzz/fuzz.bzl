"""talkcheck_cc_fuzzer: a libFuzzer target and a gcc-built test over its seed corpus."""

load("@rules_cc//cc:defs.bzl", "cc_binary", "cc_test")

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
    cc_test(
        name = name + "_corpus_test",
        srcs = srcs,
        deps = deps + ["//tests/fuzz:corpus_driver"],
        data = corpus,
        args = ["$(location %s)" % c for c in corpus],
        size = "small",
        **kwargs
    )
