#!/usr/bin/env bash
# Failure reports and replay files end to end (issue 10 §4, §5, §7, §8): a
# client killed by a signal through /bin/sh, a client that never connects
# (how far it got, its last output), fuzz of a client that cannot start (exit
# 3, no replay), and a replay run from another directory, with the client
# overridden, --json and --client_log.
#   reports_test.sh TALKCHECK   (run from the runfiles root: scenarios/*.xml)
set -uo pipefail
talkcheck="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
root=$(pwd)
tmp=$(mktemp -d)
out="$tmp/out"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# 1. A client whose command dies of SIGSEGV under /bin/sh (status 139): named
#    by its signal; how far it got; its last lines of output.
"$talkcheck" run --client_cmd='echo hello-from-the-client; sh -c "kill -SEGV \$\$"' \
  --cut_ready_timeout=5s --filter=seed-initiate-ack scenarios/*.xml >"$out" 2>&1
[[ $? -eq 3 ]] || fail "a crashing client did not exit 3: $(cat "$out")"
grep -q 'killed by SIGSEGV' "$out" || fail "no signal name: $(cat "$out")"
grep -q 'it never connected to the fake server' "$out" || fail "no progress: $(cat "$out")"
grep -q "last lines of the client's output:" "$out" || fail "no output header: $(cat "$out")"
grep -q '^hello-from-the-client' "$out" || fail "no client output: $(cat "$out")"

# 1b. --client_log: a header line per scenario, each followed by that
#     scenario's client output; the JSON report carries each one's output.
"$talkcheck" run --client_cmd='echo printed-by-the-client; exit 0' --cut_ready_timeout=2s \
  --client_log="$tmp/run.log" --json="$tmp/run.json" \
  scenarios/seed-initiate-ack.xml scenarios/ack-timeout.xml >"$out" 2>&1
[[ $? -eq 3 ]] || fail "clients that exit at once did not exit 3: $(cat "$out")"
[[ $(grep -c '^=== talkcheck: ' "$tmp/run.log") -eq 2 ]] || fail "not one header per scenario: $(cat "$tmp/run.log")"
grep -A1 '^=== talkcheck: seed-initiate-ack' "$tmp/run.log" | grep -q '^printed-by-the-client' \
  || fail "no output under seed-initiate-ack's header: $(cat "$tmp/run.log")"
grep -A1 '^=== talkcheck: ack-timeout' "$tmp/run.log" | grep -q '^printed-by-the-client' \
  || fail "no output under ack-timeout's header: $(cat "$tmp/run.log")"
[[ $(grep -c '"client_output": "printed-by-the-client' "$tmp/run.json") -eq 2 ]] \
  || fail "the JSON does not carry each scenario's output: $(cat "$tmp/run.json")"

# 2. Fuzzing a client command that cannot start: exit 3, no replay written.
"$talkcheck" fuzz --scenario=scenarios/seed-initiate-ack.xml --runs=3 \
  --client_cmd=/nonexistent/client --replay_dir="$tmp/none" >"$out" 2>&1
[[ $? -eq 3 ]] || fail "fuzz of a client that cannot start did not exit 3: $(cat "$out")"
[[ ! -e "$tmp/none" ]] || fail "a replay was written for a client that cannot start"

# 3. A campaign that finds drop-early-candidates: counts per oracle with every
#    failing run listed; the replay names steps by file:line.
"$talkcheck" fuzz --scenario=scenarios/callee-g1-basic.xml --fault=drop-early-candidates \
  --runs=150 --replay_dir="$tmp/replays" --junit="$tmp/fuzz.xml" >"$out" 2>&1
[[ $? -eq 1 ]] || fail "the campaign did not find the fault: $(tail "$out")"
grep -qE 'violated in [0-9]+ of 150 schedules: runs? [0-9]+' "$out" || fail "counts: $(cat "$out")"
grep -q 'shrinking' "$out" || fail "no shrinking progress: $(cat "$out")"
replay=$(ls "$tmp"/replays/*.replay | head -1)
[[ -n "$replay" ]] || fail "no replay file"
grep -qE '^#   [A-Z_]+ .*step [0-9][0-9a-z.]* at [^ ]+\.xml:[0-9]+' "$replay" \
  || fail "perturbations without file:line: $(head "$replay")"
grep -q "^# To try another build of the client (or another client): talkcheck replay --client_cmd=" "$replay" \
  || fail "the header does not say the client can be overridden: $(head "$replay")"
cases=$(grep -c '<testcase ' "$tmp/fuzz.xml")
oracles=$(grep -cE '^  [a-z-]+ +violated in' "$out")
[[ $cases -eq $oracles ]] || fail "JUnit: $cases testcases for $oracles oracles"

# 4. The replay from another directory: the scenario is found beside it; the
#    transcript is printed; --json is written.
(cd / && "$talkcheck" replay --json="$tmp/replay.json" "$replay") >"$out" 2>&1
rc=$?
[[ $rc -eq 1 ]] || fail "replay from / exited $rc: $(tail "$out")"
grep -q '^reproduced' "$out" || fail "not reproduced: $(tail "$out")"
grep -q '^transcript:' "$out" || fail "no transcript: $(tail "$out")"
grep -q '"verdict"' "$tmp/replay.json" || fail "no JSON report"

# 4b. The same replay with the fault taken out of the file: the correct client
#     passes, and the transcript is printed all the same.
fixed="$(dirname "$replay")/fixed.replay"
grep -v '^faults:' "$replay" >"$fixed"
(cd / && "$talkcheck" replay "$fixed") >"$out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "the fixed replay exited $rc: $(tail "$out")"
grep -q '^NOT reproduced: no violation' "$out" || fail "the fixed replay: $(tail "$out")"
grep -q '^transcript:' "$out" || fail "no transcript for a passing replay: $(tail "$out")"
grep -qE '^ +[0-9.]+s cut->peer ' "$out" || fail "an empty transcript: $(tail "$out")"

# 5. The replay against another client: said so, and its output in --client_log.
(cd / && "$talkcheck" replay --client_cmd='echo fixed-build; exit 0' \
  --client_log="$tmp/client.log" "$replay") >"$out" 2>&1
grep -q 'instead of the recorded reference --fault=drop-early-candidates' "$out" \
  || fail "the override is not said: $(head "$out")"
grep -q '^=== talkcheck: callee-g1-basic' "$tmp/client.log" || fail "no log header: $(cat "$tmp/client.log")"
grep -q '^fixed-build' "$tmp/client.log" || fail "no client output in the log"

cd "$root"
rm -rf "$tmp"
echo "reports_test: OK"
