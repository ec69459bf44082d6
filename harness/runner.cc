#include "harness/runner.h"

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
#include "absl/strings/str_split.h"
#include "harness/matcher.h"
#include "harness/media_loopback.h"
#include "harness/peer.h"
#include "harness/variables.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

using xmpp::Element;
namespace ns = xmpp::ns;

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
    case Step::KIND_NOT_SET:
      break;
  }
  return "unknown";
}

absl::Duration Ms(int64_t ms) { return absl::Milliseconds(ms); }

int64_t Us(absl::Duration d) { return absl::ToInt64Microseconds(d); }

std::string Pretty(absl::Duration d) {
  return absl::FormatDuration(absl::Trunc(d, absl::Milliseconds(1)));
}

}  // namespace

class ScenarioRunner::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::io_context& io, Clock& clock,
       fake_server::FakeServer& server, Scenario scenario, std::string file,
       std::unique_ptr<ClientUnderTest> cut, RunnerOptions options)
      : io_(io),
        clock_(clock),
        server_(server),
        scenario_(std::move(scenario)),
        cut_(std::move(cut)),
        options_(std::move(options)),
        bitgen_(options_.seed) {
    result_.set_name(scenario_.name());
    result_.set_file(std::move(file));
    result_.set_client(cut_->description());
    result_.set_seed(options_.seed);
  }

  ~Impl() { Teardown(); }

  void Run(Done done) {
    done_ = std::move(done);
    start_ = clock_.Now();
    wall_start_ = absl::Now();
    for (int i = 0; i < scenario_.steps_size(); ++i) {
      if (!scenario_.steps(i).label().empty())
        labels_[scenario_.steps(i).label()] = i;
    }

    observer_id_ = server_.router().AddObserver(
        [this](const fake_server::RoutedStanza& routed) { Observe(routed); });

    peer_ = std::make_unique<SimulatedPeer>(io_, clock_, bitgen_, server_,
                                            scenario_.peer(),
                                            [this] { OnInboxChanged(); });
    if (options_.network != nullptr) peer_->set_network(options_.network);
    peer_->set_candidate_servers(options_.candidate_servers);
    if (options_.ack_policy) peer_->set_ack_policy(options_.ack_policy);
    if (absl::Status attached = peer_->Attach(); !attached.ok()) {
      return FinishWithError(absl::StrCat("cannot attach the simulated peer: ",
                                          attached.message()));
    }

    absl::StatusOr<xmpp::Jid> cut_bare =
        xmpp::Jid::Create(options_.cut_username, server_.config().domain(), "");
    if (!cut_bare.ok())
      return FinishWithError(std::string(cut_bare.status().message()));
    cut_bare_ = *cut_bare;
    if (!server_.router().PasswordOf(options_.cut_username).has_value()) {
      server_.router().AddAccount(options_.cut_username, options_.cut_password);
    }
    CutLogin login;
    if (options_.in_memory) {
      login.connect_in_memory = [this] { return server_.ConnectInMemory(); };
    } else if (!server_.endpoints().empty()) {
      const std::string endpoint = server_.endpoints().front();
      login.host = endpoint.substr(0, endpoint.rfind(':'));
      if (login.host.size() > 2 && login.host.front() == '[')
        login.host = login.host.substr(1, login.host.size() - 2);
      login.port = server_.port();
    }
    login.jid = cut_bare_;
    login.password = options_.cut_password;
    std::weak_ptr<Impl> weak = weak_from_this();
    absl::Status started =
        cut_->Start(login, [weak](const std::string& reason) {
          if (auto self = weak.lock()) self->OnCutFailure(reason);
        });
    if (!started.ok()) {
      return FinishWithError(
          absl::StrCat("cannot start the client: ", started.message()));
    }
    ready_timer_ = clock_.CallAfter(options_.cut_ready_timeout, [this] {
      Finish(VERDICT_UNSPECIFIED,
             absl::StrCat(kCutNeverReady, " within ",
                          Pretty(options_.cut_ready_timeout)));
    });
  }

 private:
  // An expect the peer stopped waiting for (ExpectStep.background).
  struct BackgroundExpect {
    const Step* step = nullptr;
    StepResult* record = nullptr;
    std::optional<Element> pattern;
    absl::Duration start;
    std::unique_ptr<Timer> timer;
  };

  // --- Client readiness and failure
  // ------------------------------------------------

  void Observe(const fake_server::RoutedStanza& routed) {
    const bool from_cut =
        routed.direction ==
            fake_server::RoutedStanza::Direction::kFromEndpoint &&
        routed.endpoint.BareEquals(cut_bare_);
    const bool to_cut =
        routed.direction == fake_server::RoutedStanza::Direction::kToEndpoint &&
        routed.endpoint.BareEquals(cut_bare_);
    const bool from_peer =
        peer_ != nullptr &&
        routed.direction ==
            fake_server::RoutedStanza::Direction::kFromEndpoint &&
        routed.endpoint == peer_->jid();
    // One record per stanza: the sender's side for the CUT and the peer, the
    // delivery for what the server itself says to the CUT.
    std::string direction;
    if (from_cut) {
      const std::string to = routed.stanza.AttrOr("to", "");
      absl::StatusOr<xmpp::Jid> to_jid = xmpp::Jid::Parse(to);
      direction =
          peer_ != nullptr && to_jid.ok() && to_jid->BareEquals(peer_->jid())
              ? "cut->peer"
              : "cut->server";
    } else if (from_peer) {
      direction =
          routed.stanza.Attr("to") == nullptr ? "peer->all" : "peer->cut";
    } else if (to_cut &&
               (peer_ == nullptr ||
                routed.stanza.AttrOr("from", "") != peer_->jid().ToString())) {
      direction = "server->cut";
    }
    if (!direction.empty()) {
      StanzaRecord* record = result_.add_transcript();
      record->set_time_us(Us(routed.time - start_));
      record->set_direction(direction);
      record->set_xml(routed.stanza.ToString());
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

  void OnCutReady() {
    if (ready_ || finished_) return;
    ready_ = true;
    ready_timer_.reset();
    ready_at_ = clock_.Now();

    vars_.Set("cut", cut_jid_.ToString());
    vars_.Set("cut_bare", cut_jid_.Bare().ToString());
    vars_.Set("peer", peer_->jid().ToString());
    vars_.Set("peer_bare", peer_->jid().Bare().ToString());
    vars_.Set("server", server_.config().domain());
    vars_.Set("sid", absl::StrCat(absl::Uniform<uint32_t>(bitgen_)));
    for (const Variable& v : scenario_.variables()) {
      absl::StatusOr<std::string> value = vars_.Substitute(v.value(), false);
      vars_.Set(v.name(), value.ok() ? *value : v.value());
    }
    for (const auto& [name, value] : options_.variables) vars_.Set(name, value);

    const int64_t timeout_ms =
        scenario_.has_timeout() ? scenario_.timeout().ms() : 120000;
    deadline_timer_ = clock_.CallAfter(Ms(timeout_ms), [this, timeout_ms] {
      FailCurrent(absl::StrCat("scenario deadline of ", Pretty(Ms(timeout_ms)),
                               " exceeded"));
    });
    pc_ = 0;
    ContinueSoon();
  }

  void OnCutFailure(const std::string& reason) {
    if (result_.client_failure().empty()) result_.set_client_failure(reason);
    if (finished_) return;
    if (!ready_) {
      Finish(VERDICT_UNSPECIFIED, absl::StrCat(kCutNeverReady, ": ", reason));
      return;
    }
    FailCurrent(absl::StrCat("client under test failed: ", reason));
  }

  // --- Step machine
  // ----------------------------------------------------------------

  // Runs the next step from a fresh handler, so long scenarios do not recurse.
  void ContinueSoon() {
    boost::asio::post(io_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->RunCurrent();
    });
  }

  void RunCurrent() {
    if (finished_) return;
    if (pc_ >= scenario_.steps_size()) return FinishFromSteps();
    const Step& step = scenario_.steps(pc_);
    current_ = result_.add_steps();
    current_->set_index(pc_);
    current_->set_kind(StepKind(step));
    current_->set_label(step.label());
    *current_->mutable_location() = step.location();
    step_start_ = clock_.Now();
    current_->set_start_us(Us(step_start_ - start_));
    waiting_ = Wait::kNone;
    gathered_.clear();

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
        peer_->behaviour().Apply(step.peer_behaviour().behaviour());
        return StepDone(PASS, "");
      case Step::kMedia:
        return StartMedia(step.media());
      case Step::KIND_NOT_SET:
        break;
    }
    StepError("empty step");
  }

  // One `${candidates:NAME[:KINDS][:next]}` placeholder (scenarios/README.md).
  struct CandidatesPlaceholder {
    size_t start = 0;
    size_t end = 0;  // one past the '}'
    std::string name;
    bool next = false;
    std::optional<CandidateKinds> kinds;  // unset: every kind of the round
  };

  static absl::StatusOr<std::vector<CandidatesPlaceholder>> FindPlaceholders(
      const std::string& text) {
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

  // Substitutes `${candidates:...}` (raw XML) and then ordinary variables.
  // Placeholders whose round was gathered for this step (`gathered_`) write
  // that round instead of allocating one.
  absl::StatusOr<std::string> ExpandStanza(const std::string& text) {
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
          p.kinds.has_value() ? peer_->CandidatesXml(p.name, next, *p.kinds)
                              : peer_->CandidatesXml(p.name, next);
      if (!xml.ok()) return xml.status();
      expanded += *xml;
      pos = p.end;
    }
    expanded.append(text, pos, std::string::npos);
    return vars_.Substitute(expanded);
  }

  // Starts gathering the first round a placeholder of `text` needs from the
  // STUN server or the relay (a new round with stun or relay kinds); true
  // while one is under way, and RunSend runs again when it is done.
  absl::StatusOr<bool> GatherForSend(const std::string& text) {
    absl::StatusOr<std::vector<CandidatesPlaceholder>> placeholders =
        FindPlaceholders(text);
    if (!placeholders.ok()) return placeholders.status();
    for (size_t i = 0; i < placeholders->size(); ++i) {
      const CandidatesPlaceholder& p = (*placeholders)[i];
      if (!p.kinds.has_value() || p.kinds->host_only() ||
          gathered_.count(i) != 0) {
        continue;
      }
      if (!p.next && peer_->channel(p.name) != nullptr) continue;
      gathered_.insert(i);
      const int step = pc_;
      peer_->GatherCandidates(
          p.name, *p.kinds, [this, step](absl::Status status) {
            if (finished_ || pc_ != step) return;
            if (!status.ok()) return StepError(std::string(status.message()));
            RunSend(scenario_.steps(pc_).send());
          });
      return true;
    }
    return false;
  }

  void RunSend(const SendStep& send) {
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
    current_->set_stanza(stanza->ToString());
    if (send.from() == SendStep::SENDER_SERVER) {
      server_.router().SendFromServer(*std::move(stanza));
    } else {
      peer_->Send(*std::move(stanza));
    }
    StepDone(PASS, "");
  }

  void RunControl(const ControlStep& control) {
    absl::StatusOr<std::string> target =
        vars_.Substitute(control.target(), false);
    if (!target.ok()) return StepError(std::string(target.status().message()));
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

  // --- Expects
  // ---------------------------------------------------------------------

  struct PendingExpect {
    const Step* step;
    std::optional<Element> pattern;
    bool matched = false;
  };

  // Parses a pattern; on failure ends the step with an error and returns
  // nullopt.
  std::optional<Element> ParsePattern(const std::string& text) {
    absl::StatusOr<Element> pattern = xmpp::ParseElement(text);
    if (!pattern.ok()) {
      StepError(absl::StrCat("the expected pattern is not valid XML: ",
                             pattern.status().message()));
      return std::nullopt;
    }
    return *std::move(pattern);
  }

  void StartExpect(const Step& step) {
    if (step.expect().background()) return StartBackgroundExpect(step);
    pending_.clear();
    std::optional<Element> pattern = ParsePattern(step.expect().pattern());
    if (!pattern) return;
    pending_.push_back(PendingExpect{&step, std::move(pattern)});
    waiting_ = Wait::kExpect;
    step_timer_ = clock_.CallAfter(Ms(step.expect().within().ms()),
                                   [this] { ExpectTimedOut(); });
    CheckInbox();
  }

  void StartAnyOrder(const Step& step) {
    pending_.clear();
    for (const Step& inner : step.any_order().steps()) {
      std::optional<Element> pattern = ParsePattern(inner.expect().pattern());
      if (!pattern) return;
      pending_.push_back(PendingExpect{&inner, std::move(pattern)});
    }
    waiting_ = Wait::kExpect;
    step_timer_ = clock_.CallAfter(Ms(step.any_order().within().ms()),
                                   [this] { ExpectTimedOut(); });
    CheckInbox();
  }

  void StartExpectNone(const ExpectNoneStep& none) {
    pending_.clear();
    if (!none.pattern().empty()) {
      std::optional<Element> pattern = ParsePattern(none.pattern());
      if (!pattern) return;
      pending_.push_back(PendingExpect{nullptr, std::move(pattern)});
    }
    waiting_ = Wait::kExpectNone;
    inbox_mark_ = peer_->inbox().size();
    step_timer_ = clock_.CallAfter(Ms(none.period().ms()),
                                   [this] { StepDone(PASS, ""); });
  }

  void OnInboxChanged() {
    if (finished_ || !ready_) return;
    CheckBackground();
    if (finished_) return;
    if (waiting_ == Wait::kExpect) CheckInbox();
    if (waiting_ == Wait::kExpectNone) CheckForbidden();
  }

  void CheckInbox() {
    auto& inbox = peer_->inbox();
    for (PendingExpect& expect : pending_) {
      if (expect.matched) continue;
      const ExpectStep& spec = expect.step->expect();
      MatchOptions options;
      options.exact = spec.exact();
      // `after`: only stanzas that arrived after the one the labelled step
      // matched.
      size_t first = 0;
      if (!spec.after().empty()) {
        auto anchor = matched_at_.find(spec.after());
        if (anchor != matched_at_.end()) first = anchor->second + 1;
      }
      for (size_t i = first; i < inbox.size(); ++i) {
        auto& received = inbox[i];
        if (received.consumed) continue;
        MatchResult match =
            Match(*expect.pattern, received.stanza, vars_, options);
        if (match.matched) {
          received.consumed = true;
          expect.matched = true;
          if (!expect.step->label().empty())
            matched_at_[expect.step->label()] = i;
          if (pending_.size() == 1)
            current_->set_stanza(received.stanza.ToString());
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

  void CheckForbidden() {
    auto& inbox = peer_->inbox();
    for (size_t i = inbox_mark_; i < inbox.size(); ++i) {
      const Element& stanza = inbox[i].stanza;
      bool forbidden = pending_.empty();
      if (!forbidden) {
        Variables scratch = vars_;  // expect-none never captures
        forbidden = Match(*pending_.front().pattern, stanza, scratch).matched;
      }
      if (forbidden) {
        waiting_ = Wait::kNone;
        step_timer_.reset();
        current_->set_stanza(stanza.ToString());
        return StepFailed(absl::StrCat("a forbidden stanza arrived after ",
                                       Pretty(inbox[i].time - step_start_)),
                          PrettyPrint(stanza));
      }
    }
    inbox_mark_ = inbox.size();
  }

  void ExpectTimedOut() {
    waiting_ = Wait::kNone;
    std::string diff;
    std::vector<std::string> missing;
    for (const PendingExpect& expect : pending_) {
      if (expect.matched) continue;
      missing.push_back(PrettyPrint(*expect.pattern));
      if (!diff.empty()) continue;
      // The nearest stanza: the best-scoring unconsumed one that did arrive.
      const SimulatedPeer::Received* nearest = nullptr;
      MatchResult best;
      best.score = -1;
      for (const auto& received : peer_->inbox()) {
        if (received.consumed) continue;
        Variables scratch = vars_;
        MatchResult match = Match(*expect.pattern, received.stanza, scratch);
        if (match.score > best.score) {
          best = match;
          nearest = &received;
        }
      }
      diff =
          nearest != nullptr
              ? RenderMismatch(*expect.pattern, nearest->stanza, best)
              : absl::StrCat("expected:\n", PrettyPrint(*expect.pattern),
                             "\nno stanza from the client arrived that could "
                             "match");
    }
    const Step& step = scenario_.steps(pc_);
    const int64_t within = step.has_expect() ? step.expect().within().ms()
                                             : step.any_order().within().ms();
    std::string order_note;
    if (step.has_expect() && !step.expect().after().empty()) {
      auto anchor = matched_at_.find(step.expect().after());
      for (size_t i = 0; anchor != matched_at_.end() && i < anchor->second;
           ++i) {
        Variables scratch = vars_;
        if (Match(*pending_.front().pattern, peer_->inbox()[i].stanza, scratch)
                .matched) {
          order_note = absl::StrCat(
              "; a matching stanza did arrive, but before the one matched by "
              "step '",
              step.expect().after(), "' (order violated)");
          break;
        }
      }
    }
    std::string message =
        pending_.size() == 1
            ? absl::StrCat("no matching stanza within ", Pretty(Ms(within)),
                           order_note)
            : absl::StrCat(missing.size(), " of ", pending_.size(),
                           " expected stanzas did not arrive within ",
                           Pretty(Ms(within)));
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

  // --- Background expects
  // ---------------------------------------------------------

  // The pattern is fixed now (${last_id} and friends take their current
  // values); names still undefined stay captures.
  void StartBackgroundExpect(const Step& step) {
    Variables frozen = vars_;
    for (const std::string& name :
         ReferencedVariables(step.expect().pattern())) {
      if (frozen.Get(name) == nullptr)
        frozen.Set(name, absl::StrCat("${", name, "}"));
    }
    absl::StatusOr<std::string> text =
        frozen.Substitute(step.expect().pattern(), /*escape_xml=*/true);
    if (!text.ok()) return StepError(std::string(text.status().message()));
    std::optional<Element> pattern = ParsePattern(*text);
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

  void CheckBackground() {
    auto& inbox = peer_->inbox();
    for (auto it = background_.begin(); it != background_.end();) {
      BackgroundExpect& expect = **it;
      bool matched = false;
      for (auto& received : inbox) {
        if (received.consumed) continue;
        if (Match(*expect.pattern, received.stanza, vars_).matched) {
          received.consumed = true;
          matched = true;
          expect.record->set_stanza(received.stanza.ToString());
          break;
        }
      }
      if (!matched) {
        ++it;
        continue;
      }
      expect.record->set_verdict(PASS);
      expect.record->set_duration_us(Us(clock_.Now() - expect.start));
      expect.record->set_message(
          absl::StrCat("matched after ", Pretty(clock_.Now() - expect.start),
                       " (checked in the background)"));
      it = background_.erase(it);
    }
    if (background_.empty() && steps_over_) Finish(PASS, "");
  }

  void BackgroundTimedOut(BackgroundExpect* expect) {
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
    Finish(FAIL, absl::StrCat("expect at ", step.location().file(), ":",
                              step.location().line(), ": ", message));
  }

  std::string RecentTranscript() const {
    std::string out;
    const int n = result_.transcript_size();
    for (int i = std::max(0, n - options_.context_stanzas); i < n; ++i) {
      const StanzaRecord& r = result_.transcript(i);
      absl::StrAppendFormat(&out, "  %8.3fs %-11s %s\n", r.time_us() / 1e6,
                            r.direction(), r.xml());
    }
    return out;
  }

  // --- Media
  // ------------------------------------------------------------------

  void StartMedia(const MediaStep& media) {
    media_sim::GiceChannel* channel = peer_->channel("rtp");
    if (channel == nullptr) {
      return StepError(
          "a media step needs the peer's candidates on channel rtp: send "
          "${candidates:rtp} first");
    }
    absl::StatusOr<std::string> text = vars_.Substitute(media.codec(), false);
    if (!text.ok()) return StepError(std::string(text.status().message()));
    absl::StatusOr<media_sim::RtpCodec> codec = ParseMediaCodec(*text);
    if (!codec.ok()) return StepError(std::string(codec.status().message()));
    loopback_ = std::make_unique<MediaLoopback>(
        clock_, *channel, *codec, absl::Uniform<uint32_t>(bitgen_));
    loopback_->Start();
    step_timer_ = clock_.CallAfter(Ms(media.within().ms()),
                                   [this] { FinishMedia(/*timed_out=*/true); });
    PollMedia();
  }

  // Ends the step early once enough packets went each way.
  void PollMedia() {
    media_poll_ = clock_.CallAfter(absl::Milliseconds(100), [this] {
      const uint64_t wanted =
          scenario_.steps(pc_).media().min_packets_each_way();
      if (loopback_->sent() >= wanted &&
          loopback_->received().packets >= wanted) {
        return FinishMedia(/*timed_out=*/false);
      }
      PollMedia();
    });
  }

  void FinishMedia(bool timed_out) {
    const MediaStep& media = scenario_.steps(pc_).media();
    MediaReport report = loopback_->Report();
    loopback_.reset();
    media_poll_.reset();
    step_timer_.reset();
    *current_->mutable_media() = report;

    const std::vector<std::string> problems =
        MediaProblems(media, report, timed_out);
    const std::string figures = MediaFigures(report);
    if (problems.empty()) return StepDone(PASS, figures);
    StepFailed(absl::StrJoin(problems, "; "), figures);
  }

  // --- Verdicts
  // --------------------------------------------------------------------

  void FinishStepRecord(Verdict verdict, const std::string& message) {
    current_->set_verdict(verdict);
    current_->set_duration_us(Us(clock_.Now() - step_start_));
    if (!message.empty()) current_->set_message(message);
  }

  void StepDone(Verdict verdict, const std::string& message) {
    step_timer_.reset();
    FinishStepRecord(verdict, message);
    ++pc_;
    ContinueSoon();
  }

  void StepFailed(const std::string& message, const std::string& diff) {
    step_timer_.reset();
    const Step& step = scenario_.steps(pc_);
    current_->set_diff(diff);
    if (step.optional())
      return StepDone(SKIPPED, absl::StrCat(message, " (optional)"));
    FinishStepRecord(FAIL, message);
    Finish(FAIL, absl::StrCat(StepKind(step), " at ", step.location().file(),
                              ":", step.location().line(), ": ", message));
  }

  void StepError(const std::string& message) {
    step_timer_.reset();
    FinishStepRecord(ERROR, message);
    const Step& step = scenario_.steps(pc_);
    Finish(ERROR, absl::StrCat(StepKind(step), " at ", step.location().file(),
                               ":", step.location().line(), ": ", message));
  }

  // Fails whatever is running (deadline, client failure).
  void FailCurrent(const std::string& message) {
    if (finished_) return;
    waiting_ = Wait::kNone;
    if (current_ != nullptr && current_->verdict() == VERDICT_UNSPECIFIED) {
      current_->set_diff(
          absl::StrCat("last stanzas exchanged:\n", RecentTranscript()));
      FinishStepRecord(FAIL, message);
    }
    Finish(FAIL, message);
  }

  // Background expects still pending decide the verdict when they resolve.
  void FinishFromSteps() {
    steps_over_ = true;
    if (background_.empty()) Finish(PASS, "");
  }

  void FinishWithError(const std::string& message) { Finish(ERROR, message); }

  // VERDICT_UNSPECIFIED is used for "never ready": reported as an error with
  // the kCutNeverReady text so the command line can tell it apart.
  void Finish(Verdict verdict, const std::string& failure) {
    if (finished_) return;
    finished_ = true;
    step_timer_.reset();
    deadline_timer_.reset();
    ready_timer_.reset();
    // Steps never reached are reported as skipped.
    for (int i =
             pc_ + (current_ != nullptr && current_->index() == pc_ ? 1 : 0);
         i < scenario_.steps_size(); ++i) {
      if (verdict == PASS) break;
      StepResult* skipped = result_.add_steps();
      skipped->set_index(i);
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

  // Keeps the client and the peer running after the verdict (oracles only).
  void Settle() {
    CollectPeerFigures();
    if (clock_.Now() >= settle_end_ ||
        (options_.settled && options_.settled(result_))) {
      return Complete();
    }
    settle_timer_ = clock_.CallAfter(absl::Seconds(1), [this] { Settle(); });
  }

  void Complete() {
    settle_timer_.reset();
    CollectPeerFigures();
    result_.set_wall_us(absl::ToInt64Microseconds(absl::Now() - wall_start_));
    Teardown();
    // Report from a fresh handler: the callback may destroy the runner.
    boost::asio::post(io_, [done = std::move(done_), result = result_] {
      if (done) done(result);
    });
  }

  // Idempotent: settling refreshes the figures on every tick.
  void CollectPeerFigures() {
    result_.set_end_us(Us(clock_.Now() - start_));
    result_.set_media_from_client(0);
    result_.clear_peer_findings();
    if (peer_ == nullptr) return;
    for (const char* name : {"rtp", "rtcp", "video_rtp", "video_rtcp"}) {
      media_sim::GiceChannel* channel = peer_->channel(name);
      if (channel == nullptr) continue;
      const media_sim::GiceStats& stats = channel->stats();
      result_.set_media_from_client(result_.media_from_client() +
                                    stats.media_received);
      for (const auto& [finding, count] : GiceFindings(stats)) {
        (*result_.mutable_peer_findings())[finding] += count;
      }
    }
  }

  void Teardown() {
    media_poll_.reset();
    loopback_.reset();  // before the peer and its channels
    if (observer_id_ != 0) {
      server_.router().RemoveObserver(observer_id_);
      observer_id_ = 0;
    }
    if (cut_ != nullptr) cut_->Stop();
    peer_.reset();
  }

  enum class Wait { kNone, kExpect, kExpectNone };

  boost::asio::io_context& io_;
  Clock& clock_;
  fake_server::FakeServer& server_;
  Scenario scenario_;
  std::unique_ptr<ClientUnderTest> cut_;
  RunnerOptions options_;
  std::mt19937_64 bitgen_;
  Done done_;

  std::unique_ptr<SimulatedPeer> peer_;
  xmpp::Jid cut_bare_;
  xmpp::Jid cut_jid_;
  bool ready_ = false;
  bool finished_ = false;
  absl::Duration start_;
  absl::Duration ready_at_;
  absl::Time wall_start_;
  int observer_id_ = 0;

  Variables vars_;
  std::map<std::string, int> labels_;
  // Inbox position of the stanza each labelled expect matched.
  std::map<std::string, size_t> matched_at_;
  int pc_ = 0;
  StepResult* current_ = nullptr;
  absl::Duration step_start_;
  Wait waiting_ = Wait::kNone;
  std::vector<PendingExpect> pending_;
  size_t inbox_mark_ = 0;

  std::unique_ptr<Timer> ready_timer_;
  std::unique_ptr<Timer> deadline_timer_;
  std::unique_ptr<Timer> step_timer_;
  std::unique_ptr<Timer> media_poll_;
  std::unique_ptr<Timer> settle_timer_;
  absl::Duration settle_end_;
  std::vector<std::unique_ptr<BackgroundExpect>> background_;
  bool steps_over_ = false;
  std::unique_ptr<MediaLoopback> loopback_;
  // Placeholders of the current send step whose round was gathered.
  std::set<size_t> gathered_;
  ScenarioResult result_;
};

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
