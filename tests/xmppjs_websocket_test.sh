#!/usr/bin/env bash
# A real third-party client library, @xmpp/client under Node.js, logs in to the
# fake server over WebSocket (RFC 7395), exchanges presence with the simulated
# peer and acknowledges its initiate: talkcheck run passes. The same client
# told nothing of Google sessions (its iq-callee answers service-unavailable)
# fails the same scenario: the check is proven both ways.
#   xmppjs_websocket_test.sh TALKCHECK   (run from the runfiles root)
set -uo pipefail
talkcheck=$1
npm_dir=/opt/talkcheck/npm
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
command -v node >/dev/null || fail "node not installed (tools/setup.sh)"
[[ -d $npm_dir/node_modules/@xmpp/client ]] || fail "@xmpp/client not in $npm_dir (tools/setup.sh)"
dir=${TEST_TMPDIR:-$(mktemp -d)}
# ES modules find their packages in a node_modules beside them.
cp tests/xmppjs/voice_callee.mjs "$dir/"
ln -sfn "$npm_dir/node_modules" "$dir/node_modules"
sed 's|xmpp.iqCallee.set(.*|// (no session handler: iq-callee answers an error)|' \
  "$dir/voice_callee.mjs" >"$dir/no_session.mjs"
unset XML_OUTPUT_FILE
# Node's start and @xmpp/client's SCRAM-SHA-1 (4096 PBKDF2 rounds in JavaScript)
# take seconds when the suite loads the cores: a generous readiness bound.

# The two runs (each its own server and client) at once.
"$talkcheck" run --cut_ready_timeout=120s --json="$dir/pass.json" --client_log="$dir/pass.log" \
  --client_cmd="node $dir/voice_callee.mjs {ws_url} {jid} {password}" \
  tests/testdata/websocket_callee.xml >"$dir/pass.out" 2>&1 &
pass_pid=$!
"$talkcheck" run --cut_ready_timeout=120s --time_scale=0.1 --client_log="$dir/fail.log" \
  --client_cmd="node $dir/no_session.mjs {ws_url} {jid} {password}" \
  tests/testdata/websocket_callee.xml >"$dir/fail.out" 2>&1 &
fail_pid=$!
wait $pass_pid || fail "the @xmpp/client callee did not pass: $(tail -30 "$dir/pass.out"; tail -20 "$dir/pass.log")"
grep -q "xmppjs: online as cut@localhost/xmppjs" "$dir/pass.log" || fail "no login over WebSocket: $(cat "$dir/pass.log")"
grep -q 'type="initiate"' "$dir/pass.log" || fail "the initiate never reached the client: $(cat "$dir/pass.log")"

wait $fail_pid
rc=$?
[[ $rc -eq 1 ]] || fail "a client that does not ack exited $rc, want 1: $(tail -20 "$dir/fail.out")"
grep -q "no matching stanza\|type='error'\|type=\"error\"" "$dir/fail.out" || fail "no clear failure: $(tail -20 "$dir/fail.out")"
echo "xmppjs_websocket_test: OK"
