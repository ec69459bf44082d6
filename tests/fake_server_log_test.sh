#!/usr/bin/env bash
# fake_xmpp_server says what it does (issue 11 §5): on stderr one line per
# connection, login step and stream error, and with --log_stanzas one per
# routed stanza; a wrong password shows as the SASL failure it is.
#   fake_server_log_test.sh FAKE_XMPP_SERVER REFERENCE_CLIENT
set -uo pipefail
server=$1
client=$2
dir=${TEST_TMPDIR:-$(mktemp -d)}
source tests/fake_server_start.sh
start_fake_server "$dir" "$server" --tls=off --account=cut:cutpass --log_stanzas

# A client that logs in, sends presence and quits; then one with a bad password.
echo quit | timeout 20 "$client" --server="$address" --require_tls=false --jid=cut@localhost --password=cutpass >/dev/null 2>&1
echo quit | timeout 20 "$client" --server="$address" --require_tls=false --jid=cut@localhost --password=wrong >/dev/null 2>&1
for _ in $(seq 50); do
  grep -q "SASL failed" "$dir/log" && break
  sleep 0.1
done
kill $pid
wait $pid 2>/dev/null

grep -qE '^[0-9.]+ stream 1: connected$' "$dir/log" || fail "no connection logged: $(cat "$dir/log")"
grep -qE '^[0-9.]+ stream 1: SASL (SCRAM-SHA-1|PLAIN)' "$dir/log" || fail "no SASL step logged: $(cat "$dir/log")"
grep -qE '^[0-9.]+ stream 1: authenticated as cut' "$dir/log" || fail "no login logged: $(cat "$dir/log")"
grep -qE '^[0-9.]+ stream 1: bound cut@localhost/' "$dir/log" || fail "no bind logged: $(cat "$dir/log")"
grep -qE '^[0-9.]+ from cut@localhost/[^ ]+ <presence' "$dir/log" || fail "no stanza logged: $(cat "$dir/log")"
grep -qE '^[0-9.]+ stream 2: SASL failed: not-authorized' "$dir/log" || fail "no SASL failure logged: $(cat "$dir/log")"
echo "fake_server_log_test: OK"
