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
grep -q "No flags matched" "$out" && fail "--help matched no flags"
grep -q "0: default" "$out" && fail "--help shows a '0: default' placeholder"

# The flags main.cc defines: ABSL_FLAG(TYPE, NAME, ...), possibly over lines.
flags=$(tr '\n' ' ' <"$main_cc" | grep -oE 'ABSL_FLAG\( *[^,]+, *[a-z0-9_]+' | sed 's/.*, *//')
[[ -n "$flags" ]] || fail "no ABSL_FLAG found in $main_cc"
for flag in $flags; do
  line=$(grep -nE "^  --${flag} \(default: .*\)$" "$out" | cut -d: -f1)
  if [[ -z "$line" ]]; then
    fail "--$flag is not listed with a default"
    continue
  fi
  sed -n "$((line + 1))p" "$out" | grep -qE '^      [^ ]' \
    || fail "--$flag has no help text"
done

for expected in "$@"; do
  sed 's/^ *//' "$out" | grep -qxF -- "$expected" || fail "no line: $expected"
done

if [[ $failures -ne 0 ]]; then
  echo "--- $binary --help:" >&2
  cat "$out" >&2
  exit 1
fi
echo "$(wc -w <<<"$flags") flags listed with defaults and help"
