// The step machine of ScenarioRunner: runs each step in turn; sends (with
// `${candidates:...}` placeholders gathered and expanded), controls and media.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <deque>
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
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "harness/peer/media_loopback.h"
#include "harness/peer/peer.h"
#include "harness/run/runner_impl.h"
#include "harness/scenario/matcher.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {

using xmpp::Element;
namespace ns = xmpp::ns;

void ScenarioRunner::Impl::ContinueSoon() {
  boost::asio::post(io_, [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->RunCurrent();
  });
}

bool ScenarioRunner::Impl::RunFlow(const Step& step) {
  if (step.has_jump()) {
    pc_ = step.jump().to().empty() ? pc_ + 1 : labels_.at(step.jump().to());
    return true;
  }
  if (step.has_repeat()) {
    const RepeatStep& repeat = step.repeat();
    int& rounds = rounds_[step.anchor()];
    rounds = looping_back_ == step.anchor() ? rounds + 1 : 1;
    looping_back_.clear();
    // Each round captures afresh, and `until` counts for this round only.
    for (const std::string& name : repeat.fresh()) vars_.Erase(name);
    if (!repeat.until().empty()) matched_at_.erase(repeat.until());
    ++pc_;
    return true;
  }
  const std::string& anchor = step.repeat_end().head();
  const int head = labels_.at(anchor);
  const RepeatStep& repeat = scenario_.steps(head).repeat();
  const int rounds = rounds_[anchor];
  const bool done = repeat.until().empty()
                        ? rounds >= repeat.max()
                        : matched_at_.count(repeat.until()) > 0;
  if (done) {
    rounds_.erase(anchor);
    ++pc_;
    return true;
  }
  if (rounds < repeat.max()) {
    looping_back_ = anchor;
    pc_ = head;
    return true;
  }
  return false;
}

SimulatedPeer* ScenarioRunner::Impl::PeerFor(const Step& step) {
  if (step.peer().empty()) return peer_;
  auto it = peers_by_name_.find(step.peer());
  // The loader checked the name; a hand-built scenario falls back.
  return it != peers_by_name_.end() ? it->second : peer_;
}

namespace {

// An expect, expect-none or any-order block that says to="any".
bool SaysToAny(const Step& step) {
  return (step.has_expect() && step.expect().any_address()) ||
         (step.has_expect_none() && step.expect_none().any_address()) ||
         (step.has_any_order() && step.any_order().any_address());
}

bool BranchSaysToAny(const OneOfStep::Branch& branch) {
  return branch.first().expect().any_address();
}

}  // namespace

ScenarioRunner::Impl::Inbox* ScenarioRunner::Impl::InboxFor(const Step& step) {
  const bool any =
      SaysToAny(step) ||
      // A one-of whose every branch says to="any" (its failure report looks
      // there too; CheckOneOf picks each branch's view).
      (step.has_one_of() &&
       std::all_of(step.one_of().branches().begin(),
                   step.one_of().branches().end(), BranchSaysToAny));
  return any ? &client_out_ : &PeerFor(step)->inbox();
}

bool ScenarioRunner::Impl::ReadsClientOut(const Scenario& scenario) {
  // InboxFor's steps, and a one-of with any branch that says to="any" on its
  // own (CheckOneOf matches that branch there).
  return std::any_of(
      scenario.steps().begin(), scenario.steps().end(), [](const Step& step) {
        return SaysToAny(step) ||
               std::any_of(step.one_of().branches().begin(),
                           step.one_of().branches().end(), BranchSaysToAny);
      });
}

void ScenarioRunner::Impl::RunCurrent() {
  if (finished_) return;
  while (pc_ < scenario_.steps_size() && IsFlowStep(scenario_.steps(pc_)) &&
         RunFlow(scenario_.steps(pc_))) {
  }
  if (pc_ >= scenario_.steps_size()) return FinishFromSteps();
  const Step& step = scenario_.steps(pc_);
  current_ = result_.add_steps();
  current_->set_index(pc_);
  current_->set_step_number(step.number());
  current_->set_kind(StepKind(step));
  current_->set_label(step.label());
  *current_->mutable_location() = step.location();
  step_start_ = clock_.Now();
  current_->set_start_us(Us(step_start_ - start_));
  waiting_ = Wait::kNone;
  one_of_ = false;
  gathered_.clear();
  step_peer_ = PeerFor(step);
  inbox_ = InboxFor(step);

  switch (step.kind_case()) {
    case Step::kSend:
      return RunSend(step.send());
    case Step::kExpect:
      return StartExpect(step);
    case Step::kExpectNone:
      return StartExpectNone(step.expect_none());
    case Step::kDelay:
      step_timer_ = clock_.CallAfter(Ms(step.delay().duration().ms()),
                                     [this] { StepDone(PASS, ""); });
      return;
    case Step::kAnyOrder:
      return StartAnyOrder(step);
    case Step::kControl:
      return RunControl(step.control());
    case Step::kPeerBehaviour:
      step_peer_->behaviour().Apply(step.peer_behaviour().behaviour());
      return StepDone(PASS, "");
    case Step::kMedia:
      return StartMedia(step.media());
    case Step::kOneOf:
      return StartOneOf(step);
    case Step::kEnd:
      return RunEnd(step.end());
    case Step::kRepeatEnd: {
      // RunFlow stopped here: the last round ended without `until`.
      const RepeatStep& repeat =
          scenario_.steps(labels_.at(step.repeat_end().head())).repeat();
      rounds_.erase(step.repeat_end().head());
      return StepFailed(absl::StrCat("the expect labelled '", repeat.until(),
                                     "' did not match in ", repeat.max(),
                                     " round(s) of the repeat (max)"),
                        "");
    }
    case Step::kJump:
    case Step::kRepeat:
    case Step::KIND_NOT_SET:
      break;
  }
  StepError("empty step");
}

void ScenarioRunner::Impl::RunEnd(const EndStep& end) {
  switch (end.verdict()) {
    case EndStep::FAIL:
      return StepFailed(end.reason(), "");
    case EndStep::NOT_APPLICABLE: {
      const std::string message =
          absl::StrCat("not applicable: ", end.reason());
      FinishStepRecord(SKIPPED, message);
      return Finish(SKIPPED, message);
    }
    default:
      // The steps after it never run; background expects still run out.
      FinishStepRecord(PASS, end.reason());
      pc_ = scenario_.steps_size();
      return FinishFromSteps();
  }
}

absl::StatusOr<std::vector<ScenarioRunner::Impl::CandidatesPlaceholder>>
ScenarioRunner::Impl::FindPlaceholders(const std::string& text) {
  std::vector<CandidatesPlaceholder> found;
  size_t pos = 0;
  while (true) {
    const size_t start = text.find("${candidates:", pos);
    if (start == std::string::npos) break;
    const size_t end = text.find('}', start);
    if (end == std::string::npos) break;
    CandidatesPlaceholder placeholder;
    placeholder.start = start;
    placeholder.end = end + 1;
    std::vector<std::string> parts =
        absl::StrSplit(text.substr(start + 13, end - start - 13), ':');
    placeholder.name = parts[0];
    for (size_t i = 1; i < parts.size(); ++i) {
      if (parts[i] == "next" && i + 1 == parts.size()) {
        placeholder.next = true;
        continue;
      }
      absl::StatusOr<CandidateKinds> kinds = ParseCandidateKinds(parts[i]);
      if (!kinds.ok() || placeholder.kinds.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad placeholder ", text.substr(start, end + 1 - start),
            kinds.ok() ? "" : absl::StrCat(": ", kinds.status().message())));
      }
      placeholder.kinds = *kinds;
    }
    found.push_back(std::move(placeholder));
    pos = end + 1;
  }
  return found;
}

absl::StatusOr<std::string> ScenarioRunner::Impl::ExpandStanza(
    const std::string& text) {
  absl::StatusOr<std::vector<CandidatesPlaceholder>> placeholders =
      FindPlaceholders(text);
  if (!placeholders.ok()) return placeholders.status();
  std::string expanded;
  size_t pos = 0;
  for (size_t i = 0; i < placeholders->size(); ++i) {
    const CandidatesPlaceholder& p = (*placeholders)[i];
    expanded.append(text, pos, p.start - pos);
    const bool next = p.next && gathered_.count(i) == 0;
    absl::StatusOr<std::string> xml =
        p.kinds.has_value() ? step_peer_->CandidatesXml(p.name, next, *p.kinds)
                            : step_peer_->CandidatesXml(p.name, next);
    if (!xml.ok()) return xml.status();
    expanded += *xml;
    pos = p.end;
  }
  expanded.append(text, pos, std::string::npos);
  if (absl::StrContains(text, kCodecsAnswer)) {
    absl::StatusOr<std::string> answer = CodecsAnswerXml();
    if (!answer.ok()) return answer.status();
    expanded = absl::StrReplaceAll(expanded, {{kCodecsAnswer, *answer}});
  }
  return vars_.Substitute(expanded);
}

absl::StatusOr<std::string> ScenarioRunner::Impl::CodecsAnswerXml() const {
  absl::StatusOr<std::vector<OfferedPayloadType>> answer =
      step_peer_->negotiation().AnswerToClient();
  if (!answer.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat(kCodecsAnswer, ": ", answer.status().message()));
  }
  std::string xml;
  for (const OfferedPayloadType& type : *answer) {
    absl::StrAppend(&xml, "<payload-type id=\"", type.id, "\" name=\"",
                    xmpp::EscapeAttribute(type.name), "\"");
    if (type.clockrate > 0)
      absl::StrAppend(&xml, " clockrate=\"", type.clockrate, "\"");
    absl::StrAppend(&xml, "/>");
  }
  // The client's names must not read as references when variables are
  // substituted next.
  return absl::StrReplaceAll(xml, {{"${", "$${"}});
}

absl::StatusOr<bool> ScenarioRunner::Impl::GatherForSend(
    const std::string& text) {
  absl::StatusOr<std::vector<CandidatesPlaceholder>> placeholders =
      FindPlaceholders(text);
  if (!placeholders.ok()) return placeholders.status();
  for (size_t i = 0; i < placeholders->size(); ++i) {
    const CandidatesPlaceholder& p = (*placeholders)[i];
    if (!p.kinds.has_value() || p.kinds->host_only() ||
        gathered_.count(i) != 0) {
      continue;
    }
    if (!p.next && step_peer_->channel(p.name) != nullptr) continue;
    gathered_.insert(i);
    const int step = pc_;
    step_peer_->GatherCandidates(
        p.name, *p.kinds, [this, step](absl::Status status) {
          if (finished_ || pc_ != step) return;
          if (!status.ok()) return StepError(std::string(status.message()));
          RunSend(scenario_.steps(pc_).send());
        });
    return true;
  }
  return false;
}

void ScenarioRunner::Impl::RunSend(const SendStep& send) {
  absl::StatusOr<bool> gathering = GatherForSend(send.stanza());
  if (!gathering.ok())
    return StepError(std::string(gathering.status().message()));
  if (*gathering) return;
  vars_.Set("iq", absl::StrFormat("tc%u", absl::Uniform<uint32_t>(bitgen_)));
  absl::StatusOr<std::string> text = ExpandStanza(send.stanza());
  gathered_.clear();
  if (!text.ok()) return StepError(std::string(text.status().message()));
  absl::StatusOr<Element> stanza = xmpp::ParseElement(*text);
  if (!stanza.ok()) {
    return StepError(absl::StrCat("the stanza to send is not valid XML: ",
                                  stanza.status().message()));
  }
  if (const std::string* id = stanza->Attr("id");
      id != nullptr && !send.keep_last_id()) {
    vars_.Set("last_id", *id);
  }
  SetStepStanza(*current_, *stanza);
  if (send.from() == SendStep::SENDER_SERVER) {
    server_.router().SendFromServer(*std::move(stanza));
  } else {
    step_peer_->Send(*std::move(stanza));
  }
  StepDone(PASS, "");
}

void ScenarioRunner::Impl::RunControl(const ControlStep& control) {
  absl::StatusOr<std::string> target =
      vars_.Substitute(control.target(), false);
  if (!target.ok()) return StepError(std::string(target.status().message()));
  if (control.action() == "call" && WaitForCapsBeforeCall(*target)) return;
  absl::Status status = cut_->Control(control.action(), *target);
  // A client that cannot be driven is a set-up error; one that refuses
  // because of its state (no call to hang up) failed the step.
  if (absl::IsFailedPrecondition(status)) {
    return StepFailed(absl::StrCat("the client could not '", control.action(),
                                   "': ", status.message()),
                      "");
  }
  if (!status.ok()) {
    return StepError(absl::StrCat("the client could not '", control.action(),
                                  "': ", status.message()));
  }
  StepDone(PASS, "");
}

bool ScenarioRunner::Impl::WaitForCapsBeforeCall(const std::string& target) {
  if (options_.call_caps_wait <= absl::ZeroDuration() ||
      !cut_->may_learn_caps_by_disco()) {
    return false;
  }
  SimulatedPeer* callee = nullptr;
  for (const auto& peer : peers_)
    if (peer->jid().ToString() == target) callee = peer.get();
  // Only the first call to a peer that announced caps it would answer about.
  if (callee == nullptr || !caps_waited_.insert(callee).second ||
      !callee->behaviour().send_presence || !callee->behaviour().answer_disco) {
    return false;
  }
  PollCapsBeforeCall(callee, clock_.Now() + options_.call_caps_wait);
  return true;
}

void ScenarioRunner::Impl::PollCapsBeforeCall(SimulatedPeer* callee,
                                              absl::Duration until) {
  const absl::Duration now = clock_.Now();
  if (now >= until) return RunControl(scenario_.steps(pc_).control());
  if (callee->disco_answers() > 0) {
    // The answer still has to reach the client before the call line does.
    step_timer_ = clock_.CallAfter(options_.call_caps_grace, [this] {
      RunControl(scenario_.steps(pc_).control());
    });
    return;
  }
  step_timer_ = clock_.CallAfter(
      std::min(absl::Milliseconds(10), until - now),
      [this, callee, until] { PollCapsBeforeCall(callee, until); });
}

void ScenarioRunner::Impl::StartMedia(const MediaStep& media) {
  media_sim::GiceChannel* channel = step_peer_->channel("rtp");
  if (channel == nullptr) {
    return StepError(
        "a media step needs the peer's candidates on channel rtp: send "
        "${candidates:rtp} first");
  }
  // The step's codec= is an extra assertion on what the client sends.
  const bool remote_first = media.codec() == kRemoteFirstCodec;
  std::optional<media_sim::RtpCodec> asserted;
  if (!media.codec().empty() && !remote_first) {
    absl::StatusOr<std::string> text = vars_.Substitute(media.codec(), false);
    if (!text.ok()) return StepError(std::string(text.status().message()));
    absl::StatusOr<media_sim::RtpCodec> codec = ParseMediaCodec(*text);
    if (!codec.ok()) return StepError(std::string(codec.status().message()));
    asserted = *codec;
  }
  // Both directions follow the negotiation (PROTOCOL.md §2.2).
  absl::StatusOr<NegotiatedMedia> negotiated =
      step_peer_->negotiation().Result();
  if (!negotiated.ok()) {
    return StepFailed(
        absl::StrCat("no media to check: ", negotiated.status().message()), "");
  }
  media_asserted_because_.clear();
  if (remote_first) {
    asserted = step_peer_->negotiation().ClientRemoteFirst();
    if (!asserted) {
      return StepError(
          "codec=\"remote-first\": the client's lists share no codec");
    }
    media_asserted_because_ = absl::StrCat(
        "codec=\"", kRemoteFirstCodec, "\": the first codec of the ",
        negotiated->peer_is_caller ? "initiate" : "peer's accept",
        " that the client's own list holds");
  }
  media_asserted_ = asserted;
  media_negotiated_ = negotiated->Describe();
  loopback_ = std::make_unique<MediaLoopback>(
      clock_, *channel, negotiated->send, negotiated->receive,
      absl::Uniform<uint32_t>(bitgen_));
  if (options_.progress.media_sample) {
    loopback_->set_sample_handler([this](const MediaSample& sample) {
      options_.progress.media_sample(*current_, sample);
    });
  }
  loopback_->Start();
  step_timer_ = clock_.CallAfter(Ms(media.within().ms()),
                                 [this] { FinishMedia(/*timed_out=*/true); });
  PollMedia();
}

void ScenarioRunner::Impl::PollMedia() {
  media_poll_ = clock_.CallAfter(absl::Milliseconds(100), [this] {
    const uint64_t wanted = scenario_.steps(pc_).media().min_packets_each_way();
    if (loopback_->sent() >= wanted &&
        loopback_->received().packets >= wanted) {
      return FinishMedia(/*timed_out=*/false);
    }
    PollMedia();
  });
}

void ScenarioRunner::Impl::FinishMedia(bool timed_out) {
  const MediaStep& media = scenario_.steps(pc_).media();
  MediaReport& report = *current_->mutable_media();
  report = loopback_->Report();
  report.set_negotiated(media_negotiated_);
  if (media_asserted_.has_value()) {
    report.set_asserted_codec(media_asserted_->name);
    report.set_asserted_payload_type(media_asserted_->payload_type);
    report.set_asserted_because(media_asserted_because_);
    uint64_t other = 0;
    for (const auto& [type, count] : report.received_payload_types()) {
      if (type != media_asserted_->payload_type) other += count;
    }
    report.set_other_than_asserted(other);
  }
  loopback_.reset();
  media_poll_.reset();
  step_timer_.reset();

  const std::vector<std::string> problems =
      MediaProblems(media, report, timed_out);
  for (const std::string& warning : MediaWarnings(media, report)) {
    result_.add_warnings(absl::StrCat(
        "warning: ", StepTitle(scenario_.steps(pc_)), ": ", warning));
  }
  const std::string figures = MediaFigures(report);
  // The peer offers a frame per frame interval from the step's start (sent,
  // or held back while no pair is writable), catching up after a late tick.
  // Fewer than min-packets offered means the window holds fewer frames of
  // the negotiated codec than the step asks for, or the harness's thread
  // stalled: not a verdict on the client, whatever else went wrong.
  const uint64_t offered =
      report.packets_sent() + report.send_refused_not_writable();
  if (timed_out &&
      offered < static_cast<uint64_t>(media.min_packets_each_way())) {
    return StepError(absl::StrCat(
        "the peer offered only ", offered, " of ", media.min_packets_each_way(),
        " frames of ", report.codec(), " in ",
        absl::FormatDuration(Ms(media.within().ms())),
        ": the window is too short for this codec's frames, or the harness "
        "fell behind (a loaded machine); not a verdict on the client (",
        absl::StrJoin(problems, "; "), "; ", figures, ")"));
  }
  if (problems.empty()) return StepDone(PASS, figures);
  StepFailed(absl::StrJoin(problems, "; "), figures);
}

}  // namespace talkcheck::harness
