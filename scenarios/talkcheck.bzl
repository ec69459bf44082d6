"""Bazel rules that make scenarios into tests.

talkcheck_scenario_test(name, scenario, client, faults, expect_failure, ...) runs
`talkcheck run` on one scenario file against the reference client (optionally with
faults) or a client command, writing JUnit XML to Bazel's XML_OUTPUT_FILE. With
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
        data = [],
        size = "small",
        tags = [],
        **kwargs):
    args = ["$(location %s)" % scenario]
    if client_cmd:
        args.append("--client_cmd=%s" % client_cmd)
    else:
        args.append("--client=%s" % client)
    if faults:
        args.append("--fault=%s" % ",".join(faults))
    if dialect:
        args.append("--dialect=%s" % dialect)
    if expect_failure:
        # Bazel tokenizes args like a Bourne shell: keep the text one argument.
        args.append("'--expect_failure=%s'" % expect_failure)
    native.sh_test(
        name = name,
        srcs = ["//scenarios:scenario_test.sh"],
        args = args,
        data = [scenario, "//harness:talkcheck"] + data + native.glob(["fragments/**"]),
        size = size,
        tags = tags,
        **kwargs
    )
