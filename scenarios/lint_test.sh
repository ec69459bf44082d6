#!/usr/bin/env bash
# The library lints clean.
#   lint_test.sh TALKCHECK SCENARIO...
set -euo pipefail
talkcheck="$1"
shift
"$talkcheck" lint "$@"
