#!/usr/bin/env bash
# Runs one talkcheck command under `bazel test` (see talkcheck.bzl).
#   talkcheck_test.sh TALKCHECK run|fuzz [talkcheck flags and files...] [--expect_failure=TEXT]
# Without --expect_failure the test passes when talkcheck exits 0. With it, the
# test passes only when talkcheck reports a failure (exit 1) whose output
# contains TEXT (a scenario's failure message, or the oracle a campaign must
# find): the other half of a both-ways proof. Under fuzz, talkcheck itself
# reads the shard from TEST_SHARD_INDEX / TEST_TOTAL_SHARDS and puts replay
# files in TEST_UNDECLARED_OUTPUTS_DIR.
set -uo pipefail

# The binary's runfiles path, which is right in this workspace and from
# another that has talkcheck as an external repository.
talkcheck="$1"
shift
command="$1"
shift
expect_failure=""
args=()
for arg in "$@"; do
  case "$arg" in
    --expect_failure=*) expect_failure="${arg#--expect_failure=}" ;;
    *) args+=("$arg") ;;
  esac
done

outputs="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR}}"
out="${outputs}/talkcheck.out"
junit="${XML_OUTPUT_FILE:-${TEST_TMPDIR}/junit.xml}"
if [[ -n "$expect_failure" ]]; then
  # The report of a run that must fail is not the test's own verdict: keep it aside.
  junit="${outputs}/expected-failure.junit.xml"
fi
"$talkcheck" "$command" --junit="$junit" --json="${outputs}/report.json" \
  "${args[@]}" >"$out" 2>&1
rc=$?
# Read and matched by bash itself: a batch runs this ~170 times, and each
# process started costs ~8 ms of CPU on the 2-core VM.
output=$(<"$out")
printf '%s\n' "$output"

if [[ -z "$expect_failure" ]]; then
  exit $rc
fi
if [[ $rc -ne 1 ]]; then
  echo "expected talkcheck $command to fail (exit 1), got exit $rc" >&2
  exit 1
fi
if [[ $output != *"$expect_failure"* ]]; then
  echo "talkcheck $command failed, but its report does not say: $expect_failure" >&2
  exit 1
fi
echo "failed as expected: $expect_failure"
