#!/usr/bin/env bash
# talkcheck record end to end (issue 11 §4): two reference clients hold a call
# on record's fake server (one calls, one answers, the caller hangs up); the
# scenario written with either side as the client under test lints without a
# warning, passes against the reference client, and fails against it told to
# misbehave; a client logged in by hand is recorded too. Then the errors: no
# call, a client command that ends first, a --cut that names neither side.
# The cases mostly wait for real calls, so they run at once, each in its own
# directory, and the test fails if any does.
#   record_test.sh TALKCHECK REFERENCE_CLIENT
set -uo pipefail
talkcheck="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
reference="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
top=$(mktemp -d)
kept="${TEST_UNDECLARED_OUTPUTS_DIR:-$top}"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# The callee is listed first: record starts the caller once it is online.
login='--server={host}:{port} --jid={jid}/phone --password={password}'
callee="$reference $login --answer_after=1s"
caller="$reference $login --call=bob@localhost/phone --hangup_after=2s"
record() {  # record CALLER_COMMAND FLAG...
  local caller_cmd=$1
  shift
  "$talkcheck" record --accounts=bob:bob,alice:alice --timeout=60s \
    --client_cmd="$callee" --client_cmd="$caller_cmd" --client_log="$tmp/clients.log" "$@"
}

# record_variant callee|caller|g2-caller: the third is a G2 caller's call,
# replayed with no --dialect (the file's g2-caller tag asks it of the
# reference client).
record_variant() {
  local variant=$1 side=${1#g2-} file caller_cmd
  file="$kept/recorded-$variant.xml"
  caller_cmd=$caller
  [[ $variant == g2-* ]] && caller_cmd="$caller --dialect=g2"
  record "$caller_cmd" --out="$file" --cut=$side >"$out" 2>&1
  [[ $? -eq 0 ]] || fail "record --cut=$side: $(cat "$out") $(cat "$tmp/clients.log")"
  grep -q "the client under test is the $side" "$out" || fail "no summary: $(cat "$out")"
  # Nothing of this run's values is left in the steps (the header comment
  # names the recorded JIDs): JIDs, addresses and ids are variables.
  ! grep -v '^<!--' "$file" | grep -Eq 'alice@|bob@|127\.0\.0\.1' ||
    fail "raw values in $file: $(cat "$file")"
  "$talkcheck" lint "$file" >"$out" 2>&1 || fail "lint $side: $(cat "$out")"
  ! grep -q 'warning' "$out" || fail "lint warnings for $side: $(cat "$out")"
  "$talkcheck" run "$file" >"$out" 2>&1 || fail "run $variant: $(cat "$out") $(cat "$file")"
  grep -q '^1 passed, 0 failed' "$out" || fail "run $variant: $(cat "$out")"
  case $variant in
    g2-caller) grep -q 'transport-info' "$file" || fail "no G2 in the G2 call" ;;
    # The reference client misbehaving fails the recorded scenarios.
    callee)
      "$talkcheck" run --fault=no-ack "$file" >"$out" 2>&1
      [[ $? -eq 1 ]] || fail "no-ack passed the recorded callee scenario: $(cat "$out")"
      grep -q "no stanza with id '[^']*' arrived from the client" "$out" || fail "no-ack: $(cat "$out")"
      ;;
    caller)
      "$talkcheck" run --fault=no-candidates "$file" >"$out" 2>&1
      [[ $? -eq 1 ]] || fail "no-candidates passed the recorded caller scenario: $(cat "$out")"
      grep -q 'type="candidates"' "$out" || fail "no-candidates: $(cat "$out")"
      ;;
  esac
}

# A client the user logs in by hand: record starts only the callee's command;
# the test, as a user would, reads the address and waits for the callee to be
# online before its own client calls.
record_by_hand() {
  local manual="$tmp/manual.out" recording port by_hand
  "$talkcheck" record --accounts=bob:bob,alice:alice --timeout=60s --cut=caller \
    --out="$kept/recorded-manual.xml" --client_cmd="$callee" >"$manual" 2>&1 &
  recording=$!
  for _ in $(seq 600); do
    grep -q 'bob@localhost/phone is online' "$manual" && break
    sleep 0.1
  done
  port=$(sed -n 's/.*fake server on 127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$manual")
  [[ -n $port ]] || fail "no address printed: $(cat "$manual")"
  grep -q 'bob@localhost/phone is online' "$manual" || fail "callee never online: $(cat "$manual")"
  "$reference" --server=127.0.0.1:"$port" --jid=alice@localhost/desk --password=alice \
    --call=bob@localhost/phone --hangup_after=2s </dev/null >"$tmp/manual-client.out" 2>&1 &
  by_hand=$!
  wait $recording
  [[ $? -eq 0 ]] || fail "record with a client by hand: $(cat "$manual")"
  kill $by_hand 2>/dev/null
  wait $by_hand 2>/dev/null
  grep -q 'alice@localhost/desk is online' "$manual" || fail "no online line: $(cat "$manual")"
  "$talkcheck" run "$kept/recorded-manual.xml" >"$out" 2>&1 || fail "run manual: $(cat "$out")"
}

# No call: two clients online that never call; exit 1, saying so.
no_call() {
  "$talkcheck" record --accounts=bob:bob,alice:alice --timeout=3s --out="$tmp/none.xml" \
    --client_cmd="$callee" --client_cmd="$callee" >"$out" 2>&1
  [[ $? -eq 1 ]] || fail "no call did not exit 1: $(cat "$out")"
  grep -q 'no call happened within 3s between bob@localhost, alice@localhost' "$out" ||
    fail "no call: $(cat "$out")"
  [[ ! -e "$tmp/none.xml" ]] || fail "a file was written without a call"
}

# Interrupted (Ctrl-C) before any call: exit 1, saying so, and the client it
# started (in a process group of its own) is stopped with it.
interrupted() {
  local resource="interrupted-$$" recording
  "$talkcheck" record --timeout=60s --out="$tmp/none.xml" \
    --client_cmd="$reference --server={host}:{port} --jid={jid}/$resource --password={password}" \
    >"$tmp/interrupted.out" 2>&1 &
  recording=$!
  for _ in $(seq 600); do
    grep -q "alice@localhost/$resource is online" "$tmp/interrupted.out" && break
    sleep 0.1
  done
  grep -q "is online" "$tmp/interrupted.out" || fail "never online: $(cat "$tmp/interrupted.out")"
  kill -INT $recording
  wait $recording
  [[ $? -eq 1 ]] || fail "an interrupted record did not exit 1: $(cat "$tmp/interrupted.out")"
  grep -q 'no call happened before the interrupt' "$tmp/interrupted.out" ||
    fail "interrupt: $(cat "$tmp/interrupted.out")"
  ! pgrep -f -- "--jid=alice@localhost/$resource" >/dev/null || fail "the client outlived record"
}

# A client command that ends before any call: exit 3, naming it.
client_ends() {
  "$talkcheck" record --timeout=30s --out="$tmp/none.xml" --client_cmd='exit 7' >"$out" 2>&1
  [[ $? -eq 3 ]] || fail "a client that ends did not exit 3: $(cat "$out")"
  grep -q "the client of alice@localhost (exit 7) ended before any call" "$out" ||
    fail "client ended: $(cat "$out")"
}

# --cut naming neither side.
cut_neither() {
  record "$caller" --out="$tmp/none.xml" --cut=carol@localhost >"$out" 2>&1
  [[ $? -eq 2 ]] || fail "--cut=carol did not exit 2: $(cat "$out")"
  grep -q -- '--cut=carol@localhost is neither' "$out" || fail "--cut: $(cat "$out")"
}

# Each case in the background with its own $tmp and $out.
cases=("record_variant callee" "record_variant caller" "record_variant g2-caller"
  record_by_hand no_call interrupted client_ends cut_neither)
pids=()
for ((c = 0; c < ${#cases[@]}; c++)); do
  (
    tmp=$top/case$c
    mkdir -p "$tmp"
    out=$tmp/out
    ${cases[c]}
  ) >"$top/case$c.log" 2>&1 &
  pids+=($!)
done
failed=0
for ((c = 0; c < ${#cases[@]}; c++)); do
  if wait "${pids[c]}"; then
    echo "ok    ${cases[c]}"
  else
    echo "FAIL  ${cases[c]}: $(cat "$top/case$c.log")"
    failed=$((failed + 1))
  fi
done
((failed == 0)) || exit 1
echo PASS
