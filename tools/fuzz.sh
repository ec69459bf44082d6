#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/fuzz.bzl; tag "fuzzer") with --config=fuzz
# (Debian's clang, ASan + UBSan) and runs each for SECONDS (default 30), one after the
# other, each from its checked-in seed corpus plus a working corpus that persists
# between runs. Prints one line per target (executions, exec/s, new corpus inputs)
# and any finding with the path of its input; exits 1 if any target found something.
#
#   tools/fuzz.sh [SECONDS] [TARGET_PATTERN...]
#   tools/fuzz.sh 600 //xmpp:element_fuzzer
#
# FUZZ_SEED (default: libFuzzer picks one) fixes libFuzzer's random seed; with a fresh
# FUZZ_WORKDIR the run then explores the same inputs on every machine, as CI does.
# FUZZ_WORKDIR (default /tmp/talkcheck-fuzz) holds the working corpora, the logs and
# the findings (<target>/crash-*, ...). Keep a finding as a regression input by
# copying it into the target's testdata/fuzz/<target>/ folder, where the gcc corpus
# test (<target>_corpus_test) replays it in every bazel test //....
set -uo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
shift || true
workdir=${FUZZ_WORKDIR:-/tmp/talkcheck-fuzz}
mkdir -p "$workdir"

if (($# > 0)); then
  targets=("$@")
else
  mapfile -t targets < <(bazel query --noshow_progress 'attr(tags, "\bfuzzer\b", //...)' 2>/dev/null)
fi
if ((${#targets[@]} == 0)); then
  echo "fuzz.sh: no fuzz targets found" >&2
  exit 2
fi

bazel build --config=fuzz --curses=no --color=no --show_progress_rate_limit=30 \
  "${targets[@]}" 2>&1 | grep -v "Cannot export local symbol" ||
  true
bin=$(bazel info --config=fuzz bazel-bin 2>/dev/null)

seed_flag=()
if [[ -n ${FUZZ_SEED:-} ]]; then
  seed_flag=(-seed="$FUZZ_SEED")
fi

findings=0
printf '%-32s %12s %10s %8s  %s\n' target executions exec/s corpus result
for target in "${targets[@]}"; do
  pkg=${target#//}
  pkg=${pkg%%:*}
  name=${target##*:}
  binary="$bin/$pkg/$name"
  if [[ ! -x "$binary" ]]; then
    echo "fuzz.sh: $target did not build" >&2
    findings=$((findings + 1))
    continue
  fi
  corpus="$workdir/$name/corpus"
  artifacts="$workdir/$name/"
  mkdir -p "$corpus"
  log="$workdir/$name/log"
  # -timeout: one input running 10 s is a hang; -rss_limit_mb: ASan's overhead
  # included. The seeds are read, never written; new inputs go to $corpus.
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$binary" "${seed_flag[@]}" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$artifacts" \
    "$corpus" "$pkg/testdata/fuzz/$name" >"$log" 2>&1
  rc=$?
  execs=$(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$log" | tail -n 1)
  rate=$(sed -nE 's/^stat::average_exec_per_sec: *([0-9]+)/\1/p' "$log" | tail -n 1)
  size=$(find "$corpus" -type f | wc -l)
  if ((rc == 0)); then
    result=ok
  else
    findings=$((findings + 1))
    artifact=$(sed -nE 's/.*Test unit written to (.*)$/\1/p' "$log" | tail -n 1)
    result="FINDING (exit $rc): ${artifact:-see $log}"
  fi
  printf '%-32s %12s %10s %8s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "$size" "$result"
  if ((rc != 0)); then
    grep -m 1 -E 'FUZZ_CHECK|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error' "$log" |
      sed 's/^/    /'
  fi
done

if ((findings > 0)); then
  echo "fuzz.sh: $findings target(s) with findings; logs and inputs in $workdir"
  exit 1
fi
echo "fuzz.sh: no findings"
