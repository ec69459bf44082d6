#!/usr/bin/env bash
# talkcheck matrix end to end: the reference client in two configurations and
# with faults, one column each, over a handful of scenarios; the JSON table has
# the expected verdict and §8 quirk in every cell, each column's reports are
# its own, --fail_on_any exits as talkcheck run would, bad columns are refused,
# and an external client (the reference client as a process) is a column too.
#   matrix_test.sh TALKCHECK REFERENCE_CLIENT   (run from the runfiles root)
set -uo pipefail
unset XML_OUTPUT_FILE
talkcheck=$1
reference="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
dir=${TEST_TMPDIR:-$(mktemp -d)}
python=/usr/bin/python3
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
handful=seed-initiate-ack,reject-before-ack,candidate-unknown-channel,callee-g1-basic,accept-codec-subset
columns=(--client=reference --client='pcmu=reference --codecs=PCMU,PCMA'
  --client='faulty=reference --fault=ack-before-reject,lax-candidates,no-candidates')

# 1. The matrix is written, and exit 0 although cells fail.
"$talkcheck" matrix --clock=virtual "${columns[@]}" --filter=$handful \
  --out_dir="$dir/m" scenarios/*.xml >"$dir/out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "matrix exited $rc, want 0: $(tail "$dir/out")"

# 2. Every cell as expected: verdict, warnings, quirks shown / not shown.
"$python" - "$dir/m" <<'PY' || fail "the JSON table is not the expected one"
import json, os, sys
out = sys.argv[1]
m = json.load(open(os.path.join(out, "matrix.json")))
clients = [c["name"] for c in m["clients"]]
assert clients == ["reference", "pcmu", "faulty"], clients
assert [s["name"] for s in m["scenarios"]] == [
    "accept-codec-subset", "callee-g1-basic", "candidate-unknown-channel",
    "reject-before-ack", "seed-initiate-ack"], m["scenarios"]
cells = {(c["client"], c["scenario"]): c for c in m["cells"]}
assert len(cells) == 15, len(cells)
# seed-initiate-ack's candidates before anyone answered are a libjingle habit
# (a profile step): no-candidates only warns there under interop.
failing = {"accept-codec-subset", "callee-g1-basic"}
problems = []
for (client, scenario), cell in cells.items():
    want = "FAIL" if client == "faulty" and scenario in failing else "PASS"
    if cell["verdict"] != want:
        problems.append(f"{client}/{scenario}: {cell['verdict']}, want {want}")
    if not os.path.isfile(os.path.join(out, cell["report"])):
        problems.append(f"{client}/{scenario}: no report {cell['report']}")
def quirks(client, scenario):
    return {q["quirk"]: q["state"] for q in cells[(client, scenario)].get("quirks", [])}
expect = {
    ("reference", "reject-before-ack"): {"8.15": "SHOWN"},
    ("pcmu", "reject-before-ack"): {"8.15": "SHOWN"},
    ("faulty", "reject-before-ack"): {"8.15": "NOT_SHOWN"},
    ("reference", "candidate-unknown-channel"): {"8.5": "SHOWN"},
    ("faulty", "candidate-unknown-channel"): {"8.5": "NOT_SHOWN"},
    # No candidates from the client: its pings meet a peer without them.
    ("faulty", "accept-codec-subset"): {"8.13": "SHOWN"},
    ("reference", "accept-codec-subset"): {},
    ("reference", "seed-initiate-ack"): {},
}
for key, want in expect.items():
    if quirks(*key) != want:
        problems.append(f"{key}: quirks {quirks(*key)}, want {want}")
for scenario in ("reject-before-ack", "seed-initiate-ack"):
    if not cells[("faulty", scenario)].get("warnings"):
        problems.append(f"faulty/{scenario}: no warning")
# Each column ran its own client: pcmu's calls are PCMU, reference's ISAC.
def codec(client):
    r = json.load(open(os.path.join(out, client, "report.json")))
    s = next(s for s in r["scenarios"] if s["name"] == "callee-g1-basic")
    return [st["media"]["codec"] for st in s["steps"] if "media" in st]
if codec("pcmu") != ["PCMU"] or codec("reference") != ["ISAC"]:
    problems.append(f"codecs: pcmu {codec('pcmu')}, reference {codec('reference')}")
for c in m["clients"]:
    if c["name"] == "faulty" and (c["passed"], c["failed"]) != (3, 2):
        problems.append(f"faulty counts {c}")
print("\n".join(problems))
sys.exit(1 if problems else 0)
PY
grep -qE '^reject-before-ack +reference:PASS shows 8.15 +pcmu:PASS shows 8.15 +faulty:PASS$' "$dir/out" \
  || fail "no text table line for reject-before-ack: $(tail "$dir/out")"

# 3. --fail_on_any: the worst column's exit code (a check failed: 1).
"$talkcheck" matrix --clock=virtual --fail_on_any "${columns[@]}" \
  --filter=$handful --out_dir="$dir/any" scenarios/*.xml >"$dir/out" 2>&1
rc=$?
[[ $rc -eq 1 ]] || fail "--fail_on_any exited $rc, want 1"
"$talkcheck" matrix --clock=virtual --fail_on_any --client=reference \
  --filter=$handful --out_dir="$dir/ok" scenarios/*.xml >"$dir/out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "--fail_on_any with every cell passing exited $rc"

# 4. Bad columns are input errors (2): another client than the bundled one
#    through --client, twins, a flag the reference client has not got, a
#    client flag outside a column, no column at all.
bad_matrix() {
  "$talkcheck" matrix --clock=virtual "$@" --filter=seed-initiate-ack \
    --out_dir="$dir/bad" scenarios/*.xml >"$dir/out" 2>&1
  rc=$?
  [[ $rc -eq 2 ]] || fail "matrix $* exited $rc, want 2"
}
bad_matrix --client=gabble
bad_matrix --client=reference --client=reference
bad_matrix '--client=x=reference --jobs=2'
bad_matrix --client=reference --fault=no-ack
bad_matrix

# A quirk tag that names no §8 item: lint and matrix refuse the file.
sed 's/tags="quirk-8.15"/tags="quirk-8.99"/' scenarios/reject-before-ack.xml >"$dir/bad-quirk.xml"
"$talkcheck" lint "$dir/bad-quirk.xml" >"$dir/out" 2>&1
rc=$?
[[ $rc -eq 2 ]] || fail "lint of a quirk-8.99 tag exited $rc, want 2"
grep -q 'quirk-8.99 names no item of PROTOCOL.md' "$dir/out" || fail "lint: no message for quirk-8.99: $(cat "$dir/out")"
"$talkcheck" matrix --clock=virtual --client=reference --out_dir="$dir/bad" \
  "$dir/bad-quirk.xml" >"$dir/out" 2>&1
rc=$?
[[ $rc -eq 2 ]] || fail "matrix over a quirk-8.99 tag exited $rc, want 2"

# 5. On the real clock, an external client is a column beside the bundled one.
ext="ext=$reference --time_scale=0.1 --server={host}:{port} --jid={jid} --password={password}"
"$talkcheck" matrix --time_scale=0.1 --client=reference --client_cmd="$ext" \
  --filter=seed-initiate-ack,reject-before-ack --out_dir="$dir/real" \
  --html="$dir/real.html" --json="$dir/real.json" scenarios/*.xml >"$dir/out" 2>&1
rc=$?
[[ $rc -eq 0 ]] || fail "real-clock matrix exited $rc: $(tail -20 "$dir/out")"
grep -qE '^reject-before-ack +reference:PASS shows 8.15 +ext:PASS shows 8.15$' "$dir/out" \
  || fail "the external column does not show 8.15: $(tail "$dir/out")"
[[ -s "$dir/real/ext/client.log" ]] || fail "no client log for the external column"
grep -q 'href="real/ext/reject-before-ack.html"' "$dir/real.html" \
  || fail "links from --html outside --out_dir do not reach the reports"

[[ $failures -eq 0 ]] || exit 1
echo "matrix_test: OK"
