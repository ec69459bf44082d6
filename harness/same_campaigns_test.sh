#!/usr/bin/env bash
# tools/same_campaigns.sh, both ways: a talkcheck binary against itself gives
# the same campaigns (exit 0), against one that runs a misbehaving reference
# client they differ and it says which (exit 1); a wrong call is a usage error
# (exit 2).
#
#   same_campaigns_test.sh SAME_CAMPAIGNS_SH TALKCHECK
set -uo pipefail

script=$1
talkcheck=$(realpath "$2")
export SCENARIOS="callee-g1-basic glare" FAULTS=plain RUNS=20
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

out=$(bash "$script" "$talkcheck" "$talkcheck" 2>&1)
status=$?
[[ $status -eq 0 ]] || fail "the same binary twice: exit status $status"
[[ $out == *"campaigns differing: 0 of 2"* ]] ||
  fail "the same binary twice: $out"

# The same binary, but its reference client acks session iqs late.
faulty=${TEST_TMPDIR:-/tmp}/talkcheck-late-ack
printf '#!/bin/sh\nexec "%s" "$@" --fault=late-ack\n' "$talkcheck" >"$faulty"
chmod +x "$faulty"
out=$(bash "$script" "$talkcheck" "$faulty" 2>&1)
status=$?
[[ $status -eq 1 ]] || fail "against a late-acking client: exit status $status"
for line in "differs: callee-g1-basic, fault plain" \
  "differs: glare, fault plain" "campaigns differing: 2 of 2"; do
  [[ $out == *"$line"* ]] || fail "against a late-acking client, no \"$line\": $out"
done

bash "$script" "$talkcheck" >/dev/null 2>&1
status=$?
[[ $status -eq 2 ]] || fail "one binary only: exit status $status, not 2"

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
