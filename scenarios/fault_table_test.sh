#!/usr/bin/env bash
# Fails when the fault catalogue (`reference_client --list_faults`, from
# reference_client/faults.cc) and the proofs in scenarios/BUILD.bazel
# (FAULT_PROOFS, FUZZ_PROOFS) disagree: a fault with no proof, a proof of a
# fault the client does not know, or a catalogue naming another scenario.
#   fault_table_test.sh REFERENCE_CLIENT FAULT_PROOFS_FILE
set -euo pipefail
listing=$("$1" --list_faults)

# Every fault has a description line.
undescribed=$(awk 'NR > 1 && /^[a-z]/ { name = $1; getline; if ($0 !~ /^    [^ ]/) print name }' \
  <<<"$listing")
if [[ -n "$undescribed" ]]; then
  echo "faults without a description in --list_faults:" $undescribed >&2
  exit 1
fi

# "NAME<TAB>proof: ..." per proof line of the listing, as fault_proofs.txt has it.
catalogue=$(awk 'NR > 1 && /^[a-z]/ { name = $1 }
  /^    (fuzz )?proof: / { sub(/^    /, ""); print name "\t" $0 }' <<<"$listing" | sort)
build=$(sort "$2")
if [[ "$catalogue" != "$build" ]]; then
  echo "reference_client --list_faults and scenarios/BUILD.bazel disagree" >&2
  echo "(< only in the catalogue, reference_client/faults.cc; > only in BUILD.bazel):" >&2
  diff <(echo "$catalogue") <(echo "$build") >&2 || true
  exit 1
fi
faults=$(awk 'NR > 1 && /^[a-z]/' <<<"$listing" | wc -l)
proven=$(cut -f1 <<<"$catalogue" | sort -u | wc -l)
if [[ "$faults" -ne "$proven" ]]; then
  echo "$faults faults listed, $proven with a proof" >&2
  exit 1
fi
echo "$faults faults, each described and proven as scenarios/BUILD.bazel says"
