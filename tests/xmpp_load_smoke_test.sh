#!/usr/bin/env bash
# The load generator of tools/load_vs_prosody.sh against a fake server with
# tiny counts: every mode prints its figures, the messages really make the
# round trip (the server logs them routed), idle reads the server's memory,
# and a wrong password stops it with the SASL failure, not figures.
#   xmpp_load_smoke_test.sh FAKE_XMPP_SERVER XMPP_LOAD
set -uo pipefail
server=$1
load=$2
dir=${TEST_TMPDIR:-$(mktemp -d)}
source tests/fake_server_start.sh
start_fake_server "$dir" "$server" --tls=off \
  --account=load1:loadpass,load2:loadpass --log_stanzas

# A positive number for KEY in the key=value LINE.
positive() {
  local value
  value=$(sed -n "s/.*\\b$1=\\([0-9.]*\\).*/\\1/p" <<<"$2")
  [[ -n "$value" ]] && awk -v v="$value" 'BEGIN { exit !(v > 0) }' ||
    fail "$1 is not a positive number in: $2"
}

line=$("$load" --server="$address" --mode=logins --in_flight=4 --seconds=0.5) ||
  fail "logins mode failed"
positive logins_per_s "$line"
positive p50_ms "$line"
# A window shorter than one login (as under ASan with every test running)
# still measures one, rather than printing a rate of 0.
line=$("$load" --server="$address" --mode=logins --seconds=0.000001) ||
  fail "logins mode failed"
positive logins_per_s "$line"

line=$("$load" --server="$address" --mode=messages --in_flight=2 --seconds=0.5) ||
  fail "messages mode failed"
positive messages_per_s "$line"
positive p99_ms "$line"
grep -qE 'from load2@localhost/[^ ]+ <message[^>]*to=.load1@localhost/' "$dir/log" ||
  fail "no message routed back from load2 to load1: $(tail -5 "$dir/log")"

line=$("$load" --server="$address" --mode=idle --connections=50 --in_flight=10 \
  --sources=127.0.0.1,127.0.0.2 --server_pid=$pid) || fail "idle mode failed"
positive rss_after_kb "$line"
[[ "$line" == *"connections=50 "* ]] || fail "idle did not hold 50: $line"

out=$("$load" --server="$address" --mode=logins --password=wrong --seconds=0.5 2>&1) &&
  fail "a wrong password still gave figures: $out"
[[ "$out" == *"SASL failure"* ]] || fail "a wrong password did not say SASL failure: $out"
echo "xmpp_load_smoke_test: OK"
