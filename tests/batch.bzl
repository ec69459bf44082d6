"""test_batch: many tests run as one Bazel test target.

Bazel's cost per test target (its test-setup.sh, the processes that starts and
the test.xml it generates: ~0.3-0.4 s of CPU per target on the 2-core VM,
whatever the test does; 30 trivial sh_tests cost 12 s, 5 Dec 2026) was a
fifth of what `bazel test //...` cost. So `bazel test //...` runs tests in
batches: each member stays a target of its own, tagged manual (`bazel test
//tests:hardening_test` runs it alone), and the batch runs every member's own
command in its own directory, `jobs` at a time.

    load("//tests:batch.bzl", "batched_cc_test", "batched_sh_test", "test_batch")
    test_batch(
        name = "integration",
        members = [
            batched_cc_test(name = "a_test", srcs = ["a_test.cc"], deps = [...]),
            batched_sh_test(name = "b_test", srcs = ["b_test.sh"], args = [...]),
        ],
    )

A member is a struct(name, command, data): `command` is the argument list the
batch runs (make variables expanded), `data` what it needs in the runfiles.
"""

_BATCH_TEST = Label("//tests:batch_test.sh")

def batched_cc_test(name, args = [], data = [], tags = [], **kwargs):
    """A cc_test tagged manual; returns it as a member for test_batch."""
    native.cc_test(name = name, args = args, data = data, tags = tags + ["manual"], **kwargs)
    return struct(
        name = name,
        command = ["$(rootpath :%s)" % name] + args,
        data = [":" + name] + data,
    )

def batched_sh_test(name, srcs, args = [], data = [], tags = [], **kwargs):
    """An sh_test tagged manual; returns it as a member for test_batch.

    The batch starts its script with bash directly (a process fewer than
    through its #! line: ~8 ms of CPU each on the 2-core VM).
    """
    native.sh_test(name = name, srcs = srcs, args = args, data = data, tags = tags + ["manual"], **kwargs)
    return struct(
        name = name,
        command = ["bash", "$(rootpath %s)" % srcs[0]] + args,
        data = srcs + data,
    )

# "//a/b" and "//a/b:b" are one label, which Bazel refuses twice in `data`.
def _canonical(label):
    if type(label) != "string" or ":" in label or not label.startswith("//"):
        return label
    return label + ":" + label.split("/")[-1]

def test_batch(name, members, jobs = 4, shard_count = 1, size = "medium", tags = [], wrapper = None):
    """Runs `members` as one test: `jobs` at a time in each of `shard_count` shards.

    Shard i runs members i, i + shard_count, ... A failing member's output
    and outputs land in the batch's undeclared outputs, under its name.
    `wrapper`, a script, starts what the members share and runs the batch:
    it is run as `wrapper BATCH_TEST_SH ARGS...` and ends as the batch does.
    """
    args = [str(jobs)]
    data = []
    srcs = [_BATCH_TEST]
    if wrapper:
        srcs = [wrapper]
        args = ["$(rootpath %s)" % _BATCH_TEST] + args
        data = [_BATCH_TEST]
    in_data = {}  # canonical label -> True
    for member in members:
        args += ["--member=" + member.name] + member.command
        for d in member.data:
            if _canonical(d) not in in_data:
                in_data[_canonical(d)] = True
                data.append(d)
    native.sh_test(
        name = name,
        srcs = srcs,
        args = args,
        data = data,
        shard_count = shard_count,
        size = size,
        tags = tags,
    )
