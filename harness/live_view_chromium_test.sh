#!/usr/bin/env bash
# talkcheck run --serve in a real browser: headless Chromium opens the live
# report of two calls over real sockets while they run, one after the other:
# callee-g1-basic (its media plots) and writable-timeout (15 s of waiting at
# --time_scale=0.3 for the client's terminate). The run starts once the page
# is open (--serve_wait), however long a loaded machine's browser takes to
# load it. Its DOM, read over the
# DevTools protocol, gets stanza and media events from the WebSocket while
# the run goes on (the page says "live"), then the final state: both
# scenarios with their verdicts, arrows and media plots. A screenshot of the
# final state is kept as a test output.
#   live_view_chromium_test.sh TALKCHECK CDP_SCRIPT   (from the runfiles root)
set -uo pipefail
talkcheck=$1
cdp_script=$2
source harness/headless_chromium.sh
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
dir=${TEST_TMPDIR:-$(mktemp -d)}
outputs=${TEST_UNDECLARED_OUTPUTS_DIR:-$dir}
unset XML_OUTPUT_FILE

# The browser first: its start takes seconds when the machine is loaded.
chromium_start "$dir"

"$talkcheck" run --serve=127.0.0.1:0 --serve_wait=120s --serve_linger=120s --jobs=1 --time_scale=0.1 \
  scenarios/callee-g1-basic.xml scenarios/writable-timeout.xml >"$dir/run.out" 2>&1 &
background_pids+=($!)
for _ in $(seq 300); do
  grep -q 'live report at' "$dir/run.out" && break
  sleep 0.1
done
url=$(grep -o 'http://127\.0\.0\.1:[0-9]*/' "$dir/run.out" | head -1)
[[ -n $url ]] || fail "no URL printed: $(cat "$dir/run.out")"

seen=$(NODE_PATH=$chromium_npm_dir/node_modules timeout 280 node "$cdp_script" "$devtools_port" "$url" \
  "$outputs/live.png") || fail "could not drive chromium: $seen"
echo "seen: $seen"
field() { echo "$seen" | sed -n "s/.*\"$1\":\\([0-9]*\\).*/\\1/p" | head -1; }
(($(field live_events) > 0)) || fail "no stanza or media event arrived while the run went on: $seen"
(($(field live_plots) > 0)) || fail "no media plot while the call went on: $seen"
echo "$seen" | grep -q '"final":{"state":"done"' || fail "the final state never came: $seen"
(($(field finished) == 2)) || fail "the final state does not show both verdicts: $seen"
(($(field plots) >= 3)) || fail "the final state lacks the media plots: $seen"
[[ -s $outputs/live.png ]] || fail "no screenshot"
echo "live_view_chromium_test: OK (screenshot $outputs/live.png)"
