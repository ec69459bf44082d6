// The expects of ScenarioRunner: expect, any-order and expect-none steps
// against the peer's inbox, their timeouts and failure reports, and
// background expects.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "harness/peer/media_loopback.h"
#include "harness/peer/peer.h"
#include "harness/run/runner_impl.h"
#include "harness/scenario/matcher.h"
#include "harness/scenario/text_cache.h"
#include "harness/scenario/variables.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {

using xmpp::Element;
namespace ns = xmpp::ns;

namespace {

// How a step's expect matches, wherever it is matched (the wait, the
// report's nearest stanza, the late, early and order notes): a note must
// never call matching what the step itself would not take.
MatchOptions OptionsOf(const Step& step) {
  MatchOptions options;
  if (step.has_expect()) {
    options.exact = step.expect().exact();
    options.exact_children = step.expect().exact_children();
  }
  return options;
}

}  // namespace

void ScenarioRunner::Impl::SetStepStanza(StepResult& record,
                                         const Element& stanza) const {
  if (options_.stanza_text) record.set_stanza(stanza.ToString());
}

std::shared_ptr<const Element> ScenarioRunner::Impl::ParsePattern(
    const std::string& text) {
  // Parsing each step's pattern as it started was a twentieth of a fuzz
  // schedule's work.
  thread_local TextCache<absl::StatusOr<Element>> patterns;
  std::shared_ptr<const absl::StatusOr<Element>> pattern =
      patterns.Get(text, [&] { return xmpp::ParseElement(text); });
  if (!pattern->ok()) {
    StepError(absl::StrCat("the expected pattern is not valid XML: ",
                           pattern->status().message()));
    return nullptr;
  }
  // Shares the cache entry's ownership.
  return std::shared_ptr<const Element>(pattern, &**pattern);
}

void ScenarioRunner::Impl::StartExpect(const Step& step) {
  if (step.expect().background()) return StartBackgroundExpect(step);
  pending_.clear();
  std::shared_ptr<const Element> pattern =
      ParsePattern(step.expect().pattern());
  if (!pattern) return;
  pending_.push_back(PendingExpect{&step, std::move(pattern)});
  expect_inbox_start_ = inbox_->size();
  waiting_ = Wait::kExpect;
  step_timer_ = clock_.CallAfter(Ms(step.expect().within().ms()),
                                 [this] { ExpectTimedOut(); });
  CheckInbox();
}

void ScenarioRunner::Impl::StartAnyOrder(const Step& step) {
  pending_.clear();
  for (const Step& inner : step.any_order().steps()) {
    std::shared_ptr<const Element> pattern =
        ParsePattern(inner.expect().pattern());
    if (!pattern) return;
    pending_.push_back(PendingExpect{&inner, std::move(pattern)});
  }
  expect_inbox_start_ = inbox_->size();
  waiting_ = Wait::kExpect;
  step_timer_ = clock_.CallAfter(Ms(step.any_order().within().ms()),
                                 [this] { ExpectTimedOut(); });
  CheckInbox();
}

void ScenarioRunner::Impl::StartOneOf(const Step& step) {
  pending_.clear();
  for (const OneOfStep::Branch& branch : step.one_of().branches()) {
    std::shared_ptr<const Element> pattern =
        ParsePattern(branch.first().expect().pattern());
    if (!pattern) return;
    pending_.push_back(PendingExpect{&branch.first(), std::move(pattern)});
  }
  one_of_ = true;
  waiting_ = Wait::kExpect;
  step_timer_ = clock_.CallAfter(Ms(step.one_of().within().ms()),
                                 [this] { ExpectTimedOut(); });
  CheckInbox();
}

void ScenarioRunner::Impl::CheckOneOf() {
  // The oldest stanza that matches any branch decides; among branches it
  // matches, the first in the file. A branch with to="any" looks at
  // everything the client sent, the others at the one-of's peer: arrival
  // times order the two.
  struct Choice {
    size_t branch;
    Inbox* inbox;
    size_t index;
  };
  std::optional<Choice> choice;
  for (size_t b = 0; b < pending_.size(); ++b) {
    const Step& first = *pending_[b].step;
    Inbox& inbox = first.expect().any_address() ? client_out_ : *inbox_;
    const MatchOptions options = OptionsOf(first);
    for (size_t i = 0; i < inbox.size(); ++i) {
      if (inbox[i].consumed) continue;
      if (choice && inbox[i].time >= (*choice->inbox)[choice->index].time)
        break;
      Variables scratch = vars_;  // only the chosen branch captures
      MatchResult match =
          Match(*pending_[b].pattern, inbox[i].stanza, scratch, options);
      if (!match.error.empty()) {
        waiting_ = Wait::kNone;
        return StepError(match.error);
      }
      if (!match.matched) continue;
      choice = Choice{b, &inbox, i};
      break;
    }
  }
  if (!choice) return;
  const Step& first = *pending_[choice->branch].step;
  Inbox& inbox = *choice->inbox;
  const size_t i = choice->index;
  Match(*pending_[choice->branch].pattern, inbox[i].stanza, vars_,
        OptionsOf(first));
  inbox[i].consumed = true;
  if (!first.label().empty())
    matched_at_[first.label()] = MatchedAt{&inbox, i, inbox[i].time};
  SetStepStanza(*current_, inbox[i].stanza);
  waiting_ = Wait::kNone;
  one_of_ = false;
  step_timer_.reset();
  FinishStepRecord(
      PASS, absl::StrCat("branch ", choice->branch + 1, " (",
                         first.number().empty()
                             ? ""
                             : absl::StrCat("step ", first.number(), ", "),
                         "line ", first.location().line(), ") matched after ",
                         Pretty(clock_.Now() - step_start_)));
  pc_ =
      labels_.at(scenario_.steps(pc_).one_of().branches(choice->branch).then());
  ContinueSoon();
}

void ScenarioRunner::Impl::StartExpectNone(const ExpectNoneStep& none) {
  pending_.clear();
  if (!none.pattern().empty()) {
    std::shared_ptr<const Element> pattern = ParsePattern(none.pattern());
    if (!pattern) return;
    pending_.push_back(PendingExpect{nullptr, std::move(pattern)});
  }
  waiting_ = Wait::kExpectNone;
  inbox_mark_ = inbox_->size();
  step_timer_ =
      clock_.CallAfter(Ms(none.period().ms()), [this] { StepDone(PASS, ""); });
}

size_t ScenarioRunner::Impl::AfterPosition(const std::string& label,
                                           const Inbox& inbox) const {
  auto anchor = matched_at_.find(label);
  if (anchor == matched_at_.end()) return 0;
  if (anchor->second.inbox == &inbox) return anchor->second.index + 1;
  // Labelled on another inbox (a peer's, or everything the client sent):
  // the stanzas that arrived later.
  size_t i = 0;
  while (i < inbox.size() && inbox[i].time <= anchor->second.time) ++i;
  return i;
}

void ScenarioRunner::Impl::OnInboxChanged() {
  // First, before a later step consumes what came late.
  CheckLate();
  if (finished_ || !ready_) return;
  CheckBackground();
  if (finished_) return;
  if (waiting_ == Wait::kExpect) CheckInbox();
  if (waiting_ == Wait::kExpectNone) CheckForbidden();
}

void ScenarioRunner::Impl::CheckInbox() {
  if (one_of_) return CheckOneOf();
  auto& inbox = *inbox_;
  for (PendingExpect& expect : pending_) {
    if (expect.matched) continue;
    const ExpectStep& spec = expect.step->expect();
    const MatchOptions options = OptionsOf(*expect.step);
    // `after`: only stanzas that arrived after the one the labelled step
    // matched.
    const size_t first =
        spec.after().empty() ? 0 : AfterPosition(spec.after(), inbox);
    for (size_t i = first; i < inbox.size(); ++i) {
      auto& received = inbox[i];
      if (received.consumed) continue;
      MatchResult match =
          Match(*expect.pattern, received.stanza, vars_, options);
      if (!match.error.empty()) {
        waiting_ = Wait::kNone;
        return StepError(match.error);
      }
      if (match.matched) {
        received.consumed = true;
        expect.matched = true;
        if (!expect.step->label().empty()) {
          matched_at_[expect.step->label()] =
              MatchedAt{&inbox, i, received.time};
        }
        if (pending_.size() == 1) SetStepStanza(*current_, received.stanza);
        break;
      }
      // With `next`, only the oldest unconsumed stanza of the pattern's kind
      // (iq, message, presence) may match: order among iqs is checked, while
      // an unrelated presence does not get in the way.
      if (spec.next() && received.stanza.name() == expect.pattern->name())
        break;
    }
  }
  if (std::all_of(pending_.begin(), pending_.end(),
                  [](const PendingExpect& e) { return e.matched; })) {
    waiting_ = Wait::kNone;
    step_timer_.reset();
    StepDone(PASS, absl::StrCat("matched after ",
                                Pretty(clock_.Now() - step_start_)));
  }
}

void ScenarioRunner::Impl::CheckForbidden() {
  auto& inbox = *inbox_;
  for (size_t i = inbox_mark_; i < inbox.size(); ++i) {
    const Element& stanza = inbox[i].stanza;
    bool forbidden = pending_.empty();
    if (!forbidden) {
      Variables scratch = vars_;  // expect-none never captures
      MatchResult match = Match(*pending_.front().pattern, stanza, scratch);
      if (!match.error.empty()) {
        waiting_ = Wait::kNone;
        return StepError(match.error);
      }
      forbidden = match.matched;
    }
    if (forbidden) {
      waiting_ = Wait::kNone;
      step_timer_.reset();
      SetStepStanza(*current_, stanza);
      return StepFailed(absl::StrCat("a forbidden stanza arrived after ",
                                     Pretty(inbox[i].time - step_start_)),
                        PrettyPrint(stanza));
    }
  }
  inbox_mark_ = inbox.size();
}

std::optional<Element> ScenarioRunner::Impl::ExpandedPattern(
    const Step& step) const {
  Variables shown = vars_;
  for (const std::string& name : ReferencedVariables(step.expect().pattern())) {
    if (shown.Get(name) == nullptr)
      shown.Set(name, absl::StrCat("${", name, "}"));
  }
  absl::StatusOr<std::string> text =
      shown.Substitute(step.expect().pattern(), /*escape_xml=*/true);
  if (!text.ok()) return std::nullopt;
  absl::StatusOr<Element> pattern = xmpp::ParseElement(*text);
  if (!pattern.ok()) return std::nullopt;
  return *std::move(pattern);
}

namespace {

// "${sid} = 1234, ${iq} = abc": the values a pattern's variables had.
std::string VariableValues(const std::string& pattern, const Variables& vars) {
  std::vector<std::string> shown;
  for (const std::string& name : ReferencedVariables(pattern)) {
    const std::string* value = vars.Get(name);
    shown.push_back(value != nullptr
                        ? absl::StrCat("${", name, "} = '", *value, "'")
                        : absl::StrCat("${", name, "} unset (captures)"));
  }
  return absl::StrJoin(shown, ", ");
}

// The value of `id` in a pattern when it is a literal (no capture, wildcard
// or regex): the id the client's stanza must carry.
std::optional<std::string> LiteralId(const Element& pattern) {
  const std::string* id = pattern.Attr("id");
  if (id == nullptr || id->empty() || *id == "*" ||
      absl::StrContains(*id, "${") ||
      (id->size() >= 2 && id->front() == '/' && id->back() == '/')) {
    return std::nullopt;
  }
  return *id;
}

}  // namespace

void ScenarioRunner::Impl::ExpectTimedOut() {
  waiting_ = Wait::kNone;
  std::string diff;
  std::vector<std::string> missing;
  const auto& inbox = *inbox_;
  for (const PendingExpect& expect : pending_) {
    if (expect.matched) continue;
    missing.push_back(PrettyPrint(*expect.pattern));
    if (!diff.empty()) continue;
    const ExpectStep& spec = expect.step->expect();
    const MatchOptions options = OptionsOf(*expect.step);
    std::optional<Element> shown = ExpandedPattern(*expect.step);
    const Element& pattern = shown ? *shown : *expect.pattern;
    // The nearest stanza: with a literal id in the pattern, the best-scoring
    // unconsumed stanza that carries it (whenever it came); else, or when
    // none does, the best-scoring one that arrived since the step began.
    // Stanzas from before the step (a disco get answered long ago) say
    // little about what the step waited for, so one of them is shown only
    // when it comes nearer than anything since, and said to be earlier: the
    // step takes them too (a client's candidates sent while it rang, before
    // its user answered).
    const std::optional<std::string> id = LiteralId(pattern);
    const SimulatedPeer::Received* nearest = nullptr;
    MatchResult best;
    best.score = -1;
    auto consider = [&](bool by_id, size_t from, size_t to) {
      for (size_t i = from; i < to; ++i) {
        const auto& received = inbox[i];
        if (received.consumed) continue;
        if (by_id && received.stanza.AttrOr("id", "") != *id) continue;
        Variables scratch = vars_;
        MatchResult match =
            Match(*expect.pattern, received.stanza, scratch, options);
        if (match.score > best.score) {
          best = match;
          nearest = &received;
        }
      }
    };
    std::string id_note;
    if (id) consider(/*by_id=*/true, 0, inbox.size());
    const char* when = "";
    if (nearest == nullptr) {
      if (id) {
        id_note = absl::StrCat("no stanza with id '", *id,
                               "' arrived from the client\n");
      }
      consider(/*by_id=*/false, expect_inbox_start_, inbox.size());
      const SimulatedPeer::Received* since_step = nearest;
      consider(/*by_id=*/false, 0, expect_inbox_start_);  // only if nearer
      if (nearest != since_step) when = ", before this step began";
    }
    if (nearest != nullptr) {
      diff = absl::StrCat(
          id_note, RenderMismatch(pattern, nearest->stanza, best),
          absl::StrFormat("(the nearest stanza arrived at %.3fs%s)\n",
                          absl::ToDoubleSeconds(nearest->time - start_), when));
      const DifferenceParts parts = SplitDifference(best.difference);
      Difference& d = *current_->mutable_difference();
      d.set_path(parts.path);
      d.set_reason(parts.reason);
      d.set_expected(parts.expected);
      d.set_actual(parts.actual);
    } else {
      diff = absl::StrCat(id_note, "expected:\n", PrettyPrint(pattern),
                          "no stanza from the client that the step could "
                          "take arrived, before it began or since");
    }
    const std::string values = VariableValues(spec.pattern(), vars_);
    if (!values.empty()) absl::StrAppend(&diff, "\nvariables: ", values);
  }
  const Step& step = scenario_.steps(pc_);
  const int64_t within = step.has_expect()   ? step.expect().within().ms()
                         : step.has_one_of() ? step.one_of().within().ms()
                                             : step.any_order().within().ms();
  one_of_ = false;
  std::string order_note;
  if (step.has_expect() && !step.expect().after().empty()) {
    const size_t anchor = AfterPosition(step.expect().after(), *inbox_);
    for (size_t i = 0; i < anchor; ++i) {
      Variables scratch = vars_;
      if (Match(*pending_.front().pattern, (*inbox_)[i].stanza, scratch,
                OptionsOf(step))
              .matched) {
        order_note = absl::StrFormat(
            "; a matching stanza did arrive, at %.3fs, but before the one "
            "matched by step '%s' (order violated)",
            absl::ToDoubleSeconds((*inbox_)[i].time - start_),
            step.expect().after());
        break;
      }
    }
  }
  if (order_note.empty()) order_note = EarlyNote(step);
  // Whatever happens next (a failure, on-timeout, optional), a stanza that
  // comes after the bound is reported with its time.
  WatchForLate(step);
  const std::string at =
      absl::StrFormat(" (failed at %.3fs into the run)",
                      absl::ToDoubleSeconds(clock_.Now() - start_));
  std::string message =
      pending_.size() == 1 ? absl::StrCat("no matching stanza within ",
                                          Pretty(Ms(within)), order_note, at)
      : step.has_one_of()
          ? absl::StrCat("none of the ", pending_.size(),
                         " alternatives arrived within ", Pretty(Ms(within)),
                         at)
          : absl::StrCat(missing.size(), " of ", pending_.size(),
                         " expected stanzas did not arrive within ",
                         Pretty(Ms(within)), at);
  // With several peers or to="any", say which stanzas the step looked at.
  if (inbox_ == &client_out_) {
    absl::StrAppend(&diff,
                    "\nlooked at: every stanza the client sent, to any "
                    "address (to=\"any\")");
  } else if (peers_.size() > 1 && step_peer_ != nullptr) {
    for (const auto& [name, peer] : peers_by_name_) {
      if (peer != step_peer_) continue;
      absl::StrAppend(&diff, "\nlooked at: what reached peer '", name, "' (",
                      peer->jid().ToString(), ")");
    }
  }
  absl::StrAppend(&diff, "\n\nlast stanzas exchanged:\n", RecentTranscript());

  switch (step.on_timeout()) {
    case ON_TIMEOUT_CONTINUE:
      current_->set_diff(diff);
      return StepDone(SKIPPED,
                      absl::StrCat(message, " (on-timeout: continue)"));
    case ON_TIMEOUT_GOTO: {
      current_->set_diff(diff);
      auto it = labels_.find(step.goto_label());
      if (it == labels_.end()) return StepError("goto to an unknown label");
      FinishStepRecord(SKIPPED, absl::StrCat(message, " (on-timeout: goto ",
                                             step.goto_label(), ")"));
      pc_ = it->second;
      return ContinueSoon();
    }
    default:
      return StepFailed(message, diff);
  }
}

void ScenarioRunner::Impl::WatchForLate(const Step& step) {
  late_.pattern.reset();
  if (pending_.size() != 1 || !step.has_expect()) return;
  late_.pattern = ExpandedPattern(step);
  late_.options = OptionsOf(step);
  late_.record = current_;
  late_.inbox = inbox_;
  late_.from = expect_inbox_start_;
  late_.bound = clock_.Now() - start_;
}

std::string ScenarioRunner::Impl::EarlyNote(const Step& step) const {
  if (pending_.size() != 1 || !step.has_expect()) return "";
  for (const auto& received : *inbox_) {
    if (received.time >= step_start_) break;
    if (!received.consumed) continue;
    Variables scratch = vars_;
    if (!Match(*pending_.front().pattern, received.stanza, scratch,
               OptionsOf(step))
             .matched) {
      continue;
    }
    return absl::StrFormat(
        "; a matching stanza did arrive, early, at %.3fs, before the step "
        "began at %.3fs (an earlier step took it)",
        absl::ToDoubleSeconds(received.time - start_),
        absl::ToDoubleSeconds(step_start_ - start_));
  }
  return "";
}

void ScenarioRunner::Impl::CheckLate() {
  if (!late_.pattern || late_.inbox == nullptr) return;
  auto& inbox = *late_.inbox;
  for (size_t i = late_.from; i < inbox.size(); ++i) {
    // Late: after the bound. What came in time did not match (or the step's
    // order rules, `after` and `next`, kept it out).
    if (inbox[i].consumed || inbox[i].time - start_ < late_.bound) continue;
    Variables scratch = vars_;
    if (!Match(*late_.pattern, inbox[i].stanza, scratch, late_.options)
             .matched) {
      continue;
    }
    const std::string note = absl::StrFormat(
        "; a matching stanza arrived late, at %.3fs (bound %.3fs)",
        absl::ToDoubleSeconds(inbox[i].time - start_),
        absl::ToDoubleSeconds(late_.bound));
    late_.record->set_message(absl::StrCat(late_.record->message(), note));
    // The run's failure is this step's only when the step failed it.
    if (late_.record->verdict() == FAIL)
      result_.set_failure(absl::StrCat(result_.failure(), note));
    late_.pattern.reset();
    return;
  }
  late_.from = inbox.size();
}

void ScenarioRunner::Impl::StartBackgroundExpect(const Step& step) {
  Variables frozen = vars_;
  for (const std::string& name : ReferencedVariables(step.expect().pattern())) {
    if (frozen.Get(name) == nullptr)
      frozen.Set(name, absl::StrCat("${", name, "}"));
  }
  absl::StatusOr<std::string> text =
      frozen.Substitute(step.expect().pattern(), /*escape_xml=*/true);
  if (!text.ok()) return StepError(std::string(text.status().message()));
  std::shared_ptr<const Element> pattern = ParsePattern(*text);
  if (!pattern) return;
  auto expect = std::make_unique<BackgroundExpect>();
  expect->step = &step;
  expect->record = current_;
  expect->pattern = std::move(pattern);
  expect->start = clock_.Now();
  BackgroundExpect* raw = expect.get();
  expect->timer = clock_.CallAfter(Ms(step.expect().within().ms()),
                                   [this, raw] { BackgroundTimedOut(raw); });
  background_.push_back(std::move(expect));
  current_->set_message("checked in the background");
  ++pc_;
  ContinueSoon();
  CheckBackground();
}

void ScenarioRunner::Impl::CheckBackground() {
  if (peer_ == nullptr) return;
  for (auto it = background_.begin(); it != background_.end();) {
    BackgroundExpect& expect = **it;
    // Its own peer's inbox, or everything the client sent (to="any").
    auto& inbox = *InboxFor(*expect.step);
    bool matched = false;
    for (auto& received : inbox) {
      if (received.consumed) continue;
      if (Match(*expect.pattern, received.stanza, vars_,
                OptionsOf(*expect.step))
              .matched) {
        received.consumed = true;
        matched = true;
        SetStepStanza(*expect.record, received.stanza);
        break;
      }
    }
    if (!matched) {
      ++it;
      continue;
    }
    expect.record->set_verdict(PASS);
    expect.record->set_duration_us(Us(clock_.Now() - expect.start));
    expect.record->set_message(absl::StrCat("matched after ",
                                            Pretty(clock_.Now() - expect.start),
                                            " (checked in the background)"));
    it = background_.erase(it);
  }
  if (background_.empty() && steps_over_) Finish(PASS, "");
}

void ScenarioRunner::Impl::BackgroundTimedOut(BackgroundExpect* expect) {
  const Step& step = *expect->step;
  const std::string message = absl::StrCat(
      "no matching stanza within ", Pretty(Ms(step.expect().within().ms())),
      " (checked in the background)");
  expect->record->set_verdict(FAIL);
  expect->record->set_duration_us(Us(clock_.Now() - expect->start));
  expect->record->set_message(message);
  expect->record->set_diff(
      absl::StrCat("expected:\n", PrettyPrint(*expect->pattern),
                   "\n\nlast stanzas exchanged:\n", RecentTranscript()));
  SetFailureType(step, "no-match-within-bound");
  Finish(FAIL, absl::StrCat(StepTitle(step), ": ", message));
}

std::string ScenarioRunner::Impl::RecentTranscript() const {
  std::string out;
  const int n = result_.transcript_size();
  for (int i = std::max(0, n - options_.context_stanzas); i < n; ++i) {
    const StanzaRecord& r = result_.transcript(i);
    absl::StrAppendFormat(&out, "  %8.3fs %-11s %s\n", r.time_us() / 1e6,
                          r.direction(), r.xml());
  }
  return out;
}

}  // namespace talkcheck::harness
