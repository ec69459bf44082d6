# Sourced by the Chromium tests: one headless Chromium (Debian's chromium),
# driven over the DevTools protocol by node and the ws package (both from
# tools/setup.sh), each page in a tab of its own. A browser start costs ~2 s
# of CPU on the 2-core VM, a page ~1 s. So a browser serves every page of a
# test, and the tests of //harness:chromium_tests share one
# (chromium_batch.sh): where TALKCHECK_CHROMIUM_PROFILE names the profile of
# one the batch launched, chromium_start waits for that one.
#   source harness/headless_chromium.sh
#   chromium_start DIR [CHROMIUM FLAGS...]   # sets devtools_port, chromium_log
#   chromium_page URL DOM_OUT [PNG_OUT WIDTH HEIGHT]   # as --dump-dom [--screenshot]
# The browser it started, and any pid the test adds to background_pids, is
# killed at exit.
chromium_npm_dir=/opt/talkcheck/npm
chromium_page_js="$(dirname "${BASH_SOURCE[0]}")/chromium_page.js"
background_pids=()
trap 'for pid in "${background_pids[@]}"; do kill "$pid" 2>/dev/null; done' EXIT

# What Puppeteer starts Chromium with for automation (its defaultArgs), less
# what would change a page: no background downloads, updates, sync or
# extensions, and no throttling of tabs other than the focused one.
chromium_quiet_flags=(
  --disable-background-networking --disable-background-timer-throttling
  --disable-backgrounding-occluded-windows --disable-renderer-backgrounding
  --disable-breakpad --disable-client-side-phishing-detection
  --disable-component-extensions-with-background-pages --disable-component-update
  --disable-default-apps --disable-extensions --disable-sync --metrics-recording-only
  --no-first-run --password-store=basic --use-mock-keychain --mute-audio
  --disable-features=Translate,MediaRouter,OptimizationHints
)

chromium_start() {
  local dir=$1
  shift
  if [[ -n ${TALKCHECK_CHROMIUM_PROFILE:-} ]]; then
    chromium_log=${TALKCHECK_CHROMIUM_LOG:-$dir/chromium.err}
    chromium_wait "$TALKCHECK_CHROMIUM_PROFILE"
    return
  fi
  chromium_launch "$dir" "$@"
  chromium_wait "$chromium_profile"
}

# chromium_launch DIR [CHROMIUM FLAGS...]: starts the browser and returns at
# once (sets chromium_profile, chromium_log); chromium_wait PROFILE waits for
# its DevTools port (sets devtools_port). A batch launches it first and its
# tests wait only when they need a page, so its start overlaps their work.
chromium_launch() {
  local dir=$1
  shift
  # The browser's stderr, for the tests' failure messages.
  chromium_log=$dir/chromium.err
  chromium_profile=$dir/profile
  local chromium
  chromium=$(command -v chromium) || { echo "FAIL: chromium not installed (tools/setup.sh)" >&2; exit 1; }
  command -v node >/dev/null || { echo "FAIL: node not installed (tools/setup.sh)" >&2; exit 1; }
  [[ -d $chromium_npm_dir/node_modules/ws ]] ||
    { echo "FAIL: the ws package is not in $chromium_npm_dir (tools/setup.sh)" >&2; exit 1; }
  HOME=$dir "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    "${chromium_quiet_flags[@]}" \
    --remote-debugging-port=0 --user-data-dir="$chromium_profile" "$@" about:blank \
    2>"$chromium_log" &
  background_pids+=($!)
}

chromium_wait() {
  local profile=$1
  # Its start takes seconds when the machine is loaded.
  for _ in $(seq 600); do
    [[ -s $profile/DevToolsActivePort ]] && break
    sleep 0.1
  done
  devtools_port=$(head -1 "$profile/DevToolsActivePort" 2>/dev/null)
  [[ -n $devtools_port ]] ||
    { echo "FAIL: chromium did not start: $(tail "$chromium_log")" >&2; exit 1; }
}

chromium_page() {
  NODE_PATH=$chromium_npm_dir/node_modules timeout 120 node "$chromium_page_js" "$devtools_port" "$@"
}
