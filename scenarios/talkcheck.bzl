"""Bazel rules that make scenarios into tests, and fuzzing campaigns.

talkcheck_scenario_test(name, scenario, client, faults, expect_failure, clock, ...)
runs `talkcheck run` on one scenario file against the reference client (optionally
with faults) or a client command, writing JUnit XML to Bazel's XML_OUTPUT_FILE;
clock = "virtual" runs it in-process on the virtual clock (docs/fuzzing.md);
candidates = "relay" (or "stun,relay", ...) has the reference client gather those
candidates through the servers talkcheck starts. With
`expect_failure`, the test passes only when the scenario fails and the report contains
that text: the other half of a both-ways proof.
"""

def talkcheck_scenario_test(
        name,
        scenario,
        client = "reference",
        client_cmd = None,
        faults = [],
        expect_failure = None,
        dialect = None,
        clock = None,
        candidates = None,
        data = [],
        size = "small",
        tags = [],
        **kwargs):
    args = ["run", "$(location %s)" % scenario]
    if client_cmd:
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
    if expect_failure:
        # Bazel tokenizes args like a Bourne shell: keep the text one argument.
        args.append("'--expect_failure=%s'" % expect_failure)
    native.sh_test(
        name = name,
        srcs = ["//scenarios:talkcheck_test.sh"],
        args = args,
        data = [scenario, "//harness:talkcheck"] + data + native.glob(["fragments/**"]),
        size = size,
        tags = tags,
        **kwargs
    )

def talkcheck_fuzz_test(
        name,
        scenario,
        runs = 1000,
        seed = 1,
        faults = [],
        dialect = None,
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
    other half of a both-ways proof.
    """
    args = [
        "fuzz",
        "--scenario=$(location %s)" % scenario,
        "--runs=%d" % runs,
        "--seed=%d" % seed,
    ]
    if faults:
        args.append("--fault=%s" % ",".join(faults))
    if dialect:
        args.append("--dialect=%s" % dialect)
    if expect_violation:
        args.append("--expect_failure=%s" % expect_violation)
    native.sh_test(
        name = name,
        srcs = ["//scenarios:talkcheck_test.sh"],
        args = args,
        data = [scenario, "//harness:talkcheck"] + native.glob(["fragments/**"]),
        shard_count = shard_count,
        size = size,
        tags = tags,
        **kwargs
    )
