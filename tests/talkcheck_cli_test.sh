#!/usr/bin/env bash
# The talkcheck command line end to end: lint errors with file:line:column, exit codes,
# an external client under test driven through --client_cmd (the reference client as a
# separate process), a client that never logs in (exit 3), and a client that dies in
# the middle of a scenario (the scenario fails with that reason, the run goes on).
#   talkcheck_cli_test.sh TALKCHECK REFERENCE_CLIENT SCENARIO_DIR BAD_FILE PART
# PART picks one group of checks (lint, external_client, never_ready,
# dying_client, fuzz_faulty, fuzz_correct): each is its own Bazel target
# (tests/BUILD.bazel), so the groups, most of which wait on real timers, run in
# parallel.
set -uo pipefail
# talkcheck writes its JUnit report to XML_OUTPUT_FILE by default: the runs here
# fail on purpose, and their reports are not this test's verdict (Bazel writes
# that from our exit code).
unset XML_OUTPUT_FILE
talkcheck="$1"
reference="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
scenarios="$3"
bad="$4"
part="$5"
out="${TEST_TMPDIR:-/tmp}/cli.out"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
client="$reference --server={host}:{port} --jid={jid} --password={password}"
scaled="$reference --time_scale=0.1 --server={host}:{port} --jid={jid} --password={password}"
fast="$reference --time_scale=0.02 --server={host}:{port} --jid={jid} --password={password}"

case "$part" in
lint)
# 1. Lint reports every error with file:line:column and exits non-zero.
"$talkcheck" lint "$bad" >"$out" 2>&1
rc=$?
[[ $rc -ne 0 ]] || fail "lint of a bad file exited 0"
grep -qE 'bad_step.xml:2:[0-9]+: .*duration' "$out" || fail "no line:column for the bad duration: $(cat "$out")"
grep -qE 'bad_step.xml:3:3: unknown step <sned>' "$out" || fail "no line:column for the unknown step: $(cat "$out")"

# 2. A run over a bad file is an input error: exit 2.
"$talkcheck" run "$bad" >"$out" 2>&1
[[ $? -eq 2 ]] || fail "run of a bad file did not exit 2"
  ;;

external_client)
# 3. The reference client as an external process passes a scenario; control steps
#    reach it on stdin.
"$talkcheck" run --client_cmd="$client" "$scenarios/callee-g1-basic.xml" \
  "$scenarios/caller-g1-basic.xml" >"$out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "external reference client: exit $rc: $(tail -20 "$out")"
  ;;

never_ready)
# 4. A client that never logs in: exit 3, quickly.
"$talkcheck" run --client_cmd="sleep 30" --cut_ready_timeout=2s \
  "$scenarios/cut-caps-presence.xml" >"$out" 2>&1
rc=$?
[[ $rc -eq 3 ]] || fail "never-ready client: exit $rc, want 3: $(tail -5 "$out")"
grep -q "never became ready" "$out" || fail "no never-ready reason: $(tail -5 "$out")"
  ;;

dying_client)
# 5. A client that dies mid-scenario: that scenario fails with the reason, the next
#    one still runs (and passes), the exit code is 1. It dies 8 s in, inside
#    ack-timeout's 13 s without a terminate: with 3 s, a loaded machine's
#    login sometimes took longer, and a client that dies before it is ready
#    is an error of its own (exit 3), not this check.
"$talkcheck" run --client_cmd="timeout 8 $client" \
  "$scenarios/ack-timeout.xml" "$scenarios/cut-caps-presence.xml" >"$out" 2>&1
rc=$?
[[ $rc -eq 1 ]] || fail "dying client: exit $rc, want 1: $(tail -20 "$out")"
grep -qE "client process exited with status 124|client went offline|connection closed" "$out" \
  || fail "no client-failure reason: $(tail -20 "$out")"
grep -qE '^PASS +cut-caps-presence' "$out" || fail "the run did not go on: $(tail -20 "$out")"
  ;;

fuzz_faulty)
# 6. Fuzzing an external client on the real clock with scaled timers: a client
#    that never gives up on an unanswered initiate is caught, and the replay file
#    reproduces it; the correct client passes the same campaign (ten times as
#    fast). The faulty client runs fifty times as fast: its runs last until the
#    scaled 180 s deadline (three runs: the campaign's and one confirmation per
#    violated oracle, then the replay), and no timing can save a client that
#    never ends the session.
"$talkcheck" fuzz --scenario="$scenarios/ack-timeout.xml" --runs=1 --seed=2 \
  --profile=libjingle-0.4 \
  --time_scale=0.02 --shrink_budget=0 --replay_dir="$TEST_TMPDIR/replays" \
  --client_cmd="$fast --fault=no-terminate-on-timeout" >"$out" 2>&1
rc=$?
[[ $rc -eq 1 ]] || fail "scaled fuzz of a faulty client: exit $rc, want 1: $(tail -20 "$out")"
grep -q "session-open-past-deadline" "$out" \
  || fail "scaled fuzz did not name the oracle: $(tail -20 "$out")"
# A real-clock campaign runs under one schedule a second: the rate keeps its
# decimals (not "0/s").
grep -qE 'talkcheck fuzz: schedules 1/1  0\.[0-9]{2}/s' "$out" \
  || fail "the progress rate lost its decimals: $(grep 'talkcheck fuzz:' "$out")"
replay=$(ls "$TEST_TMPDIR"/replays/*session-open-past-deadline*.replay 2>/dev/null | head -1)
[[ -n "$replay" ]] || fail "no replay file written"
if [[ -n "$replay" ]]; then
  "$talkcheck" replay "$replay" >"$out" 2>&1
  grep -q "^reproduced: .*session-open-past-deadline" "$out" \
    || fail "the replay did not reproduce: $(tail -20 "$out")"
fi
  ;;

fuzz_correct)
"$talkcheck" fuzz --scenario="$scenarios/ack-timeout.xml" --runs=1 --seed=2 \
  --time_scale=0.1 --client_cmd="$scaled" >"$out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "scaled fuzz of the correct client: exit $rc: $(tail -20 "$out")"
  ;;

*)
  fail "unknown part '$part'"
  ;;
esac

if [[ $failures -ne 0 ]]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
echo "command-line checks passed: $part"
