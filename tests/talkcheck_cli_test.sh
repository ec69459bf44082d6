#!/usr/bin/env bash
# The talkcheck command line end to end: lint errors with file:line:column, exit codes,
# an external client under test driven through --client_cmd (the reference client as a
# separate process), a client that never logs in (exit 3), and a client that dies in
# the middle of a scenario (the scenario fails with that reason, the run goes on).
#   talkcheck_cli_test.sh TALKCHECK REFERENCE_CLIENT SCENARIO_DIR BAD_FILE
set -uo pipefail
talkcheck="$1"
reference="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
scenarios="$3"
bad="$4"
out="${TEST_TMPDIR:-/tmp}/cli.out"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# 1. Lint reports every error with file:line:column and exits non-zero.
"$talkcheck" lint "$bad" >"$out" 2>&1
rc=$?
[[ $rc -ne 0 ]] || fail "lint of a bad file exited 0"
grep -qE 'bad_step.xml:2:[0-9]+: .*duration' "$out" || fail "no line:column for the bad duration: $(cat "$out")"
grep -qE 'bad_step.xml:3:3: unknown step <sned>' "$out" || fail "no line:column for the unknown step: $(cat "$out")"

# 2. A run over a bad file is an input error: exit 2.
"$talkcheck" run "$bad" >"$out" 2>&1
[[ $? -eq 2 ]] || fail "run of a bad file did not exit 2"

# 3. The reference client as an external process passes a scenario; control steps
#    reach it on stdin.
client="$reference --server={host}:{port} --jid={jid} --password={password}"
"$talkcheck" run --client_cmd="$client" "$scenarios/callee-g1-basic.xml" \
  "$scenarios/caller-g1-basic.xml" >"$out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "external reference client: exit $rc: $(tail -20 "$out")"

# 4. A client that never logs in: exit 3, quickly.
"$talkcheck" run --client_cmd="sleep 30" --cut_ready_timeout=2s \
  "$scenarios/cut-caps-presence.xml" >"$out" 2>&1
rc=$?
[[ $rc -eq 3 ]] || fail "never-ready client: exit $rc, want 3: $(tail -5 "$out")"
grep -q "never became ready" "$out" || fail "no never-ready reason: $(tail -5 "$out")"

# 5. A client that dies mid-scenario: that scenario fails with the reason, the next
#    one still runs (and passes), the exit code is 1.
"$talkcheck" run --client_cmd="timeout 3 $client" \
  "$scenarios/ack-timeout.xml" "$scenarios/cut-caps-presence.xml" >"$out" 2>&1
rc=$?
[[ $rc -eq 1 ]] || fail "dying client: exit $rc, want 1: $(tail -20 "$out")"
grep -qE "client under test failed: client process exited|client went offline|connection closed" "$out" \
  || fail "no client-failure reason: $(tail -20 "$out")"
grep -qE '^PASS +cut-caps-presence' "$out" || fail "the run did not go on: $(tail -20 "$out")"

# 6. Fuzzing an external client on the real clock, its timers ten times as fast:
#    a client that never gives up on an unanswered initiate is caught, and the
#    replay file reproduces it; the correct client passes the same campaign.
scaled="$reference --time_scale=0.1 --server={host}:{port} --jid={jid} --password={password}"
"$talkcheck" fuzz --scenario="$scenarios/ack-timeout.xml" --runs=1 --seed=2 \
  --time_scale=0.1 --shrink_budget=0 --replay_dir="$TEST_TMPDIR/replays" \
  --client_cmd="$scaled --fault=no-terminate-on-timeout" >"$out" 2>&1
rc=$?
[[ $rc -eq 1 ]] || fail "scaled fuzz of a faulty client: exit $rc, want 1: $(tail -20 "$out")"
grep -q "session-open-past-deadline" "$out" \
  || fail "scaled fuzz did not name the oracle: $(tail -20 "$out")"
replay=$(ls "$TEST_TMPDIR"/replays/*session-open-past-deadline*.replay 2>/dev/null | head -1)
[[ -n "$replay" ]] || fail "no replay file written"
if [[ -n "$replay" ]]; then
  "$talkcheck" replay "$replay" >"$out" 2>&1
  grep -q "^reproduced: .*session-open-past-deadline" "$out" \
    || fail "the replay did not reproduce: $(tail -20 "$out")"
fi
"$talkcheck" fuzz --scenario="$scenarios/ack-timeout.xml" --runs=1 --seed=2 \
  --time_scale=0.1 --client_cmd="$scaled" >"$out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "scaled fuzz of the correct client: exit $rc: $(tail -20 "$out")"

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "all command-line checks passed"
