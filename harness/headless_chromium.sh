# Sourced by the Chromium tests: one headless Chromium (Debian's chromium) for
# the whole test, driven over the DevTools protocol by node and the ws package
# (both from tools/setup.sh). A browser start costs seconds of CPU, a page in
# a running one a fraction of that.
#   source harness/headless_chromium.sh
#   chromium_start DIR [CHROMIUM FLAGS...]   # sets devtools_port
#   chromium_page URL DOM_OUT [PNG_OUT WIDTH HEIGHT]   # as --dump-dom [--screenshot]
# The browser, and any pid the test adds to background_pids, is killed at exit.
chromium_npm_dir=/opt/talkcheck/npm
chromium_page_js="$(dirname "${BASH_SOURCE[0]}")/chromium_page.js"
background_pids=()
trap 'for pid in "${background_pids[@]}"; do kill "$pid" 2>/dev/null; done' EXIT

chromium_start() {
  local dir=$1
  shift
  local chromium
  chromium=$(command -v chromium) || { echo "FAIL: chromium not installed (tools/setup.sh)" >&2; exit 1; }
  command -v node >/dev/null || { echo "FAIL: node not installed (tools/setup.sh)" >&2; exit 1; }
  [[ -d $chromium_npm_dir/node_modules/ws ]] ||
    { echo "FAIL: the ws package is not in $chromium_npm_dir (tools/setup.sh)" >&2; exit 1; }
  HOME=$dir "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --remote-debugging-port=0 --user-data-dir="$dir/profile" "$@" about:blank \
    2>"$dir/chromium.err" &
  background_pids+=($!)
  # Its start takes seconds when the machine is loaded.
  for _ in $(seq 600); do
    [[ -s $dir/profile/DevToolsActivePort ]] && break
    sleep 0.1
  done
  devtools_port=$(head -1 "$dir/profile/DevToolsActivePort" 2>/dev/null)
  [[ -n $devtools_port ]] ||
    { echo "FAIL: chromium did not start: $(tail "$dir/chromium.err")" >&2; exit 1; }
}

chromium_page() {
  NODE_PATH=$chromium_npm_dir/node_modules timeout 120 node "$chromium_page_js" "$devtools_port" "$@"
}
