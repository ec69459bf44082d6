"""Bazel rules that make scenarios into tests, and fuzzing campaigns.

talkcheck_scenario_test(name, scenario, client, faults, expect_failure, clock, ...)
runs `talkcheck run` on one scenario file against the reference client (optionally
with faults) or a client command, writing JUnit XML to Bazel's XML_OUTPUT_FILE;
clock = "virtual" runs it in-process on the virtual clock (docs/fuzzing.md);
candidates = "relay" (or "stun,relay", ...) has the reference client gather those
candidates through the servers talkcheck starts; codecs = "PCMU,PCMA" has it
accept only those codecs; extra_args are passed to `talkcheck run` as they are
(e.g. "--media_address=::1"). With
`expect_failure`, the test passes only when the scenario fails and the report contains
that text: the other half of a both-ways proof.

client_binary = "//my:client" makes a Bazel target the client under test: it is
started as `client_binary client_args`, with {host}, {port}, {jid}, {password}
and {ws_url} in client_args replaced (`talkcheck run --client_cmd`).

The macros work from another workspace that has talkcheck as an external
repository (local_repository): talkcheck's own targets are resolved with Label().
"""

load("//tests:batch.bzl", "test_batch")

_TALKCHECK = Label("//harness:talkcheck")
_TALKCHECK_TEST = Label("//scenarios:talkcheck_test.sh")

# The library's scenarios and fragments, so that a library scenario finds the
# fragments it includes from any workspace.
_LIBRARY = Label("//scenarios:scenario_files")

def _scenario_run(
        scenario,
        client = "reference",
        client_cmd = None,
        client_binary = None,
        client_args = "--server={host}:{port} --jid={jid} --password={password}",
        faults = [],
        expect_failure = None,
        dialect = None,
        clock = None,
        candidates = None,
        codecs = None,
        extra_args = [],
        profile = None,
        data = []):
    """The arguments of talkcheck_test.sh for one scenario run, and its data."""
    args = ["$(rootpath %s)" % _TALKCHECK, "run", "$(location %s)" % scenario]
    if profile:
        args.append("--profile=%s" % profile)
    if client_binary:
        # Bazel tokenizes args like a Bourne shell: keep the command one argument.
        args.append("'--client_cmd=$(rootpath %s) %s'" % (client_binary, client_args))
        data = data + [client_binary]
    elif client_cmd:
        args.append("--client_cmd=%s" % client_cmd)
    else:
        args.append("--client=%s" % client)
    if faults:
        args.append("--fault=%s" % ",".join(faults))
    if dialect:
        args.append("--dialect=%s" % dialect)
    if clock:
        args.append("--clock=%s" % clock)
    if candidates:
        args.append("--candidates=%s" % candidates)
    if codecs:
        args.append("--codecs=%s" % codecs)
    args += extra_args
    if expect_failure:
        # Bazel tokenizes args like a Bourne shell: keep the text one argument.
        args.append("'--expect_failure=%s'" % expect_failure)
    return args, [scenario, _TALKCHECK, _LIBRARY] + data + native.glob(["fragments/**"])

def talkcheck_scenario_test(name, scenario, size = "small", tags = [], **kwargs):
    """One scenario run as a test (the arguments: the module docstring).

    Returns the run as a member for talkcheck_batch.
    """
    run_kwargs = {k: v for k, v in kwargs.items() if k in _RUN_ARGS}
    test_kwargs = {k: v for k, v in kwargs.items() if k not in _RUN_ARGS}
    args, data = _scenario_run(scenario, **run_kwargs)
    return _declare_member(name, args, data, size = size, tags = tags, **test_kwargs)

_RUN_ARGS = [
    "client",
    "client_cmd",
    "client_binary",
    "client_args",
    "faults",
    "expect_failure",
    "dialect",
    "clock",
    "candidates",
    "codecs",
    "extra_args",
    "profile",
    "data",
]

# Declares the sh_test that runs talkcheck_test.sh with `args`; returns it as a
# member for talkcheck_batch, which runs the same command.
def _declare_member(name, args, data, size, tags, **kwargs):
    native.sh_test(
        name = name,
        srcs = [_TALKCHECK_TEST],
        args = args,
        data = data,
        size = size,
        tags = tags,
        **kwargs
    )
    return struct(
        name = name,
        command = ["bash", "$(rootpath %s)" % _TALKCHECK_TEST] + args,
        data = [_TALKCHECK_TEST] + data,
        waits_long = size != "small" or "slow" in tags,
    )

# Runs many member tests as one test: `members` are what
# talkcheck_scenario_test, talkcheck_fuzz_test and talkcheck_library_test
# return; declare them tagged manual (`bazel test //pkg:NAME` still runs one
# alone) and the batch is what `bazel test //...` runs (tests/batch.bzl).
talkcheck_batch = test_batch

def talkcheck_scenario_members(tests):
    """Declares scenario runs as targets tagged manual; returns them as members.

    `tests` maps a name to the arguments of talkcheck_scenario_test. The
    members that wait longest come first, so that in a talkcheck_batch they
    spread over the shards and none starts last.
    """
    members = [
        talkcheck_scenario_test(
            name = test_name,
            **dict(test, tags = test.get("tags", []) + ["manual"])
        )
        for test_name, test in tests.items()
    ]
    return [m for m in members if m.waits_long] + [m for m in members if not m.waits_long]

def talkcheck_scenario_tests(name, tests, jobs = 4, shard_count = 1, size = "medium", tags = []):
    """Many scenario runs: each its own target (manual), and all of them in one test."""
    talkcheck_batch(
        name = name,
        members = talkcheck_scenario_members(tests),
        jobs = jobs,
        shard_count = shard_count,
        size = size,
        tags = tags,
    )

def talkcheck_fuzz_test(
        name,
        scenario,
        runs = 1000,
        seed = 1,
        faults = [],
        dialect = None,
        profile = None,
        expect_violation = None,
        shard_count = 1,
        size = "medium",
        tags = [],
        **kwargs):
    """Fuzzes one scenario's timings against the in-process reference client.

    `talkcheck fuzz` runs `runs` schedules from `seed`, split across
    `shard_count` shards (each shard runs every shard_count-th schedule; Bazel
    spreads shards over its executors). Without `expect_violation` the test
    passes when no schedule violates an oracle; shrunk replay files of any that
    did land in the test's undeclared outputs. With `expect_violation=ORACLE`,
    the test passes only when the campaign finds that oracle violated: the
    other half of a both-ways proof. Returns the campaign as a member for
    talkcheck_batch.
    """
    args = [
        "$(rootpath %s)" % _TALKCHECK,
        "fuzz",
        "--scenario=$(location %s)" % scenario,
        "--runs=%d" % runs,
        "--seed=%d" % seed,
    ]
    if faults:
        args.append("--fault=%s" % ",".join(faults))
    if dialect:
        args.append("--dialect=%s" % dialect)
    if profile:
        args.append("--profile=%s" % profile)
    if expect_violation:
        args.append("--expect_failure=%s" % expect_violation)
    return _declare_member(
        name,
        args,
        [scenario, _TALKCHECK] + native.glob(["fragments/**"]),
        shard_count = shard_count,
        size = size,
        tags = tags,
        **kwargs
    )

def talkcheck_library_test(
        name,
        scenarios,
        extra_args = [],
        exclude_tags = [],
        clock = "virtual",
        size = "small",
        tags = [],
        **kwargs):
    """Runs a whole scenario library in one `talkcheck run` against the reference client.

    extra_args put the client in a mode (e.g. "--codecs=PCMU,PCMA",
    "--answer_after=0s", "--dialect=g2"); exclude_tags names the scenario tags
    that cannot apply in that mode (`--tags=-TAG`): an exclusion is explicit,
    in the scenario file, never a silent skip. Passes when no selected
    scenario fails or errs (one that ends in <end verdict="not-applicable">
    for that mode is reported N/A). Returns the run as a member for
    talkcheck_batch.
    """
    args = ["$(rootpath %s)" % _TALKCHECK, "run"]
    args += ["$(location %s)" % s for s in scenarios]
    if clock:
        args.append("--clock=%s" % clock)
    if exclude_tags:
        args.append("--tags=%s" % ",".join(["-" + t for t in exclude_tags]))
    args += extra_args
    return _declare_member(
        name,
        args,
        scenarios + [_TALKCHECK, _LIBRARY] + native.glob(["fragments/**"]),
        size = size,
        tags = tags,
        **kwargs
    )
