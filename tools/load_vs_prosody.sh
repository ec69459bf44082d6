#!/usr/bin/env bash
# The fake server and Prosody under the same load, side by side (issue 13 §7).
# Builds with -c opt, starts each server pinned to CPU 0 (a private Prosody:
# its own config, data dir and port on 127.0.0.1), drives both with
# //harness/bench:xmpp_load pinned to CPU 1, and prints one table with the
# ratio to Prosody per row (>1: the fake server is better).
#
#   tools/load_vs_prosody.sh                 # ~2-3 minutes: idle 1k and 10k
#   tools/load_vs_prosody.sh --seconds=10    # longer logins/messages runs
#   tools/load_vs_prosody.sh --big           # adds idle 100k (needs
#       RLIMIT_NOFILE >= 100k in both servers; 4 source addresses)
#   tools/load_vs_prosody.sh --prosody_auth=internal_plain  # Prosody stores
#       plain passwords, as the fake server does (no key derived per login)
#
# Needs prosody (tools/setup.sh). As root, Prosody runs as the prosody user
# (it refuses root). Same accounts on both: load1, load2 (password loadpass);
# SASL PLAIN without TLS on loopback; by default Prosody stores SCRAM hashes
# (its default, internal_hashed), so each of its PLAIN logins derives a key.
set -euo pipefail

seconds=5
prosody_auth=internal_hashed
idle_counts=(1000 10000)
for arg in "$@"; do
  case "$arg" in
    --seconds=*) seconds="${arg#--seconds=}" ;;
    --big) idle_counts+=(100000) ;;
    --prosody_auth=*) prosody_auth="${arg#--prosody_auth=}" ;;
    *) echo "usage: $0 [--seconds=N] [--big] [--prosody_auth=internal_plain]" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
command -v prosody >/dev/null || { echo "prosody missing: run tools/setup.sh" >&2; exit 1; }
bazel build -c opt //fake_server:fake_xmpp_server //harness/bench:xmpp_load \
  //harness/bench:raw_tcp_relay >&2
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"
fake_bin="$bin/fake_server/fake_xmpp_server"
load_bin="$bin/harness/bench/xmpp_load"
relay_bin="$bin/harness/bench/raw_tcp_relay"

work="$(mktemp -d /tmp/load_vs_prosody.XXXXXX)"
fake_port=25222
prosody_port=25223
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# As many descriptors as allowed: idle connections need one each.
ulimit -n "$(ulimit -Hn)"
largest="${idle_counts[-1]}"
if (($(ulimit -n) < largest + 100)); then
  echo "RLIMIT_NOFILE's hard limit $(ulimit -Hn) is below $largest idle connections" \
    "(raise it, e.g. in /etc/security/limits.conf or with prlimit, as root)" >&2
  exit 1
fi

mkdir -p "$work/prosody/data" "$work/prosody/certs"
cat >"$work/prosody/prosody.cfg.lua" <<EOF
daemonize = false
pidfile = "$work/prosody/prosody.pid"
data_path = "$work/prosody/data"
certificates = "$work/prosody/certs"
log = { info = "$work/prosody/prosody.log" }
modules_enabled = { "roster", "saslauth", "disco", "ping" }
c2s_ports = { $prosody_port }
c2s_interfaces = { "127.0.0.1" }
s2s_ports = {}
c2s_require_encryption = false
allow_unencrypted_plain_auth = true
authentication = "$prosody_auth"
VirtualHost "localhost"
EOF
as_prosody=()
if [[ $(id -u) -eq 0 ]]; then
  chmod 755 "$work"  # mktemp -d: 700, and Prosody must reach its dir
  chown -R prosody:prosody "$work/prosody"
  as_prosody=(setpriv --reuid=prosody --regid=prosody --init-groups)
fi
for user in load1 load2; do
  "${as_prosody[@]}" prosodyctl --config "$work/prosody/prosody.cfg.lua" \
    register "$user" localhost loadpass >/dev/null 2>&1 ||
    { echo "prosodyctl register $user failed" >&2; exit 1; }
done

# Waits until 127.0.0.1:$1 accepts connections.
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  exit 1
}

# start_server fake|prosody: sets server_pid and port.
start_server() {
  if [[ "$1" == fake ]]; then
    taskset -c 0 "$fake_bin" --tls=off --listen="127.0.0.1:$fake_port" \
      --account=load1:loadpass,load2:loadpass --max_connections=200000 \
      >"$work/fake.log" 2>&1 &
    port=$fake_port
  else
    taskset -c 0 "${as_prosody[@]}" prosody \
      --config "$work/prosody/prosody.cfg.lua" -F >"$work/prosody.out" 2>&1 &
    port=$prosody_port
  fi
  server_pid=$!
  wait_port "$port"
}

# SIGTERM, then SIGKILL after 10 s: Prosody 0.12.3 sometimes never finishes
# its shutdown after thousands of clients have just gone.
stop_server() {
  kill "$server_pid"
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -9 "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

# load SERVER ARGS...: the generator's key=value line against SERVER.
load() {
  local server="$1"
  shift
  taskset -c 1 "$load_bin" --server="127.0.0.1:$port" "$@"
}

# field KEY LINE: the value of KEY in a key=value line.
field() { sed -n "s/.*\\b$1=\\([^ ]*\\).*/\\1/p" <<<"$2"; }

declare -A result
# The floor under the messages row at 1 in flight: the same bounce through a
# relay that only forwards bytes, pinned the same way.
relay_port=25224
taskset -c 0 "$relay_bin" --role=relay --port="$relay_port" &
relay_pid=$!
sleep 0.5  # not wait_port: the relay takes its first two connections as A and B
floor="$(taskset -c 1 "$relay_bin" --role=load --port="$relay_port" --in_flight=1 \
  --seconds="$seconds")"
wait "$relay_pid" 2>/dev/null || true

for server in fake prosody; do
  start_server "$server"
  for n in 1 16; do
    line="$(load "$server" --mode=messages --in_flight=$n --seconds="$seconds")"
    result[$server,msg$n]="$(field messages_per_s "$line")"
    result[$server,p50_$n]="$(field p50_ms "$line")"
    result[$server,p99_$n]="$(field p99_ms "$line")"
  done
  for n in 1 50 200; do
    line="$(load "$server" --mode=logins --in_flight=$n --seconds="$seconds")"
    result[$server,login$n]="$(field logins_per_s "$line")"
  done
  stop_server
  for count in "${idle_counts[@]}"; do
    # A fresh server per count: memory freed by the previous run would hide
    # the next run's growth.
    start_server "$server"
    sources="127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4"
    line="$(load "$server" --mode=idle --connections="$count" --in_flight=50 \
      --sources="$sources" --server_pid="$server_pid")"
    result[$server,idle$count]="$(field bytes_per_conn "$line")"
    stop_server
  done
done

# row LABEL KEY UNIT HIGHER_IS_BETTER
row() {
  local fake="${result[fake,$2]}" prosody="${result[prosody,$2]}"
  local ratio
  if [[ "$4" == 1 ]]; then
    ratio="$(awk -v a="$fake" -v b="$prosody" 'BEGIN { printf "%.1f", a / b }')"
  else
    ratio="$(awk -v a="$fake" -v b="$prosody" 'BEGIN { printf "%.1f", b / a }')"
  fi
  printf "| %-32s | %12s | %12s | %6s× |\n" "$1" "$fake $3" "$prosody $3" "$ratio"
}

echo
echo "fake server vs Prosody $(dpkg-query -W -f='${Version}' prosody 2>/dev/null)," \
  "($prosody_auth), $(date -u '+%Y-%m-%d %H:%M UTC'), ${seconds} s per run, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf "| %-32s | %12s | %12s | %7s |\n" "row" "fake server" "Prosody" "ratio"
printf "|%s|%s|%s|%s|\n" "$(printf -- '-%.0s' {1..34})" "$(printf -- '-%.0s' {1..14})" \
  "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..9})"
for n in 1 16; do
  row "messages/s, $n in flight" "msg$n" "" 1
  row "round trip p50, $n in flight" "p50_$n" ms 0
  row "round trip p99, $n in flight" "p99_$n" ms 0
done
for n in 1 50 200; do
  row "logins/s, $n in flight" "login$n" "" 1
done
for count in "${idle_counts[@]}"; do
  row "bytes per idle connection, $count" "idle$count" B 0
done
echo "(ratio: how many times better the fake server is; goal >= 5 on every row)"
echo "floor, 1 in flight, through a relay that only forwards bytes (raw_tcp_relay):" \
  "$(field messages_per_s "$floor") messages/s, p50 $(field p50_ms "$floor") ms," \
  "p99 $(field p99_ms "$floor") ms"
