#!/usr/bin/env bash
# Builds talkcheck optimised from a profile of timeout fuzzing (PGO) and across
# packages (LTO), for long campaigns (docs/fuzzing.md, "The profile-guided
# build").
#
#   tools/pgo_build.sh [TARGET...]
#
# TARGET defaults to //harness:talkcheck; name //harness/bench:fuzz_benchmark
# too to measure the result (tools/fuzz_speed_vs.sh measures plain builds).
# Each binary is copied to .pgo/NAME, whose path is printed.
#
# A fuzz schedule runs a broad spread of code (XMPP framing and routing, the
# scenario runner, GICE checks, RTP) a little at a time, so it waits on the
# instruction cache and on branches more than on any one function. GCC lays
# out hot and cold code, inlines and predicts branches from a profile far
# better than from guesses: three steps, with Debian's gcc and this
# checkout's Bazel workspace, nothing downloaded.
#   1. An instrumented build (-fprofile-generate).
#   2. Training: `talkcheck fuzz` over every scenario in scenarios/ under each
#      of the reference client's dialects (what campaigns run), which writes
#      the counts.
#   3. The optimised build (-fprofile-use, -flto) of TARGET from those counts.
# The result behaves exactly as `bazel build -c opt //harness:talkcheck`
# (same sources, same campaign results: a profile changes code layout and
# inlining, never semantics); it is only faster. Re-run after changing the
# sources: a stale profile still builds but helps less.
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(//harness:talkcheck)
work=$root/.pgo
train_dir=$work/train-profile
rm -rf "$train_dir"
mkdir -p "$train_dir"

# Both builds share one output tree of their own (--platform_suffix), so
# neither replaces the plain -c opt build's objects, and the paths that GCC
# records in the counts (each object's, and the generated protobuf headers')
# are the same when they are read back. LTO in both, so that the profile's
# functions are the ones the optimised build sees.
suffix=-pgo
common=(-c opt --platform_suffix="$suffix" --copt=-flto=2 --linkopt=-flto=2)

echo "pgo_build: 1/3 instrumented build" >&2
bazel build "${common[@]}" \
  --copt=-fprofile-generate="$train_dir" --copt=-fprofile-update=atomic \
  --linkopt=-fprofile-generate="$train_dir" //harness:talkcheck >&2
bin_dir=$(bazel info "${common[@]}" bazel-bin 2>/dev/null)

echo "pgo_build: 2/3 training on scenarios/*.xml (g1, g2, g3)" >&2
scratch=$(mktemp -d /tmp/talkcheck-pgo-XXXXXX)
trap 'rm -rf "$scratch"' EXIT
campaigns=0
for scenario in scenarios/*.xml; do
  for dialect in g1 g2 g3; do
    # Failing campaigns are part of the workload too (their shrinking), so
    # the exit status is not asked.
    "$bin_dir/harness/talkcheck" fuzz --scenario="$scenario" \
      --dialect="$dialect" --runs=60 --jobs=1 --seed=1 \
      --replay_dir="$scratch" >/dev/null 2>&1 || true
    campaigns=$((campaigns + 1))
  done
done
if ! compgen -G "$train_dir/*.gcda" >/dev/null; then
  echo "pgo_build: training wrote no profile" >&2
  exit 1
fi
echo "pgo_build: $campaigns campaigns of 60 schedules" >&2

# The directory's name carries a digest of the counts, so that new counts
# recompile everything rather than only the sources that changed.
digest=$(cat "$train_dir"/*.gcda | sha256sum | cut -c1-12)
use_dir=$work/profile-$digest
rm -rf "$work"/profile-*
cp -r "$train_dir" "$use_dir"

echo "pgo_build: 3/3 optimised build" >&2
# -fprofile-partial-training: code the training never ran keeps its ordinary
# optimisation instead of being treated as never run (-Os). -Wno-error: the
# profile's inlining lets GCC 12's flow-sensitive warnings see paths that
# cannot run (-Wstringop-overread on string_view::find with npos); the plain
# build, with -Werror, stays the judge of warnings, and they are still shown.
bazel build "${common[@]}" \
  --copt=-fprofile-use="$use_dir" --copt=-fprofile-partial-training \
  --copt=-Wno-missing-profile --copt=-Wno-error \
  --linkopt=-fprofile-use="$use_dir" "${targets[@]}" >&2
for target in "${targets[@]}"; do
  # //pkg:name, or //pkg for //pkg:<last part of pkg>.
  package=${target#//}
  package=${package%%:*}
  if [[ $target == *:* ]]; then name=${target##*:}; else name=${package##*/}; fi
  rm -f "$work/$name"
  cp "$bin_dir/$package/$name" "$work/$name"
  chmod u+w "$work/$name"
  echo "$work/$name"
done
