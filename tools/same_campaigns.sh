#!/usr/bin/env bash
# Whether two talkcheck binaries give the same timeout-fuzzing results: each
# runs the same campaigns, and their summaries (wall-clock figures and paths
# left out) and replay files must match byte for byte. What every change made
# for speed alone must pass (docs/fuzzing.md), and what shows that
# tools/pgo_build.sh's binary behaves as the plain -c opt one.
#
#   tools/same_campaigns.sh OLD_TALKCHECK NEW_TALKCHECK
#
# Environment (defaults in brackets):
#   SCENARIOS  scenario names in scenarios/ [12 that cover the clock, GICE,
#              generations, relay and media paths]
#   FAULTS     reference-client faults, "plain" for none [plain late-ack
#              no-terminate-on-timeout]
#   RUNS [200], SEED [11], PROFILE [libjingle-0.7]: each campaign's flags.
# Prints a line per campaign that differs and "campaigns differing: N of M";
# exits 1 if any differs, 2 on a usage error.
set -euo pipefail

if [[ $# -ne 2 || ! -x $1 || ! -x $2 ]]; then
  echo "usage: $0 OLD_TALKCHECK NEW_TALKCHECK (two executable files)" >&2
  exit 2
fi
old=$(realpath "$1")
new=$(realpath "$2")
# The checkout (or the runfiles tree) this script is in: its scenarios/.
root=$(cd "$(dirname "$0")/.." && pwd)
scenarios=${SCENARIOS:-callee-g1-basic caller-g1-basic candidate-generations
  ring-timeout glare call-while-ringing media-to-stale-generation
  peer-generation-bump relay-media writable-timeout pings-after-write-timeout
  long-call-keepalive}
faults=${FAULTS:-plain late-ack no-terminate-on-timeout}
# Every name checked before any campaign runs: a misspelt last one must not
# cost the minutes the others take first.
for scenario in $scenarios; do
  if [[ ! -f $root/scenarios/$scenario.xml ]]; then
    echo "no scenario $root/scenarios/$scenario.xml" >&2
    exit 2
  fi
done
work=$(mktemp -d /tmp/same-campaigns-XXXXXX)
trap 'rm -rf "$work"' EXIT

# run BINARY SIDE SCENARIO FAULT: one campaign into $work/SIDE/SCENARIO-FAULT.
run() {
  local binary=$1 side=$2 scenario=$3 fault=$4
  local dir=$work/$side/$scenario-$fault
  local flags=(fuzz --scenario="$root/scenarios/$scenario.xml"
    --runs="${RUNS:-200}" --seed="${SEED:-11}"
    --profile="${PROFILE:-libjingle-0.7}" --replay_dir="$dir/replays")
  [[ $fault == plain ]] || flags+=(--fault="$fault")
  mkdir -p "$dir/replays"
  local status=0
  (cd "$dir" && "$binary" "${flags[@]}" >out.txt 2>&1) || status=$?
  echo "exit status $status" >>"$dir/out.txt"
  # What may differ between two correct binaries: rates, elapsed times, the
  # side's directory in paths, and the progress lines.
  sed -E -i 's/[0-9][0-9.,]*( schedules)?\/s/RATE/g
             s/\) in [0-9.]+ ?(s|ms|min|m)\b/) in TIME/g
             s@'"$work"'/(old|new)@DIR@g
             /^talkcheck fuzz: /d' "$dir/out.txt"
}

differing=0
total=0
for scenario in $scenarios; do
  for fault in $faults; do
    run "$old" old "$scenario" "$fault"
    run "$new" new "$scenario" "$fault"
    total=$((total + 1))
    if ! diff -r "$work/old/$scenario-$fault" "$work/new/$scenario-$fault" \
      >"$work/diff.txt"; then
      echo "differs: $scenario, fault $fault"
      head -n 20 "$work/diff.txt" | sed 's/^/  /'
      differing=$((differing + 1))
    fi
  done
done
echo "campaigns differing: $differing of $total"
[[ $differing -eq 0 ]]
