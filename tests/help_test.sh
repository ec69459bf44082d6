#!/usr/bin/env bash
# Every binary outside harness/ answers --help with exit 0 and lists every flag
# its main.cc defines, each with a default and a help line, with the true
# defaults (not "0: default").
#   help_test.sh BINARY MAIN_CC [EXPECTED_LINE...]
# Each EXPECTED_LINE must appear in the output as a whole line (after leading
# spaces are stripped), e.g. '--max_stanza_bytes (default: 262144)'.
set -uo pipefail
binary="$1"
main_cc="$2"
shift 2
out="${TEST_TMPDIR:-/tmp}/help.out"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

"$binary" --help >"$out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "--help exited $rc, want 0"
# Read once and matched in bash: a grep and a sed per flag cost ~8 ms of CPU
# each on the 2-core VM, a second for a binary of forty flags.
mapfile -t lines <"$out"
help=$(<"$out")
[[ $help == *"No flags matched"* ]] && fail "--help matched no flags"
[[ $help == *"0: default"* ]] && fail "--help shows a '0: default' placeholder"

# The flags main.cc defines: ABSL_FLAG(TYPE, NAME, ...), possibly over lines.
source=$(<"$main_cc")
source=${source//$'\n'/ }
flags=()
flag_re='ABSL_FLAG\( *[^,]+, *([a-z0-9_]+)(.*)'
while [[ $source =~ $flag_re ]]; do
  flags+=("${BASH_REMATCH[1]}")
  source=${BASH_REMATCH[2]}
done
((${#flags[@]} > 0)) || fail "no ABSL_FLAG found in $main_cc"
for flag in "${flags[@]}"; do
  listed=""
  for ((l = 0; l < ${#lines[@]}; l++)); do
    if [[ ${lines[l]} =~ ^"  --${flag} (default: ".*")"$ ]]; then
      listed=$l
      break
    fi
  done
  if [[ -z $listed ]]; then
    fail "--$flag is not listed with a default"
    continue
  fi
  [[ ${lines[listed + 1]:-} =~ ^"      "[^\ ] ]] || fail "--$flag has no help text"
done

for expected in "$@"; do
  found=""
  for line in "${lines[@]}"; do
    line=${line#"${line%%[! ]*}"}
    [[ $line == "$expected" ]] && found=1 && break
  done
  [[ -n $found ]] || fail "no line: $expected"
done

if [[ $failures -ne 0 ]]; then
  echo "--- $binary --help:" >&2
  cat "$out" >&2
  exit 1
fi
echo "${#flags[@]} flags listed with defaults and help"
