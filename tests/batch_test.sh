#!/usr/bin/env bash
# Runs many tests as one Bazel test (test_batch in tests/batch.bzl): each
# member is the command its own target runs, in its own directory, `jobs` at
# a time, and the batch passes when every member does. Bazel's per-test cost
# (its test-setup.sh, the XML, the sandbox: ~0.3-0.75 s of CPU per target on
# the 2-core VM) is then paid once per shard instead of once per member.
#   batch_test.sh JOBS --member=NAME COMMAND ARGS... --member=NAME COMMAND ARGS...
# Under sharding (TEST_TOTAL_SHARDS), shard i runs members i, i+N, i+2N, ...
# A failing member's output and outputs land in TEST_UNDECLARED_OUTPUTS_DIR/NAME/
# (a passing one's are dropped: Bazel's test-setup.sh runs `file` and `stat`
# on every undeclared output, which for ~100 members cost more CPU than the
# members); XML_OUTPUT_FILE gets one JUnit testcase per member.
set -uo pipefail
jobs=$1
shift

all=("$@")
names=()
firsts=() # member i's arguments: all[firsts[i]] .. all[firsts[i + 1] - 2]
for ((a = 0; a < ${#all[@]}; a++)); do
  if [[ ${all[a]} == --member=* ]]; then
    names+=("${all[a]#--member=}")
    firsts+=($((a + 1)))
  fi
done
firsts+=($((${#all[@]} + 1)))

shard=${TEST_SHARD_INDEX:-0}
shards=${TEST_TOTAL_SHARDS:-1}
[[ -n ${TEST_SHARD_STATUS_FILE:-} ]] && touch "$TEST_SHARD_STATUS_FILE"
work=$(mktemp -d "${TEST_TMPDIR:-/tmp}/members.XXXXXX")
outputs=${TEST_UNDECLARED_OUTPUTS_DIR:-$work}
results=$work/.results
mkdir -p "$results"

# Each member sees the environment Bazel gives a test of its own, with its own
# directories and files (GoogleTest's premature-exit file included), unsharded.
# run_member runs in a subshell of its own (&), so its exports stay its own.
package=${TEST_TARGET:-//batch:batch}
package=${package%:*}
run_member() {
  local i=$1 dir="$work/${names[$1]}" start=$SECONDS rc
  local -a command=("${all[@]:${firsts[i]}:$((firsts[i + 1] - 1 - firsts[i]))}")
  unset TEST_SHARD_INDEX TEST_TOTAL_SHARDS TEST_SHARD_STATUS_FILE GTEST_SHARD_INDEX GTEST_TOTAL_SHARDS
  export TEST_UNDECLARED_OUTPUTS_DIR=$dir TEST_TMPDIR=$dir GTEST_TMP_DIR=$dir \
    XML_OUTPUT_FILE=$dir/junit.xml TEST_PREMATURE_EXIT_FILE=$dir/premature_exit \
    TEST_TARGET=$package:${names[i]}
  "${command[@]}" >"$dir/test.log" 2>&1 </dev/null
  rc=$?
  echo "$rc $((SECONDS - start))" >"$results/$i"
}

mine=()
dirs=()
for ((i = shard; i < ${#names[@]}; i += shards)); do
  mine+=("$i")
  dirs+=("$work/${names[i]}")
done
((${#dirs[@]} == 0)) || mkdir -p "${dirs[@]}"
running=0
for i in "${mine[@]}"; do
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  run_member "$i" &
  running=$((running + 1))
done
wait

failed=0
cases=""
for i in "${mine[@]}"; do
  name=${names[$i]}
  read -r rc seconds <"$results/$i" 2>/dev/null || { rc=125 seconds=0; }
  if [[ $rc -eq 0 ]]; then
    echo "PASS  $name (${seconds} s)"
    cases+="<testcase name=\"$name\" classname=\"${TEST_TARGET:-batch}\" time=\"$seconds\"/>"
  else
    failed=$((failed + 1))
    echo "FAIL  $name (exit $rc, ${seconds} s; its own target: bazel test $package:$name)"
    sed 's/^/    /' "$work/$name/test.log"
    [[ $outputs != "$work" ]] && cp -r "$work/$name" "$outputs/"
    tail=$(tail -c 4000 "$work/$name/test.log" | sed 's/]]>/]]]]><![CDATA[>/g')
    cases+="<testcase name=\"$name\" classname=\"${TEST_TARGET:-batch}\" time=\"$seconds\">"
    cases+="<failure message=\"exit $rc\"><![CDATA[$tail]]></failure></testcase>"
  fi
done
rm -rf "$work"
if [[ -n ${XML_OUTPUT_FILE:-} ]]; then
  printf '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites><testsuite name="%s" tests="%d" failures="%d">%s</testsuite></testsuites>\n' \
    "${TEST_TARGET:-batch}" "${#mine[@]}" "$failed" "$cases" >"$XML_OUTPUT_FILE"
fi
echo "${#mine[@]} members, $failed failed (shard $((shard + 1)) of $shards)"
((failed == 0))
