#!/usr/bin/env bash
# The talkcheck command line's own contract: help per subcommand (its flags
# only, their defaults, the exit codes, exit 0), flags of another subcommand
# refused, the same exit code for bad input everywhere, --quiet, --filter and
# --tags, verdicts printed in the order given while scenarios run at once, and
# the scaled real-clock run of the README's main command.
#   talkcheck_main_test.sh TALKCHECK   (run from the runfiles root: scenarios/*.xml)
set -uo pipefail
talkcheck=$1
scenarios=(scenarios/*.xml)
out=$(mktemp)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# 1. Help: the subcommand's flags with defaults, exit codes, exit 0.
"$talkcheck" run --help >"$out" 2>&1 || fail "run --help exited $?"
grep -q -- '--jobs (default: 8)' "$out" || fail "run --help: no --jobs default: $(cat "$out")"
grep -q -- '--filter' "$out" || fail "run --help: no --filter"
grep -q -- '--time_scale (default: 1)' "$out" || fail "run --help: no --time_scale"
grep -q 'Exit codes: 0' "$out" || fail "run --help: no exit codes"
grep -q -- '--runs' "$out" && fail "run --help lists fuzz's --runs"
"$talkcheck" fuzz --help >"$out" 2>&1 || fail "fuzz --help exited $?"
grep -q -- '--jobs (default: 1)' "$out" || fail "fuzz --help: no --jobs default: $(cat "$out")"
grep -q -- '--shrink_budget (default: 200 in-process' "$out" || fail "fuzz --help: no --shrink_budget"
grep -q -- '--filter' "$out" && fail "fuzz --help lists run's --filter"
"$talkcheck" lint --help >"$out" 2>&1 || fail "lint --help exited $?"
"$talkcheck" replay --help >"$out" 2>&1 || fail "replay --help exited $?"
"$talkcheck" matrix --help >"$out" 2>&1 || fail "matrix --help exited $?"
grep -q -- '--out_dir (default: "" (matrix in $TEST_UNDECLARED_OUTPUTS_DIR' "$out" \
  || fail "matrix --help: no --out_dir default: $(cat "$out")"
grep -q -- '--fail_on_any (default: false)' "$out" || fail "matrix --help: no --fail_on_any"
grep -q -- '--client (default: none: a column per --client)' "$out" || fail "matrix --help: no --client"
grep -q -- '--client_cmd' "$out" || fail "matrix --help: no --client_cmd"
grep -q -- '--time_scale (default: 1)' "$out" || fail "matrix --help: no --time_scale"
tr '\n' ' ' <"$out" | grep -q 'Exits 0 once the matrix is written' || fail "matrix --help: no exit code rule"
grep -q -- '^  --fault (' "$out" && fail "matrix --help lists --fault (it belongs in a --client)"
grep -q -- '^  --pcap (' "$out" && fail "matrix --help lists run's --pcap"
"$talkcheck" help >"$out" 2>&1 || fail "help exited $?"
grep -q 'talkcheck fuzz --scenario=FILE' "$out" || fail "help: no fuzz usage"
grep -q 'talkcheck matrix --client=' "$out" || fail "help: no matrix usage"

# 2. Bad input exits 2 in every subcommand.
"$talkcheck" lint --fault=no-ack "${scenarios[0]}" >"$out" 2>&1
[[ $? -eq 2 ]] || fail "lint with run's --fault did not exit 2"
grep -q 'not a flag of this subcommand' "$out" || fail "no message for a foreign flag: $(cat "$out")"
bad=$(mktemp --suffix=.xml)
echo '<scenario name="x"><sned/></scenario>' >"$bad"
"$talkcheck" lint "$bad" >"$out" 2>&1
[[ $? -eq 2 ]] || fail "lint of a bad file did not exit 2"
"$talkcheck" run --clock=virtual "$bad" >"$out" 2>&1
[[ $? -eq 2 ]] || fail "run of a bad file did not exit 2"
"$talkcheck" frobnicate >"$out" 2>&1
[[ $? -eq 2 ]] || fail "an unknown subcommand did not exit 2"

# 3. --quiet prints the summary line alone.
"$talkcheck" run --clock=virtual --quiet --filter=callee-g1-basic "${scenarios[@]}" >"$out" 2>&1 \
  || fail "quiet run exited $?: $(cat "$out")"
[[ $(wc -l <"$out") -eq 1 ]] || fail "--quiet printed more than one line: $(cat "$out")"
grep -qE '^1 passed, 0 failed, 0 errors' "$out" || fail "--quiet: $(cat "$out")"

# 4. --filter and --tags select by name and tag; nothing selected is an error.
"$talkcheck" run --clock=virtual --filter='c*,-*-basic' "${scenarios[@]}" >"$out" 2>&1 \
  || fail "filtered run exited $?: $(tail "$out")"
grep -E '^(PASS|FAIL|ERROR) ' "$out" | grep -vE '^(PASS|FAIL|ERROR) +c' && fail "--filter let others through"
grep -qE '^PASS +cancel-while-ringing' "$out" || fail "--filter lost cancel-while-ringing"
grep -qE '^PASS +c[a-z]+-g1-basic' "$out" && fail "--filter did not exclude *-basic"
"$talkcheck" run --clock=virtual --tags=slow "${scenarios[@]}" >"$out" 2>&1 || fail "tagged run exited $?"
[[ $(grep -cE '^(PASS|FAIL|ERROR) +[^ ]+$' "$out") -eq 1 ]] && grep -qE '^PASS +ring-timeout' "$out" \
  || fail "--tags=slow: $(cat "$out")"
"$talkcheck" run --clock=virtual --filter=no-such-scenario "${scenarios[@]}" >"$out" 2>&1
[[ $? -eq 2 ]] || fail "an empty selection did not exit 2"

# 5. Scenarios at once, verdicts in the order given (here: reversed).
reversed=()
for ((i = ${#scenarios[@]} - 1; i >= 0; i--)); do reversed+=("${scenarios[i]}"); done
"$talkcheck" run --clock=virtual --jobs=4 "${reversed[@]}" >"$out" 2>&1
# Each file's name read by bash itself: a process per file costs ~8 ms of CPU.
want=$(for f in "${reversed[@]}"; do
  [[ $(<"$f") =~ \<scenario\ name=\"([^\"]+)\" ]] && echo "${BASH_REMATCH[1]}"
done)
got=$(sed -nE 's/^(PASS|FAIL|ERROR) +([^ ]+)$/\2/p' "$out")
[[ "$want" == "$got" ]] || fail "verdicts not in the order given: $(diff <(echo "$want") <(echo "$got"))"

# 6. The main command's real-clock run, scaled: real sockets, timers ten times
#    as fast, several scenarios at once.
trace=$(mktemp)
"$talkcheck" run --time_scale=0.1 --jobs=3 --filter='callee-g1-basic,caller-g1-basic,ack-timeout' \
  --trace="$trace" "${scenarios[@]}" >"$out" 2>&1 || fail "scaled real-clock run exited $?: $(tail -20 "$out")"
grep -qE '^3 passed, 0 failed, 0 errors' "$out" || fail "scaled run: $(tail -5 "$out")"
# --trace: one line per stanza and datagram, each with its time and scenario.
grep -vqE '^[0-9]+\.[0-9]{6} (callee-g1-basic|caller-g1-basic|ack-timeout) (stanza|udp) ' "$trace" \
  && fail "a trace line of another form: $(grep -vE '^[0-9]+\.[0-9]{6} ' "$trace" | head -3)"
grep -qE ' callee-g1-basic udp .* STUN binding-request user=' "$trace" || fail "no STUN request traced"
grep -qE ' caller-g1-basic udp .* RTP pt=[0-9]+ seq=' "$trace" || fail "no RTP traced"
grep -qE ' ack-timeout stanza from cut@' "$trace" || fail "no stanza traced"

# 7. JUnit for CI: the failure's type (step kind / reason class), and an
#    external client's own output in <system-err>.
junit=$(mktemp)
"$talkcheck" run --clock=virtual --fault=no-ack --junit="$junit" \
  --filter=seed-initiate-ack "${scenarios[@]}" >"$out" 2>&1
[[ $? -eq 1 ]] || fail "no-ack run did not exit 1: $(tail "$out")"
grep -q '<failure type="expect/no-match-within-bound"' "$junit" || fail "no failure type: $(cat "$junit")"
grep -q 'classname="talkcheck.seed-initiate-ack"' "$junit" || fail "classname: $(cat "$junit")"
"$talkcheck" run --client_cmd='echo hello-from-the-client; exit 4' --cut_ready_timeout=5s \
  --junit="$junit" --filter=seed-initiate-ack "${scenarios[@]}" >"$out" 2>&1
[[ $? -eq 3 ]] || fail "a client that exits at once did not exit 3: $(tail "$out")"
grep -q '<error type="client/never-ready"' "$junit" || fail "never-ready type: $(cat "$junit")"
grep -q '<system-err>hello-from-the-client' "$junit" || fail "no client output: $(cat "$junit")"

rm -f "$out" "$bad" "$junit" "$trace"
echo "talkcheck_main_test: OK"
