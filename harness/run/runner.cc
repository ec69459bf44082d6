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
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "harness/peer/media_loopback.h"
#include "harness/peer/peer.h"
#include "harness/run/runner_impl.h"
#include "harness/scenario/matcher.h"
#include "harness/scenario/profiles.h"
#include "harness/scenario/variables.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {

using xmpp::Element;
namespace ns = xmpp::ns;

std::string Where(const SourceLocation& location) {
  std::string out = absl::StrCat(location.file(), ":", location.line());
  for (const SourceLocation& site : location.included_from()) {
    absl::StrAppend(&out, ", included from ", site.file(), ":", site.line());
  }
  return out;
}

std::string StepTitle(const Step& step) {
  return absl::StrCat(step.number().empty() ? "" : "step ", step.number(),
                      step.number().empty() ? "" : " (", StepKind(step),
                      step.number().empty() ? "" : ")", " at ",
                      Where(step.location()));
}

const char* StepKind(const Step& step) {
  switch (step.kind_case()) {
    case Step::kSend:
      return "send";
    case Step::kExpect:
      return "expect";
    case Step::kExpectNone:
      return "expect-none";
    case Step::kDelay:
      return "delay";
    case Step::kAnyOrder:
      return "any-order";
    case Step::kControl:
      return "control";
    case Step::kPeerBehaviour:
      return "peer-behaviour";
    case Step::kMedia:
      return "media";
    case Step::kOneOf:
      return "one-of";
    case Step::kJump:
      return "jump";
    case Step::kRepeat:
    case Step::kRepeatEnd:
      return "repeat";
    case Step::kEnd:
      return "end";
    case Step::KIND_NOT_SET:
      break;
  }
  return "unknown";
}

bool IsFlowStep(const Step& step) {
  return step.has_jump() || step.has_repeat() || step.has_repeat_end();
}

void ScenarioRunner::Impl::Run(Done done) {
  done_ = std::move(done);
  start_ = clock_.Now();
  wall_start_ = absl::Now();
  for (int i = 0; i < scenario_.steps_size(); ++i) {
    if (!scenario_.steps(i).label().empty())
      labels_[scenario_.steps(i).label()] = i;
    if (!scenario_.steps(i).anchor().empty())
      labels_[scenario_.steps(i).anchor()] = i;
  }

  observer_id_ = server_.router().AddObserver(
      [this](const fake_server::RoutedStanza& routed) { Observe(routed); });

  std::vector<const PeerSpec*> specs = {&scenario_.peer()};
  for (const PeerSpec& more : scenario_.more_peers()) specs.push_back(&more);
  for (const PeerSpec* spec : specs) {
    auto peer = std::make_unique<SimulatedPeer>(
        io_, clock_, bitgen_, server_, *spec, [this] { OnInboxChanged(); });
    if (options_.network != nullptr) peer->set_network(options_.network);
    peer->set_candidate_servers(options_.candidate_servers);
    peer->set_media_address(options_.media_address);
    const std::string name = !spec->name().empty()   ? spec->name()
                             : !spec->user().empty() ? spec->user()
                                                     : "peer";
    // The timeout fuzzer's late and withheld acks of this peer ("" names
    // the first).
    auto policy = options_.ack_policies.find(peers_.empty() ? "" : name);
    if (policy != options_.ack_policies.end())
      peer->set_ack_policy(policy->second);
    // Known before it attaches: the observer records its first presence.
    peers_by_name_[name] = peer.get();
    peers_.push_back(std::move(peer));
    if (absl::Status attached = peers_.back()->Attach(); !attached.ok()) {
      return FinishWithError(absl::StrCat("cannot attach the simulated peer '",
                                          name, "': ", attached.message()));
    }
  }
  peer_ = peers_.front().get();

  absl::StatusOr<xmpp::Jid> cut_bare =
      xmpp::Jid::Create(options_.cut_username, server_.config().domain(), "");
  if (!cut_bare.ok())
    return FinishWithError(std::string(cut_bare.status().message()));
  cut_bare_ = *cut_bare;
  if (!server_.router().PasswordOf(options_.cut_username).has_value()) {
    server_.router().AddAccount(options_.cut_username, options_.cut_password);
  }
  // The CUT and each peer are each other's contacts; nobody else is.
  for (const auto& peer : peers_) {
    if (absl::Status linked =
            server_.router().AddContacts(cut_bare_, peer->jid());
        !linked.ok()) {
      return FinishWithError(std::string(linked.message()));
    }
  }
  CutLogin login;
  if (options_.in_memory) {
    login.connect_in_memory = [this] {
      return server_.ConnectInMemory(options_.xmpp_handover);
    };
  } else if (!server_.endpoints().empty()) {
    const std::string endpoint = server_.endpoints().front();
    login.host = endpoint.substr(0, endpoint.rfind(':'));
    if (login.host.size() > 2 && login.host.front() == '[')
      login.host = login.host.substr(1, login.host.size() - 2);
    login.port = server_.port();
    if (!server_.websocket_endpoints().empty()) {
      login.websocket_url = absl::StrCat(
          "ws://", server_.websocket_endpoints().front(), "/xmpp-websocket");
    }
  }
  login.jid = cut_bare_;
  login.password = options_.cut_password;
  std::weak_ptr<Impl> weak = weak_from_this();
  absl::Status started = cut_->Start(login, [weak](const std::string& reason) {
    if (auto self = weak.lock()) self->OnCutFailure(reason);
  });
  if (!started.ok()) {
    return FinishWithError(
        absl::StrCat("cannot start the client: ", started.message()));
  }
  ready_timer_ = clock_.CallAfter(options_.cut_ready_timeout, [this] {
    result_.set_failure_type("client/never-ready");
    Finish(VERDICT_UNSPECIFIED, absl::StrCat(kCutNeverReady, " within ",
                                             Pretty(options_.cut_ready_timeout),
                                             ": ", LoginProgress()));
  });
}

void ScenarioRunner::Impl::Observe(const fake_server::RoutedStanza& routed) {
  const bool from_cut =
      routed.direction == fake_server::RoutedStanza::Direction::kFromEndpoint &&
      routed.endpoint.BareEquals(cut_bare_);
  const bool to_cut =
      routed.direction == fake_server::RoutedStanza::Direction::kToEndpoint &&
      routed.endpoint.BareEquals(cut_bare_);
  const bool from_peer =
      routed.direction == fake_server::RoutedStanza::Direction::kFromEndpoint &&
      std::any_of(peers_.begin(), peers_.end(),
                  [&](const auto& p) { return routed.endpoint == p->jid(); });
  // Asked only of what is routed to the CUT (a JID's text per peer).
  const auto from_a_peer = [&] {
    const std::string* routed_from = routed.stanza.Attr("from");
    return routed_from != nullptr &&
           std::any_of(peers_.begin(), peers_.end(), [&](const auto& p) {
             return *routed_from == p->jid().ToString();
           });
  };
  // One record per stanza: the sender's side for the CUT and the peer, the
  // delivery for what the server itself says to the CUT.
  std::string direction;
  if (from_cut) {
    const std::string to = routed.stanza.AttrOr("to", "");
    absl::StatusOr<xmpp::Jid> to_jid = xmpp::Jid::Parse(to);
    const bool to_peer =
        to_jid.ok() &&
        std::any_of(peers_.begin(), peers_.end(), [&](const auto& p) {
          return to_jid->BareEquals(p->jid());
        });
    direction = to_peer ? "cut->peer" : "cut->server";
  } else if (from_peer) {
    direction = routed.stanza.Attr("to") == nullptr ? "peer->all" : "peer->cut";
  } else if (to_cut && !from_a_peer()) {
    direction = "server->cut";
  }
  if (!direction.empty()) {
    StanzaRecord* record = result_.add_transcript();
    record->set_time_us(Us(routed.time - start_));
    record->set_direction(direction);
    if (options_.stanza_text) record->set_xml(routed.stanza.ToString());
    if (options_.on_transcript) options_.on_transcript(*record, routed.stanza);
    if (options_.progress.stanza) options_.progress.stanza(*record);
  }
  if (from_cut) {
    // For to="any" expects; checked from a fresh handler, not inside routing.
    if (keeps_client_out_) {
      client_out_.push_back(SimulatedPeer::Received{routed.time, routed.stanza,
                                                    /*consumed=*/false});
    }
    if (ready_) {
      boost::asio::post(io_, [weak = weak_from_this()] {
        if (auto self = weak.lock()) self->OnInboxChanged();
      });
    }
  }
  if (from_cut && !ready_ && routed.stanza.Is(ns::kClient, "presence") &&
      routed.stanza.Attr("type") == nullptr &&
      routed.stanza.Attr("to") == nullptr) {
    // Available presence to its contacts: the CUT is logged in and ready.
    cut_jid_ = routed.endpoint;
    boost::asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->OnCutReady();
    });
  }
  if (from_cut && ready_ && routed.endpoint == cut_jid_ &&
      routed.stanza.Is(ns::kClient, "presence") &&
      routed.stanza.AttrOr("type", "") == "unavailable" &&
      routed.stanza.Attr("to") == nullptr) {
    boost::asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        if (!self->server_.router().IsBound(self->cut_jid_))
          self->OnCutFailure("client went offline (unavailable presence)");
      }
    });
  }
}

void ScenarioRunner::Impl::OnCutReady() {
  if (ready_ || finished_) return;
  ready_ = true;
  ready_timer_.reset();
  ready_at_ = clock_.Now();

  vars_.Set("cut", cut_jid_.ToString());
  vars_.Set("cut_bare", cut_jid_.Bare().ToString());
  vars_.Set("peer", peer_->jid().ToString());
  vars_.Set("peer_bare", peer_->jid().Bare().ToString());
  for (const auto& [name, peer] : peers_by_name_) {
    vars_.Set(absl::StrCat("peer:", name), peer->jid().ToString());
    vars_.Set(absl::StrCat("peer_bare:", name), peer->jid().Bare().ToString());
  }
  vars_.Set("server", server_.config().domain());
  vars_.Set("sid", absl::StrCat(absl::Uniform<uint32_t>(bitgen_)));
  for (const Variable& v : scenario_.variables()) {
    absl::StatusOr<std::string> value = vars_.Substitute(v.value(), false);
    if (absl::IsResourceExhausted(value.status())) {
      return FinishWithError(absl::StrCat("<var name=\"", v.name(),
                                          "\">: ", value.status().message()));
    }
    vars_.Set(v.name(), value.ok() ? *value : v.value());
  }
  for (const auto& [name, value] : options_.variables) vars_.Set(name, value);

  const int64_t timeout_ms =
      scenario_.has_timeout() ? scenario_.timeout().ms() : 120000;
  deadline_timer_ = clock_.CallAfter(Ms(timeout_ms), [this, timeout_ms] {
    FailCurrent(absl::StrCat("scenario deadline of ", Pretty(Ms(timeout_ms)),
                             " exceeded"),
                "scenario-deadline");
  });
  pc_ = 0;
  ContinueSoon();
}

void ScenarioRunner::Impl::OnCutFailure(const std::string& reason) {
  if (result_.client_failure().empty()) result_.set_client_failure(reason);
  if (finished_) return;
  if (!ready_) {
    result_.set_failure_type("client/never-ready");
    Finish(VERDICT_UNSPECIFIED,
           absl::StrCat(kCutNeverReady, ": ", reason, "; ", LoginProgress()));
    return;
  }
  FailCurrent(absl::StrCat("client under test failed: ", reason),
              "client-failed");
}

std::string ScenarioRunner::Impl::LoginProgress() {
  using Kind = fake_server::LoginEvent::Kind;
  std::string transcript;
  std::vector<std::string> got;  // the furthest stream's steps
  int stream = 0;
  bool bound = false;
  for (const fake_server::LoginEvent& e : server_.router().login_log()) {
    if (e.time < start_) continue;
    if (e.stream != stream) {
      stream = e.stream;
      got.clear();
      bound = false;
    }
    std::string step = DescribeLoginEvent(e);
    if (e.kind == Kind::kBound) bound = true;
    absl::StrAppendFormat(&transcript, "  %8.3fs stream %d: %s\n",
                          absl::ToDoubleSeconds(e.time - start_), e.stream,
                          step);
    if (e.kind != Kind::kStreamHeader) got.push_back(std::move(step));
  }
  bool session = false;
  for (const StanzaRecord& r : result_.transcript()) {
    if (r.direction() == "cut->server" && absl::StrContains(r.xml(), "<iq") &&
        absl::StrContains(r.xml(), ns::kSession)) {
      session = true;
    }
    absl::StrAppendFormat(&transcript, "  %8.3fs %-11s %s\n", r.time_us() / 1e6,
                          r.direction(), r.xml());
  }
  result_.set_login(transcript);
  if (stream == 0) return "it never connected to the fake server";
  if (bound) {
    got.push_back(session ? "session established" : "no session iq");
    got.push_back("no available presence");
  }
  return absl::StrCat("it got as far as: ", absl::StrJoin(got, ", "));
}

void ScenarioRunner::Impl::FinishStepRecord(Verdict verdict,
                                            const std::string& message) {
  current_->set_verdict(verdict);
  current_->set_duration_us(Us(clock_.Now() - step_start_));
  if (!message.empty()) current_->set_message(message);
  if (options_.progress.step) options_.progress.step(*current_);
}

void ScenarioRunner::Impl::StepDone(Verdict verdict,
                                    const std::string& message) {
  step_timer_.reset();
  FinishStepRecord(verdict, message);
  ++pc_;
  ContinueSoon();
}

const char* ScenarioRunner::Impl::FailureClassOf(const Step& step) {
  switch (step.kind_case()) {
    case Step::kExpect:
    case Step::kAnyOrder:
      return "no-match-within-bound";
    case Step::kExpectNone:
      return "forbidden-stanza";
    case Step::kMedia:
      return "media-check";
    case Step::kControl:
      return "client-refused";
    default:
      return "failed";
  }
}

void ScenarioRunner::Impl::SetFailureType(const Step& step,
                                          absl::string_view failure_class) {
  if (result_.failure_type().empty())
    result_.set_failure_type(absl::StrCat(StepKind(step), "/", failure_class));
}

void ScenarioRunner::Impl::StepFailed(const std::string& message,
                                      const std::string& diff) {
  step_timer_.reset();
  const Step& step = scenario_.steps(pc_);
  current_->set_diff(diff);
  if (IsProfileWarning(step)) {
    // A habit of one implementation that the run's profile does not demand.
    profile_step_skipped_ = true;
    return ProfileWarning(step, message);
  }
  if (step.optional())
    return StepDone(SKIPPED, absl::StrCat(message, " (optional)"));
  const std::string profile_note =
      step.profiles().empty()
          ? std::string()
          : absl::StrCat(" [profile ", absl::StrJoin(step.profiles(), ", "),
                         "]");
  FinishStepRecord(FAIL, message + profile_note);
  SetFailureType(step, FailureClassOf(step));
  Finish(FAIL, absl::StrCat(StepTitle(step), ": ", message, profile_note));
}

void ScenarioRunner::Impl::ProfileWarning(const Step& step,
                                          const std::string& message) {
  const std::string warning =
      absl::StrCat("warning: ", StepTitle(step), " (required only by profile ",
                   absl::StrJoin(step.profiles(), ", "), "): ", message);
  result_.add_warnings(warning);
  StepDone(SKIPPED, warning);
}

void ScenarioRunner::Impl::StepError(const std::string& message) {
  step_timer_.reset();
  const Step& step = scenario_.steps(pc_);
  // A step the profile does not demand, which cannot run because an earlier
  // such step was skipped (an accept that answers an initiate the client never
  // sent), is that habit's consequence, not an error of the scenario.
  if (IsProfileWarning(step) && profile_step_skipped_) {
    return ProfileWarning(
        step, absl::StrCat("could not run once an earlier step of that "
                           "profile was skipped: ",
                           message));
  }
  FinishStepRecord(ERROR, message);
  SetFailureType(step, "scenario-error");
  Finish(ERROR, absl::StrCat(StepTitle(step), ": ", message));
}

void ScenarioRunner::Impl::FailCurrent(const std::string& message,
                                       const std::string& failure_class) {
  if (finished_) return;
  waiting_ = Wait::kNone;
  if (current_ != nullptr) {
    SetFailureType(scenario_.steps(current_->index()), failure_class);
  } else {
    result_.set_failure_type(absl::StrCat("scenario/", failure_class));
  }
  if (current_ != nullptr && current_->verdict() == VERDICT_UNSPECIFIED) {
    current_->set_diff(
        absl::StrCat("last stanzas exchanged:\n", RecentTranscript()));
    FinishStepRecord(FAIL, message);
  }
  Finish(FAIL, message);
}

void ScenarioRunner::Impl::FinishFromSteps() {
  steps_over_ = true;
  if (background_.empty()) Finish(PASS, "");
}

void ScenarioRunner::Impl::FinishWithError(const std::string& message) {
  result_.set_failure_type("harness/error");
  Finish(ERROR, message);
}

void ScenarioRunner::Impl::Finish(Verdict verdict, const std::string& failure) {
  if (finished_) return;
  finished_ = true;
  step_timer_.reset();
  deadline_timer_.reset();
  ready_timer_.reset();
  // Steps never reached are reported as skipped.
  for (int i = pc_ + (current_ != nullptr && current_->index() == pc_ ? 1 : 0);
       i < scenario_.steps_size(); ++i) {
    if (verdict == PASS) break;
    if (IsFlowStep(scenario_.steps(i))) continue;
    StepResult* skipped = result_.add_steps();
    skipped->set_index(i);
    skipped->set_step_number(scenario_.steps(i).number());
    skipped->set_kind(StepKind(scenario_.steps(i)));
    skipped->set_label(scenario_.steps(i).label());
    *skipped->mutable_location() = scenario_.steps(i).location();
    skipped->set_verdict(SKIPPED);
  }
  result_.set_verdict(verdict == VERDICT_UNSPECIFIED ? ERROR : verdict);
  result_.set_failure(failure);
  result_.set_duration_us(Us(clock_.Now() - start_));
  background_.clear();
  if (ready_ && options_.settle > absl::ZeroDuration()) {
    settle_end_ = clock_.Now() + options_.settle;
    return Settle();
  }
  Complete();
}

void ScenarioRunner::Impl::Settle() {
  CollectPeerCounts();
  if (clock_.Now() >= settle_end_ ||
      (options_.settled && options_.settled(result_))) {
    return Complete();
  }
  settle_timer_ = clock_.CallAfter(absl::Seconds(1), [this] { Settle(); });
}

void ScenarioRunner::Impl::Complete() {
  settle_timer_.reset();
  for (StepResult& step : *result_.mutable_steps()) {
    // A hand-built scenario (or a step the fuzzer inserted) has no number of
    // its own: its position in the run's step list.
    if (step.step_number().empty())
      step.set_step_number(absl::StrCat(step.index() + 1));
    int top = 0;
    if (!absl::SimpleAtoi(absl::string_view(step.step_number())
                              .substr(0, step.step_number().find('.')),
                          &top)) {
      top = step.index() + 1;
    }
    step.set_number(top);
  }
  CollectPeerFigures();
  result_.set_wall_us(absl::ToInt64Microseconds(absl::Now() - wall_start_));
  Teardown();
  // Report from a fresh handler: the callback may destroy the runner. The
  // result moves out: nothing records into it after the teardown.
  boost::asio::post(
      io_, [done = std::move(done_), result = std::move(result_)]() mutable {
        if (done) done(std::move(result));
      });
}

void ScenarioRunner::Impl::CollectPeerCounts() {
  result_.set_end_us(Us(clock_.Now() - start_));
  result_.set_media_from_client(0);
  result_.set_peer_pings_answered(0);
  ForEachPeerChannel([this](const media_sim::GiceStats& stats) {
    result_.set_media_from_client(result_.media_from_client() +
                                  stats.media_received);
    result_.set_peer_pings_answered(result_.peer_pings_answered() +
                                    stats.responses_sent);
  });
}

void ScenarioRunner::Impl::CollectPeerFigures() {
  CollectPeerCounts();
  result_.clear_peer_findings();
  ForEachPeerChannel([this](const media_sim::GiceStats& stats) {
    for (const auto& [finding, count] : GiceFindings(stats)) {
      (*result_.mutable_peer_findings())[std::string(finding)] += count;
    }
  });
}

void ScenarioRunner::Impl::ForEachPeerChannel(
    const std::function<void(const media_sim::GiceStats&)>& visit) const {
  for (const auto& peer : peers_) {
    for (const char* name : {"rtp", "rtcp", "video_rtp", "video_rtcp"}) {
      if (const media_sim::GiceChannel* channel = peer->channel(name))
        visit(channel->stats());
    }
  }
}

void ScenarioRunner::Impl::Teardown() {
  media_poll_.reset();
  loopback_.reset();  // before the peer and its channels
  if (observer_id_ != 0) {
    server_.router().RemoveObserver(observer_id_);
    observer_id_ = 0;
  }
  if (cut_ != nullptr) cut_->Stop();
  step_peer_ = nullptr;
  inbox_ = nullptr;
  late_.pattern.reset();  // it may watch a peer's inbox
  late_.inbox = nullptr;
  peer_ = nullptr;
  peers_.clear();
  peers_by_name_.clear();
}

ScenarioRunner::ScenarioRunner(boost::asio::io_context& io, Clock& clock,
                               fake_server::FakeServer& server,
                               Scenario scenario, std::string file,
                               std::unique_ptr<ClientUnderTest> cut,
                               RunnerOptions options)
    : impl_(std::make_shared<Impl>(io, clock, server, std::move(scenario),
                                   std::move(file), std::move(cut),
                                   std::move(options))) {}

ScenarioRunner::~ScenarioRunner() = default;

void ScenarioRunner::Run(Done done) { impl_->Run(std::move(done)); }

}  // namespace talkcheck::harness
