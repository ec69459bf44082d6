#!/usr/bin/env bash
# The scenario language at run time (issue 10 §1, §3), on the virtual clock
# against the reference client: a one-of takes the branch that matched and
# runs only its steps; a repeat captures afresh each round; a pattern the
# runner cannot evaluate is the scenario's ERROR (exit 2), never a FAIL; lint
# prints warnings with file:line:col and still exits 0.
#   language_run_test.sh TALKCHECK   (run from the runfiles root)
set -uo pipefail
talkcheck=$1
dir=harness/scenario/testdata/run
out=$(mktemp)
json=$(mktemp)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

"$talkcheck" run --clock=virtual --json="$json" "$dir/one_of_second_branch.xml" >"$out" 2>&1
[[ $? -eq 0 ]] || fail "one-of: exit $?: $(cat "$out")"
grep -q 'branch 2 (step 4.b.1, line 15) matched' "$json" || fail "one-of: branch 2 not reported: $(cat "$json")"
# Steps are numbered as the author reads them: the branch's send is 4.b.2.
grep -q '"step_number": *"4.b.2"' "$json" || fail "one-of: the branch's send is not step 4.b.2: $(cat "$json")"
grep -q '"kind": *"jump"' "$json" && fail "one-of: jumps reported as steps"

"$talkcheck" run --clock=virtual "$dir/repeat_fresh_captures.xml" >"$out" 2>&1
[[ $? -eq 0 ]] || fail "repeat: exit $?: $(cat "$out")"

"$talkcheck" run --clock=virtual "$dir/unset_regex_variable.xml" >"$out" 2>&1
rc=$?
[[ $rc -eq 2 ]] || fail "unset regex variable: exit $rc, want 2: $(cat "$out")"
grep -q 'ERROR unset-regex-variable' "$out" || fail "no ERROR verdict: $(cat "$out")"

bad=$(mktemp --suffix=.xml)
cat >"$bad" <<'XML'
<scenario name="w">
  <expect within="1s"><iq id="${sdi}"/></expect>
</scenario>
XML
"$talkcheck" lint "$bad" >"$out" 2>&1
[[ $? -eq 0 ]] || fail "lint with warnings only did not exit 0: $(cat "$out")"
grep -q "$bad:2:31: warning: \${sdi} is a new capture" "$out" || fail "lint: no warning: $(cat "$out")"
echo OK
