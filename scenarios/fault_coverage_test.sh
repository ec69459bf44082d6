#!/usr/bin/env bash
# Fails when the reference client has a fault switch that no test proves.
#   fault_coverage_test.sh REFERENCE_CLIENT PROVEN_FAULTS_FILE
set -euo pipefail
known=$("$1" --list_faults | sort)
proven=$(sort "$2")
missing=$(comm -23 <(echo "$known") <(echo "$proven"))
stale=$(comm -13 <(echo "$known") <(echo "$proven"))
if [[ -n "$missing" ]]; then
  echo "faults with no proof in scenarios/BUILD.bazel:" $missing >&2
  exit 1
fi
if [[ -n "$stale" ]]; then
  echo "proofs for faults the reference client does not know:" $stale >&2
  exit 1
fi
echo "$(echo "$known" | wc -l) faults, each with a proof"
