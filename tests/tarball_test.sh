#!/usr/bin/env bash
# talkcheck without Bazel (issue 11 §6): the tarball unpacked in an empty
# directory lints and runs the whole scenario library on its own, the binary
# needing nothing but Debian's shared libraries.
#   tarball_test.sh TARBALL
set -uo pipefail
tarball=$1
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/tarball.XXXXXX")
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
tar -C "$dir" -xzf "$tarball" || fail "cannot unpack $tarball"
cd "$dir/talkcheck" || fail "no talkcheck/ in the tarball"
for f in bin/talkcheck README.md docs/fuzzing.md scenarios/README.md scenarios/callee-g1-basic.xml; do
  [[ -e $f ]] || fail "$f missing from the tarball"
done
# Only system libraries: nothing from the build tree.
ldd bin/talkcheck | grep -E 'not found|bazel-out|execroot' && fail "the binary needs the build tree"
unset XML_OUTPUT_FILE TEST_UNDECLARED_OUTPUTS_DIR
bin/talkcheck lint scenarios/*.xml >lint.out 2>&1 || fail "lint: $(tail lint.out)"
bin/talkcheck run --clock=virtual --filter=-relay-media scenarios/*.xml >run.out 2>&1 \
  || fail "the library did not pass: $(tail -20 run.out)"
grep -qE '^[0-9]+ passed, 0 failed, 0 errors' run.out || fail "$(tail -3 run.out)"
bin/talkcheck run --time_scale=0.1 --filter=callee-g1-basic scenarios/*.xml >real.out 2>&1 \
  || fail "a real-socket run failed: $(tail -20 real.out)"
echo "tarball_test: OK ($(grep -E ' passed, ' run.out))"
