// Loader: the steps (<send>, <expect>, <expect-none>, <delay>, <any-order>,
// <control>, <peer-behaviour>, <media>) and what they all carry (location,
// optional, label, on-timeout).
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "harness/scenario/loader_internal.h"
#include "harness/scenario/profiles.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness::scenario_internal {
namespace {

constexpr char kStepList[] =
    "send, expect, expect-none, delay, any-order, one-of, repeat, control, "
    "peer-behaviour, media, end, include, var, description, peer";

// A non-negative decimal number followed by `unit` ("1.5%", "20ms").
std::optional<double> Number(absl::string_view text, absl::string_view unit) {
  double value = 0;
  if (!absl::ConsumeSuffix(&text, unit) || text.empty() ||
      !absl::ascii_isdigit(text.front()) || !absl::SimpleAtod(text, &value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

using tinyxml2::XMLElement;

void Loader::LoadCommon(const SourceFile& f, const XMLElement* e, bool timed,
                        bool nested, Step& step) {
  *step.mutable_location() = [&] {
    SourceLocation location;
    const LoadError at = At(f, e);
    location.set_file(at.file);
    location.set_line(at.line);
    location.set_column(at.column);
    for (auto it = include_sites_.rbegin(); it != include_sites_.rend(); ++it)
      *location.add_included_from() = *it;
    return location;
  }();
  if (std::optional<bool> optional = Bool(f, e, "optional")) {
    step.set_optional(*optional);
  }
  if (nested) return;
  if (const char* profiles = e->Attribute("profile")) {
    for (absl::string_view name : absl::StrSplit(
             profiles, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
      if (!IsKnownProfile(name)) {
        AttributeError(f, e, "profile",
                       absl::StrCat("unknown profile \"", name,
                                    "\"; known: ", KnownProfiles()));
      }
      step.add_profiles(std::string(name));
    }
  }
  if (const char* label = e->Attribute("label")) {
    absl::string_view text = label;
    if (text.empty() || std::any_of(text.begin(), text.end(), [](char c) {
          return !absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.';
        })) {
      AttributeError(f, e, "label",
                     absl::StrCat("invalid label \"", text,
                                  "\": use letters, digits, '_', '-', '.'"));
    } else if (auto [it, inserted] =
                   labels_.emplace(label, AtAttribute(f, e, "label"));
               !inserted) {
      AttributeError(f, e, "label",
                     absl::StrCat("duplicate label \"", label,
                                  "\"; first defined at ", it->second.file, ":",
                                  it->second.line, ":", it->second.column));
    } else {
      step.set_label(label);
    }
  }
  const char* on_timeout = timed ? e->Attribute("on-timeout") : nullptr;
  if (on_timeout == nullptr) return;
  absl::string_view value = on_timeout;
  if (value == "fail") {
    step.set_on_timeout(ON_TIMEOUT_FAIL);
  } else if (value == "continue") {
    step.set_on_timeout(ON_TIMEOUT_CONTINUE);
  } else if (absl::ConsumePrefix(&value, "goto:") && !value.empty()) {
    step.set_on_timeout(ON_TIMEOUT_GOTO);
    step.set_goto_label(std::string(value));
    gotos_.emplace_back(std::string(value), AtAttribute(f, e, "on-timeout"));
  } else {
    AttributeError(f, e, "on-timeout",
                   absl::StrCat("on-timeout must be \"fail\", \"continue\" or "
                                "\"goto:LABEL\", got \"",
                                on_timeout, "\""));
  }
}

bool Loader::LoadStep(SourceFile& f, const XMLElement* e, Container container,
                      Step& step) {
  const absl::string_view kind = e->Name();
  const bool nested = container == Container::kAnyOrder;
  if (nested && kind != "expect") {
    Error(f, e,
          absl::StrCat("<any-order> holds only <expect> steps, found <", kind,
                       ">"));
    return false;
  }
  using StepLoader = void (Loader::*)(SourceFile&, const XMLElement*, Step&);
  static const std::map<absl::string_view, StepLoader>* const kLoaders =
      new std::map<absl::string_view, StepLoader>{
          {"send", &Loader::LoadSend},
          {"expect", &Loader::LoadExpect},
          {"expect-none", &Loader::LoadExpectNone},
          {"delay", &Loader::LoadDelay},
          {"any-order", &Loader::LoadAnyOrder},
          {"control", &Loader::LoadControl},
          {"peer-behaviour", &Loader::LoadPeerBehaviour},
          {"media", &Loader::LoadMedia},
          {"end", &Loader::LoadEnd},
      };
  const auto it = kLoaders->find(kind);
  if (it == kLoaders->end()) {
    Error(
        f, e,
        absl::StrCat("unknown step <", kind, ">; expected one of ", kStepList));
    return false;
  }
  if (nested) {
    // The group has the control flow: members take no label or on-timeout.
    CheckAttributes(f, e, {"within", "fuzz", "exact", "optional"});
    LoadCommon(f, e, /*timed=*/false, /*nested=*/true, step);
    LoadExpectBody(f, e, /*nested=*/true, *step.mutable_expect());
  } else {
    (this->*(it->second))(f, e, step);
  }
  return true;
}

void Loader::LoadSend(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"from", "peer", "label", "optional"});
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  LoadStepPeer(f, e, step);
  SendStep& send = *step.mutable_send();
  if (const char* from = e->Attribute("from")) {
    if (std::strcmp(from, "server") == 0) {
      send.set_from(SendStep::SENDER_SERVER);
    } else if (std::strcmp(from, "peer") != 0) {
      AttributeError(f, e, "from",
                     absl::StrCat("from must be \"peer\" or \"server\", got \"",
                                  from, "\""));
    }
  }
  if (std::optional<std::string> stanza = Stanza(f, e, /*required=*/true)) {
    std::optional<xmpp::Element> parsed = CheckStanza(f, e, *stanza, nullptr);
    if (parsed && send.from() == SendStep::SENDER_PEER && IsInitiate(*parsed)) {
      initiate_sent_ = true;
    }
    send.set_stanza(*std::move(stanza));
  }
}

void Loader::LoadExpect(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e,
                  {"within", "fuzz", "exact", "next", "after", "peer", "to",
                   "label", "optional", "on-timeout", "profile"});
  LoadCommon(f, e, /*timed=*/true, /*nested=*/false, step);
  LoadStepPeer(f, e, step);
  step.mutable_expect()->set_any_address(LoadAnyAddress(f, e));
  LoadExpectBody(f, e, /*nested=*/false, *step.mutable_expect());
  if (!step.label().empty()) {
    expect_label_depth_[step.label()] = step.optional() ? -1 : branch_depth_;
  }
}

void Loader::LoadExpectBody(SourceFile& f, const XMLElement* e, bool nested,
                            ExpectStep& expect) {
  if (auto within = TimingAttribute(f, e, "within", /*required=*/!nested)) {
    *expect.mutable_within() = *within;
  }
  if (const char* exact = e->Attribute("exact");
      exact != nullptr && std::strcmp(exact, "children") == 0) {
    expect.set_exact_children(true);
  } else if (auto exact = Bool(f, e, "exact")) {
    expect.set_exact(*exact);
  }
  if (!nested) {
    if (auto next = Bool(f, e, "next")) expect.set_next(*next);
    if (const char* after = e->Attribute("after")) {
      // Only an earlier step can have matched before this one runs.
      if (labels_.count(after) == 0) {
        AttributeError(
            f, e, "after",
            absl::StrCat("after names no earlier step label \"", after, "\""));
      } else {
        expect.set_after(after);
      }
    }
  }
  if (std::optional<std::string> pattern = Stanza(f, e, /*required=*/true)) {
    std::vector<std::string> captures;
    CheckStanza(f, e, *pattern, &captures);
    // Names in regexes and negations must be set already: never captures.
    for (const std::string& name : CheckPatternValues(f, e, *pattern)) {
      captures.erase(std::remove(captures.begin(), captures.end(), name),
                     captures.end());
    }
    NoteCaptures(f, e, captures);
    // Defined for the steps after this one (after the group when nested).
    if (!nested) defined_.insert(captures.begin(), captures.end());
    expect.set_pattern(*std::move(pattern));
  }
}

void Loader::LoadExpectNone(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(
      f, e, {"for", "fuzz", "peer", "to", "label", "optional", "profile"});
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  LoadStepPeer(f, e, step);
  ExpectNoneStep& none = *step.mutable_expect_none();
  none.set_any_address(LoadAnyAddress(f, e));
  if (auto period = TimingAttribute(f, e, "for", /*required=*/true)) {
    *none.mutable_period() = *period;
  }
  if (std::optional<std::string> pattern = Stanza(f, e, /*required=*/false)) {
    std::vector<std::string> wildcards;  // a match fails: never committed
    CheckStanza(f, e, *pattern, &wildcards);
    CheckPatternValues(f, e, *pattern);
    none.set_pattern(*std::move(pattern));
  }
}

void Loader::LoadDelay(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"for", "fuzz", "label", "optional"});
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  DelayStep& delay = *step.mutable_delay();
  if (auto duration = TimingAttribute(f, e, "for", /*required=*/true)) {
    *delay.mutable_duration() = *duration;
  }
}

void Loader::LoadEnd(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"verdict", "reason", "label"});
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  EndStep& end = *step.mutable_end();
  const char* verdict = e->Attribute("verdict");
  const absl::string_view v = verdict == nullptr ? "pass" : verdict;
  if (v == "fail") {
    end.set_verdict(EndStep::FAIL);
  } else if (v == "not-applicable") {
    end.set_verdict(EndStep::NOT_APPLICABLE);
  } else if (v != "pass") {
    AttributeError(f, e, "verdict",
                   absl::StrCat("verdict must be \"pass\", \"fail\" or "
                                "\"not-applicable\", got \"",
                                v, "\""));
  }
  const char* reason = e->Attribute("reason");
  if (reason != nullptr) end.set_reason(reason);
  if (end.verdict() != EndStep::PASS && end.reason().empty()) {
    Error(f, e,
          absl::StrCat("<end verdict=\"", v, "\"> needs reason=\"...\": ",
                       end.verdict() == EndStep::FAIL
                           ? "which rule the client broke, from which source"
                           : "what the client does instead, which this "
                             "scenario does not check"));
  }
}

void Loader::LoadAnyOrder(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e,
                  {"within", "fuzz", "peer", "to", "label", "optional",
                   "on-timeout", "profile"});
  LoadCommon(f, e, /*timed=*/true, /*nested=*/false, step);
  LoadStepPeer(f, e, step);
  AnyOrderStep& group = *step.mutable_any_order();
  group.set_any_address(LoadAnyAddress(f, e));
  const std::optional<Timing> within =
      TimingAttribute(f, e, "within", /*required=*/true);
  if (within) *group.mutable_within() = *within;
  LoadChildren(f, e, Container::kAnyOrder, *group.mutable_steps());
  if (group.steps().empty()) {
    Error(f, e, "<any-order> needs at least one <expect>");
  }
  for (Step& member : *group.mutable_steps()) {
    if (within && !member.expect().has_within()) {
      *member.mutable_expect()->mutable_within() = *within;
    }
  }
  // The members' captures count after the group.
  for (const Step& member : group.steps()) {
    for (const std::string& name :
         ReferencedVariables(member.expect().pattern())) {
      if (IsValidVariableName(name) && captures_.count(name) > 0) {
        defined_.insert(name);
      }
    }
  }
}

void Loader::LoadControl(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(f, e, {"action", "target", "peer", "label", "optional"});
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  LoadStepPeer(f, e, step);
  ControlStep& control = *step.mutable_control();
  if (const char* action = Required(f, e, "action")) {
    const absl::string_view value = action;
    if (value == "call" || value == "hangup" || value == "answer" ||
        value == "reject") {
      control.set_action(action);
      if (value == "call") {
        // peer="bob": the call goes to that peer.
        control.set_target(step.peer().empty()
                               ? std::string("${peer}")
                               : absl::StrCat("${peer:", step.peer(), "}"));
        call_made_ = true;
      } else if (!step.peer().empty()) {
        // peer="bob": the client answers, rejects or hangs up bob's call,
        // not its newest.
        control.set_target(absl::StrCat("${peer:", step.peer(), "}"));
      }
      // A control that cannot apply fails for the scenario's sake, not the
      // client's: say so before anything runs.
      if ((value == "answer" || value == "reject") && !initiate_sent_) {
        AttributeError(f, e, "action",
                       absl::StrCat("nothing can be ringing at the client "
                                    "here: no earlier <send> from the peer "
                                    "holds an initiate, so \"",
                                    value, "\" cannot apply"));
      } else if (value == "hangup" && !initiate_sent_ && !call_made_) {
        AttributeError(f, e, "action",
                       "no call to hang up here: no earlier <send> from the "
                       "peer holds an initiate and no earlier control "
                       "\"call\"");
      }
    } else {
      AttributeError(f, e, "action",
                     absl::StrCat("action must be call, hangup, answer or "
                                  "reject, got \"",
                                  value, "\""));
    }
  }
  if (const char* target = e->Attribute("target")) {
    control.set_target(target);
    CheckReferences(f, e, target, nullptr);
  }
}

void Loader::LoadPeerBehaviour(SourceFile& f, const XMLElement* e, Step& step) {
  std::vector<absl::string_view> allowed = {"peer", "label", "optional"};
  for (const BehaviourAttribute& a : kBehaviourAttributes) {
    allowed.push_back(a.name);
  }
  CheckAttributes(f, e, allowed);
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  LoadStepPeer(f, e, step);
  LoadBehaviour(f, e, *step.mutable_peer_behaviour()->mutable_behaviour());
}

void Loader::LoadMedia(SourceFile& f, const XMLElement* e, Step& step) {
  CheckAttributes(
      f, e,
      {"codec", "min-packets", "within", "fuzz", "max-loss", "max-jitter",
       "peer", "label", "optional", "on-timeout", "profile"});
  CheckNoContent(f, e);
  LoadCommon(f, e, /*timed=*/true, /*nested=*/false, step);
  LoadStepPeer(f, e, step);
  MediaStep& media = *step.mutable_media();
  // Optional: without it the step checks what was negotiated.
  if (const char* codec = e->Attribute("codec")) {
    if (*codec == '\0') {
      AttributeError(f, e, "codec", "codec must not be empty");
    }
    media.set_codec(codec);
    CheckReferences(f, e, codec, nullptr);
  }
  if (auto within = TimingAttribute(f, e, "within", /*required=*/true)) {
    *media.mutable_within() = *within;
  }
  // Defaults: at least one packet each way; loss and jitter unchecked.
  media.set_min_packets_each_way(1);
  media.set_max_loss_percent(100);
  if (const char* packets = e->Attribute("min-packets")) {
    int value = 0;
    if (!absl::ascii_isdigit(*packets) || !absl::SimpleAtoi(packets, &value) ||
        value < 1) {
      AttributeError(
          f, e, "min-packets",
          absl::StrCat("min-packets must be a positive integer, got \"",
                       packets, "\""));
    } else {
      media.set_min_packets_each_way(value);
    }
  }
  if (const char* loss = e->Attribute("max-loss")) {
    std::optional<double> value = Number(loss, "%");
    if (!value || *value > 100) {
      AttributeError(f, e, "max-loss",
                     absl::StrCat("max-loss must be a percentage from 0% to "
                                  "100%, got \"",
                                  loss, "\""));
    } else {
      media.set_max_loss_percent(*value);
    }
  }
  if (const char* jitter = e->Attribute("max-jitter")) {
    std::optional<double> value = Number(jitter, "ms");
    if (!value || *value <= 0) {
      AttributeError(f, e, "max-jitter",
                     absl::StrCat("max-jitter must be a positive number of "
                                  "milliseconds such as \"20ms\", got \"",
                                  jitter, "\""));
    } else {
      media.set_max_jitter_ms(*value);
    }
  }
}

}  // namespace talkcheck::harness::scenario_internal
