#!/usr/bin/env bash
# tools/same_campaigns.sh, both ways: a talkcheck binary against itself gives
# the same campaigns (exit 0), against one that runs a misbehaving reference
# client they differ and it says which (exit 1); a wrong call or an unknown
# scenario is a usage error (exit 2).
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

# A misspelt scenario is refused before any campaign runs (the binary, here
# one that notes each start, is never started).
ran=${TEST_TMPDIR:-/tmp}/talkcheck-started
counting=${TEST_TMPDIR:-/tmp}/talkcheck-counting
rm -f "$ran"
printf '#!/bin/sh\ntouch "%s"\nexec "%s" "$@"\n' "$ran" "$talkcheck" >"$counting"
chmod +x "$counting"
out=$(SCENARIOS="callee-g1-basic no-such-scenario" bash "$script" \
  "$counting" "$counting" 2>&1)
status=$?
[[ $status -eq 2 ]] || fail "an unknown scenario: exit status $status, not 2"
[[ $out == *"no scenario "*"no-such-scenario.xml"* ]] ||
  fail "an unknown scenario: $out"
[[ ! -e $ran ]] || fail "an unknown scenario: campaigns ran before the refusal"

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "PASS"
