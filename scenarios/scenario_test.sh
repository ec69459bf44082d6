#!/usr/bin/env bash
# Runs one scenario under `bazel test` (see talkcheck.bzl).
#   scenario_test.sh SCENARIO [talkcheck flags...] [--expect_failure=TEXT]
# Without --expect_failure the test passes when talkcheck exits 0. With it, the test
# passes only when the scenario fails (exit 1) and the report contains TEXT.
set -uo pipefail

talkcheck="${TEST_SRCDIR}/${TEST_WORKSPACE}/harness/talkcheck"
scenario="$1"
shift
expect_failure=""
args=()
for arg in "$@"; do
  case "$arg" in
    --expect_failure=*) expect_failure="${arg#--expect_failure=}" ;;
    *) args+=("$arg") ;;
  esac
done

out="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR}}/talkcheck.out"
junit="${XML_OUTPUT_FILE:-${TEST_TMPDIR}/junit.xml}"
if [[ -n "$expect_failure" ]]; then
  # The report of a run that must fail is not the test's own verdict: keep it aside.
  junit="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR}}/expected-failure.junit.xml"
fi
"$talkcheck" run --junit="$junit" \
  --json="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR}}/report.json" \
  "${args[@]}" "$scenario" >"$out" 2>&1
rc=$?
cat "$out"

if [[ -z "$expect_failure" ]]; then
  exit $rc
fi
if [[ $rc -ne 1 ]]; then
  echo "expected the scenario to fail (exit 1), got exit $rc" >&2
  exit 1
fi
if ! grep -qF -- "$expect_failure" "$out"; then
  echo "the scenario failed, but the report does not say: $expect_failure" >&2
  exit 1
fi
echo "failed as expected: $expect_failure"
