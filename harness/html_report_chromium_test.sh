#!/usr/bin/env bash
# talkcheck run --html, opened in a real browser: headless Chromium (Debian's
# chromium) loads the report of a failing scenario; its DOM has the three
# lanes, one arrow per stanza of the transcript, and the failing step marked;
# a screenshot is kept as a test output. The report of a passing call has its
# codec, its candidate pair and plots of packets per second each way, loss and
# jitter with plausible values (ISAC's 30 ms frames: about 33 pps). A fuzz
# campaign's report counts the schedules run and the violations by oracle and
# draws the shrunk schedule as a timeline with its perturbation marked.
#   html_report_chromium_test.sh TALKCHECK   (run from the runfiles root)
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

# The three reports are independent: the passing call's and the campaign's are
# made while the first is checked.
"$talkcheck" run --clock=virtual --filter=callee-g1-basic \
  --html="$dir/media.html" scenarios/*.xml >"$dir/media.out" 2>&1 &
media_run=$!
"$talkcheck" fuzz --fault=drop-early-candidates --scenario=scenarios/callee-g1-basic.xml --runs=50 \
  --replay_dir="$dir" --html="$dir/fuzz.html" >"$dir/fuzz.out" 2>&1 &
fuzz_run=$!
background_pids+=("$media_run" "$fuzz_run")

"$talkcheck" run --clock=virtual --fault=no-ack --filter=seed-initiate-ack \
  --html="$dir/report.html" --json="$dir/report.json" scenarios/*.xml >"$dir/out" 2>&1
[[ $? -eq 1 ]] || fail "the no-ack run did not fail: $(tail "$dir/out")"

chromium_start "$dir"
# browse FILE DOM_OUT [PNG_OUT WIDTH HEIGHT]
browse() {
  local file=$1
  shift
  chromium_page "file://$dir/$file" "$@"
}
browse report.html "$dir/dom.html" "$outputs/report.png" 1100 1400 ||
  fail "chromium could not load the report: $(tail "$chromium_log")"

for lane in '>peer<' '>fake server<' '>client under test<'; do
  grep -q "class=\"lane\"[^>]*$lane" "$dir/dom.html" || fail "no lane $lane in the DOM"
done
stanzas=$(grep -c '"direction":' "$dir/report.json")
arrows=$(grep -o 'class="arrow"' "$dir/dom.html" | wc -l)
((stanzas > 0 && arrows == stanzas)) || fail "$arrows arrows for $stanzas stanzas"
grep -q 'class="step fail" data-step="3"' "$dir/dom.html" || fail "the failing step is not marked"
grep -q 'class="scenario fail"' "$dir/dom.html" || fail "the scenario is not marked failed"
grep -q '<details class="stanza"><summary>' "$dir/dom.html" || fail "arrows cannot be expanded"
[[ -s "$outputs/report.png" ]] || fail "no screenshot: $(tail "$chromium_log")"

wait $media_run || fail "callee-g1-basic did not pass: $(tail "$dir/media.out")"
browse media.html "$dir/media-dom.html" "$outputs/media.png" 1100 1600 ||
  fail "chromium could not load the media report"
grep -q '<b class="codec">ISAC/103</b>' "$dir/media-dom.html" || fail "no codec shown"
grep -Eq '<b class="local">127\.0\.0\.1:[0-9]+ local gen 0</b>' "$dir/media-dom.html" || fail "no local candidate shown"
grep -Eq '<b class="remote">127\.0\.0\.1:[0-9]+ local gen 0</b>' "$dir/media-dom.html" || fail "no remote candidate shown"
# values PLOT SERIES-INDEX: the data-values of that series of that plot.
values() {
  sed -n "s/.*data-plot=\"$1\"//p" "$dir/media-dom.html" | grep -o 'data-values="[^"]*"' |
    sed -n "${2}p" | sed 's/data-values="\(.*\)"/\1/'
}
for series in 1 2; do
  pps=$(values pps $series)
  [[ -n $pps ]] || fail "no packets-per-second series $series"
  echo "$pps" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; m = s / NF; exit !(NF >= 8 && m > 25 && m < 45) }' ||
    fail "implausible packets per second (series $series): $pps"
done
loss=$(values loss 1)
echo "$loss" | awk '{ for (i = 1; i <= NF; i++) if ($i > 1) exit 1; exit !(NF >= 8) }' || fail "implausible loss: $loss"
jitter=$(values jitter 1)
echo "$jitter" | awk '{ for (i = 1; i <= NF; i++) if ($i < 0 || $i > 20) exit 1; exit !(NF >= 8) }' ||
  fail "implausible jitter: $jitter"
wait $fuzz_run
[[ $? -eq 1 ]] || fail "the campaign against drop-early-candidates found nothing: $(tail "$dir/fuzz.out")"
browse fuzz.html "$dir/fuzz-dom.html" "$outputs/fuzz.png" 1000 900 || fail "chromium could not load the fuzz report"
grep -q '<td class="runs">50</td>' "$dir/fuzz-dom.html" || fail "the fuzz report does not count 50 schedules"
grep -Eq '<g class="oracle" data-oracle="scenario-expectation" data-count="[1-9]' "$dir/fuzz-dom.html" ||
  fail "no violations of scenario-expectation by oracle"
grep -q '<svg class="timeline" data-oracle="scenario-expectation"' "$dir/fuzz-dom.html" || fail "no timeline of the shrunk schedule"
grep -q '<g class="perturbation" data-kind="' "$dir/fuzz-dom.html" || fail "no perturbation on the timeline"
bars=$(grep -o 'class="step-bar' "$dir/fuzz-dom.html" | wc -l)
((bars >= 5)) || fail "only $bars steps on the timeline"
grep -q 'class="step-bar tl-fail"' "$dir/fuzz-dom.html" || fail "the failing step is not marked on the timeline"
echo "html_report_chromium_test: OK ($arrows arrows, screenshots report.png, media.png, fuzz.png in $outputs)"
