#!/usr/bin/env bash
# Timeout fuzzing speed of this checkout against an earlier commit, both measured in
# the same run on the same machine (issue 13 §8): builds //harness/bench:fuzz_benchmark
# (-c opt) at BASE in a temporary git worktree and here, then runs the two binaries
# alternately, ROUNDS times each, on the same scenario files, and prints schedules/s
# (BM_Schedule, CPU time, one core) of each round, the medians and their ratio.
#
#   tools/fuzz_speed_vs.sh [BASE] [ROUNDS] [FILTER]
#
# BASE defaults to 4795ba7 (before issue 13 §8), ROUNDS to 5, FILTER (a
# --benchmark_filter regex) to BM_Schedule$.
set -euo pipefail

base=${1:-4795ba7}
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
git -C "$root" worktree add --detach "$work/base" "$base" >/dev/null 2>&1
(cd "$work/base" &&
  bazel --output_base="$work/ob" build -c opt //harness/bench:fuzz_benchmark >&2 &&
  cp "$(bazel --output_base="$work/ob" info -c opt bazel-bin 2>/dev/null)/harness/bench/fuzz_benchmark" \
    "$work/before")
(cd "$root" && bazel build -c opt //harness/bench:fuzz_benchmark >&2)
after="$root/bazel-bin/harness/bench/fuzz_benchmark"
# Both read the scenarios of this checkout, from its runfiles.
cd "$after.runfiles/talkcheck"

# items_per_second of one benchmark run, as a whole number.
rate() {
  "$1" --benchmark_filter="$filter" --benchmark_min_time=2 --benchmark_format=csv \
    2>/dev/null | awk -F, 'NR > 1 && $1 != "" { printf "%d\n", $7 }' | head -1
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

: >"$work/before.txt"
: >"$work/after.txt"
for ((i = 1; i <= rounds; i++)); do
  b=$(rate "$work/before")
  a=$(rate "$after")
  echo "$b" >>"$work/before.txt"
  echo "$a" >>"$work/after.txt"
  printf 'round %d: %s %d/s, this checkout %d/s\n' "$i" "$base" "$b" "$a"
done
mb=$(median <"$work/before.txt")
ma=$(median <"$work/after.txt")
printf 'median schedules/s (%s): %s %d, this checkout %d, ratio %.2fx\n' \
  "$filter" "$base" "$mb" "$ma" "$(echo "$ma / $mb" | bc -l)"
