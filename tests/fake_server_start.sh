# Sourced by shell tests: fail MESSAGE, and start_fake_server DIR SERVER ARGS...,
# which starts fake_xmpp_server with ARGS (stdout in DIR/out, stderr in
# DIR/log), kills it when the test exits, and sets `address` to where it
# listens once it says so (at most 10 s).
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

start_fake_server() {
  local dir=$1 server=$2
  shift 2
  "$server" "$@" >"$dir/out" 2>"$dir/log" &
  pid=$!
  trap 'kill $pid 2>/dev/null' EXIT
  for _ in $(seq 100); do
    grep -q "listening on" "$dir/out" && break
    sleep 0.1
  done
  address=$(sed -n 's/^listening on //p' "$dir/out" | head -1)
  [[ -n "$address" ]] || fail "the server did not start: $(cat "$dir/log")"
}
