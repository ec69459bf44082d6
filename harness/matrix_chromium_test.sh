#!/usr/bin/env bash
# talkcheck matrix --html in a real browser: headless Chromium (Debian's
# chromium) loads the table of three reference client configurations over a
# few scenarios, written apart from its reports; the DOM has one cell per
# client and scenario, the failing cells and the §8 quirks marked, every link
# reaches a file, and a linked report opens with its sequence chart. A
# screenshot is kept as a test output.
#   matrix_chromium_test.sh TALKCHECK   (run from the runfiles root)
set -uo pipefail
talkcheck=$1
source harness/headless_chromium.sh
dir=${TEST_TMPDIR:-$(mktemp -d)}
outputs=${TEST_UNDECLARED_OUTPUTS_DIR:-$dir}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
unset XML_OUTPUT_FILE

mkdir -p "$dir/page"
"$talkcheck" matrix --clock=virtual --client=reference \
  --client='pcmu=reference --codecs=PCMU,PCMA' \
  --client='faulty=reference --fault=ack-before-reject,no-candidates' \
  --filter=seed-initiate-ack,reject-before-ack,callee-g1-basic \
  --out_dir="$dir/reports" --html="$dir/page/matrix.html" --json="$dir/matrix.json" \
  scenarios/*.xml >"$dir/out" 2>&1 || fail "matrix exited $?: $(tail "$dir/out")"

chromium_start "$dir"
chromium_page "file://$dir/page/matrix.html" "$dir/dom.html" "$outputs/matrix.png" 1200 900 \
  || fail "chromium could not load the matrix: $(tail "$chromium_log")"
[[ -s "$outputs/matrix.png" ]] || fail "no screenshot: $(tail "$chromium_log")"

grep -q '<table class="matrix">' "$dir/dom.html" || fail "no matrix table in the DOM"
cells=$(grep -o '<td class="cell [a-z]*"' "$dir/dom.html" | wc -l)
((cells == 9)) || fail "$cells cells, want 3 clients x 3 scenarios"
failed=$(grep -o '<td class="cell fail"[^>]*data-client="faulty"' "$dir/dom.html" | wc -l)
# seed-initiate-ack only warns: its candidates step is a libjingle habit.
((failed == 1)) || fail "$failed failing cells of faulty, want 1 (callee-g1-basic)"
grep -q '<td class="cell pass" data-client="reference" data-scenario="reject-before-ack"' "$dir/dom.html" \
  || fail "reference's reject-before-ack cell is not a pass"
grep -q 'data-scenario="reject-before-ack" data-verdict="PASS"[^>]*><a class="report" href="[^"]*">PASS</a><span class="quirk shown" data-quirk="8.15"' "$dir/dom.html" \
  || fail "no 'shows 8.15' in reject-before-ack's cells"
grep -q '<tr data-quirk="8.15">' "$dir/dom.html" || fail "no row for quirk 8.15"

# Every link reaches a file, relative to the page.
links=0
while read -r href; do
  [[ -f "$dir/page/$href" ]] || fail "link $href reaches nothing"
  links=$((links + 1))
done < <(grep -o 'href="[^"#]*"' "$dir/dom.html" | sed 's/^href="//; s/"$//')
((links == 9 + 3 * 2)) || fail "$links links, want one per cell and two per client"

# A failing cell's link opens that run's report, its failure marked.
href=$(grep -o '<td class="cell fail" data-client="faulty" data-scenario="callee-g1-basic"[^>]*><a class="report" href="[^"]*"' "$dir/dom.html" \
  | sed 's/.*href="//; s/"$//')
[[ -n "$href" ]] || fail "no link in faulty's callee-g1-basic cell"
chromium_page "file://$(cd "$dir/page" && realpath "$href")" "$dir/report.html" \
  || fail "chromium could not load $href"
grep -q 'class="scenario fail"' "$dir/report.html" || fail "$href: the scenario is not marked failed"
grep -q 'class="lane"[^>]*>client under test<' "$dir/report.html" || fail "$href: no sequence chart"

echo "matrix_chromium_test: OK ($cells cells, $links links, screenshot $outputs/matrix.png)"
