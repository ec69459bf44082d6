#!/usr/bin/env bash
# A client under test that crashes, hangs or floods mid-scenario (issue 13 §4):
# talkcheck run ends by the scenario's deadline, writes its JSON and JUnit
# reports, and they say what happened. The client is the reference client
# binary with a process fault (reference_client/process_faults.h).
#   misbehaving_client_test.sh TALKCHECK REFERENCE_CLIENT
# (run from the runfiles root: scenarios/*.xml)
set -uo pipefail
talkcheck="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
client="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
tmp=$(mktemp -d)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# seed-initiate-ack's deadline is 60 s, 6 s at --time_scale=0.1; a client is
# given 2 s to go after SIGTERM. The bound leaves room for a loaded machine;
# `timeout` catches a run that would never end. Sanitized binaries (bazel test
# --config=asan sets ASAN_OPTIONS) take 2-5x the CPU: the crash case took
# 26.5 s there with the whole suite running (5 Dec 2026), its login and start
# included.
bound_s=20
[[ -n ${ASAN_OPTIONS:-} ]] && bound_s=60
login='--server={host}:{port} --jid={jid} --password={password}'

# run NAME TEXT CLIENT_CMD SCENARIO...: exit 1, within the bound, both
# reports written, each saying TEXT.
run() {
  local name=$1 text=$2 cmd=$3
  shift 3
  local start end rc
  start=$(date +%s%N)
  timeout 120 "$talkcheck" run --time_scale=0.1 --client_cmd="$cmd" \
    --json="$tmp/$name.json" --junit="$tmp/$name.xml" "$@" >"$tmp/$name.out" 2>&1
  rc=$?
  end=$(date +%s%N)
  local elapsed_ms=$(((end - start) / 1000000))
  echo "$name: exit $rc after ${elapsed_ms} ms"
  [[ $rc -ne 124 ]] || fail "$name: talkcheck run never ended: $(tail "$tmp/$name.out")"
  [[ $rc -eq 1 ]] || fail "$name: exit $rc, not 1: $(tail "$tmp/$name.out")"
  ((elapsed_ms <= bound_s * 1000)) || fail "$name: took ${elapsed_ms} ms"
  [[ -s "$tmp/$name.json" ]] || fail "$name: no JSON report"
  [[ -s "$tmp/$name.xml" ]] || fail "$name: no JUnit report"
  /usr/bin/python3 - "$tmp/$name.json" "$text" "$#" <<'PY' || fail "$name: JSON report: $(head -c 2000 "$tmp/$name.json")"
import json, sys
report = json.load(open(sys.argv[1]))
scenarios = report["scenarios"]
assert len(scenarios) == int(sys.argv[3]), f"{len(scenarios)} scenarios"
for scenario in scenarios:
    assert scenario["verdict"] == "FAIL", scenario["verdict"]
    assert sys.argv[2] in json.dumps(scenario), f"no {sys.argv[2]!r} in {scenario['name']}"
PY
  grep -q '<failure ' "$tmp/$name.xml" || fail "$name: JUnit has no failure"
  grep -qF "$text" "$tmp/$name.xml" || fail "$name: JUnit does not say '$text'"
}

run crash "client process killed by SIGSEGV" \
  "$client $login --fault=crash-on-initiate" scenarios/seed-initiate-ack.xml
run abort "client process killed by SIGABRT" \
  "$client $login --fault=abort-on-initiate" scenarios/seed-initiate-ack.xml
run hang "stopped (SIGSTOP or SIGTSTP): it hangs" \
  "$client $login --fault=hang-on-initiate" scenarios/seed-initiate-ack.xml
# A hung client that also ignores SIGTERM (inherited from the shell) is
# killed after its 2 s of grace.
run hang-ignoring-sigterm "stopped (SIGSTOP or SIGTSTP): it hangs" \
  "trap '' TERM; $client $login --fault=hang-on-initiate" scenarios/seed-initiate-ack.xml
run flood "flood " \
  "$client $login --fault=flood-on-initiate" scenarios/seed-initiate-ack.xml
# One crashing client per scenario: every scenario still runs and is reported.
run crash-twice "client process killed by SIGSEGV" \
  "$client $login --fault=crash-on-initiate" scenarios/seed-initiate-ack.xml \
  scenarios/callee-g1-basic.xml

# Linked into talkcheck, a process fault would take talkcheck down: refused.
"$talkcheck" run --fault=crash-on-initiate scenarios/seed-initiate-ack.xml >"$tmp/refused.out" 2>&1
rc=$?
[[ $rc -eq 2 ]] || fail "an in-process crash-on-initiate exited $rc: $(cat "$tmp/refused.out")"
grep -q -- "--client_cmd=" "$tmp/refused.out" || fail "no advice: $(cat "$tmp/refused.out")"

# No client process is left behind.
if pgrep -f -- "--fault=[a-z]*-on-initiate" >/dev/null; then
  fail "client processes left: $(pgrep -af -- '--fault=[a-z]*-on-initiate')"
fi
rm -rf "$tmp"
echo "misbehaving_client_test: OK"
