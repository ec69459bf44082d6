#!/usr/bin/env bash
# Runs a test_batch of Chromium tests (//harness:chromium_tests) with one
# headless Chromium for all of them: each test's chromium_start finds it
# through TALKCHECK_CHROMIUM_PROFILE (its stderr through
# TALKCHECK_CHROMIUM_LOG), and its pages open in tabs of their own.
# Three browser starts were ~4 s of the suite's CPU (5 Dec 2026). The tests
# start while the browser does (it took ~20 s under the full suite's load) and
# wait for it when they first need a page.
#   chromium_batch.sh BATCH_TEST_SH BATCH ARGS...   (from the runfiles root)
set -uo pipefail
batch_test=$1
shift
source harness/headless_chromium.sh
dir=$(mktemp -d "${TEST_TMPDIR:-/tmp}/chromium.XXXXXX")
chromium_launch "$dir"
TALKCHECK_CHROMIUM_PROFILE=$chromium_profile TALKCHECK_CHROMIUM_LOG=$chromium_log bash "$batch_test" "$@"
