#!/usr/bin/env bash
# Timeout fuzzing speed of this checkout against an earlier commit, both measured in
# the same run on the same machine (issue 13 §8): builds //harness/bench:fuzz_benchmark
# (-c opt) at BASE in a temporary git worktree and here, then runs the two binaries
# alternately, ROUNDS times each, and prints schedules/s (BM_Schedule, CPU time, one
# core) of each round, the medians and their ratio.
#
#   tools/fuzz_speed_vs.sh [BASE] [ROUNDS] [FILTER]
#
# BASE defaults to 087f677, the newest commit of main before issue 13 (whose §8 set
# the speed goal; main's history from there to b0d3a91 is one commit), ROUNDS to 5,
# FILTER (a --benchmark_filter regex) to BM_Schedule$.
#
# Both binaries read this checkout's scenario files when BASE's loader takes them
# (the same work on both sides). An older loader refuses today's files (087f677's
# <media> needs a codec= that the negotiation now chooses): BASE then runs its own
# checkout's files, and the script says so.
set -euo pipefail

base=${1:-087f677}
rounds=${2:-5}
filter=${3:-'BM_Schedule$'}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
work=$(mktemp -d /tmp/fuzz-speed-XXXXXX)

cleanup() {
  if [[ -d "$work/base" ]]; then
    (cd "$work/base" && bazel --output_base="$work/ob" shutdown) >/dev/null 2>&1 || true
    git -C "$root" worktree remove --force "$work/base" >/dev/null 2>&1 || true
  fi
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building fuzz_benchmark at $base (temporary worktree) and here" >&2
if ! git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null 2>&1; then
  echo "fuzz_speed_vs: $base is not a commit of this repository" >&2
  exit 2
fi
# The benchmark lived in harness/ before harness/ was split by concern.
package=harness/bench
[[ -f "$work/base/harness/bench/fuzz_benchmark.cc" ]] || package=harness
(cd "$work/base" &&
  bazel --output_base="$work/ob" build -c opt --nosandbox_debug "//$package:fuzz_benchmark" >&2)
base_bin="$(cd "$work/base" && bazel --output_base="$work/ob" info -c opt bazel-bin 2>/dev/null)/$package/fuzz_benchmark"
(cd "$root" && bazel build -c opt //harness/bench:fuzz_benchmark >&2)
after="$root/bazel-bin/harness/bench/fuzz_benchmark"

# items_per_second of one benchmark run (BINARY, the runfiles directory it reads
# its scenarios from, minimum seconds), as a whole number; nothing if it failed.
rate() {
  (cd "$2" && "$1" --benchmark_filter="$filter" --benchmark_min_time="${3:-2}" \
    --benchmark_format=csv) 2>/dev/null |
    awk -F, 'NR > 1 && $1 != "" && $9 == "" { printf "%d\n", $7 }' | head -1
}

after_files="$after.runfiles/talkcheck"
before_files="$after_files"
if [[ -z "$(rate "$base_bin" "$before_files" 0.01)" ]]; then
  before_files="$base_bin.runfiles/talkcheck"
  echo "fuzz_speed_vs: $base's loader refuses this checkout's scenario files;" \
    "it runs its own ($base's callee-g1-basic.xml and the rest)" >&2
  if [[ -z "$(rate "$base_bin" "$before_files" 0.01)" ]]; then
    echo "fuzz_speed_vs: $base's fuzz_benchmark fails on its own files too" >&2
    exit 1
  fi
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/before.txt"
: >"$work/after.txt"
for ((i = 1; i <= rounds; i++)); do
  b=$(rate "$base_bin" "$before_files")
  a=$(rate "$after" "$after_files")
  echo "$b" >>"$work/before.txt"
  echo "$a" >>"$work/after.txt"
  printf 'round %d: %s %d/s, this checkout %d/s\n' "$i" "$base" "$b" "$a"
done
mb=$(median <"$work/before.txt")
ma=$(median <"$work/after.txt")
printf 'median schedules/s (%s): %s %d, this checkout %d, ratio %.2fx\n' \
  "$filter" "$base" "$mb" "$ma" "$(echo "$ma / $mb" | bc -l)"
