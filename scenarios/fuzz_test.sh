#!/usr/bin/env bash
# Runs one fuzzing campaign under `bazel test` (see talkcheck.bzl).
#   fuzz_test.sh [talkcheck fuzz flags...] [--expect_violation=ORACLE]
# talkcheck reads the shard from TEST_SHARD_INDEX / TEST_TOTAL_SHARDS and puts
# replay files in TEST_UNDECLARED_OUTPUTS_DIR. Without --expect_violation the
# test passes when talkcheck exits 0 (no violation). With it, the test passes
# only when the campaign fails (exit 1) naming ORACLE.
set -uo pipefail

talkcheck="${TEST_SRCDIR}/${TEST_WORKSPACE}/harness/talkcheck"
expect=""
args=()
for arg in "$@"; do
  case "$arg" in
    --expect_violation=*) expect="${arg#--expect_violation=}" ;;
    *) args+=("$arg") ;;
  esac
done

out="${TEST_TMPDIR}/fuzz.out"
junit="${XML_OUTPUT_FILE:-${TEST_TMPDIR}/junit.xml}"
if [[ -n "$expect" ]]; then
  # The violations of a campaign that must find one are not the test's verdict.
  junit="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR}}/expected-violation.junit.xml"
fi
"$talkcheck" fuzz --junit="$junit" \
  --json="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR}}/fuzz.json" \
  "${args[@]}" >"$out" 2>&1
rc=$?
cat "$out"

if [[ -z "$expect" ]]; then
  exit $rc
fi
if [[ $rc -ne 1 ]]; then
  echo "expected the campaign to find $expect (exit 1), got exit $rc" >&2
  exit 1
fi
if ! grep -qE "^  $expect +[0-9]+ runs" "$out"; then
  echo "the campaign failed, but not with $expect" >&2
  exit 1
fi
echo "found as expected: $expect"
