#include "harness/record/scenario_writer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <regex>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "harness/record/generalizer.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

constexpr double kSlackFactor = 3;
// The first stanza has no earlier one to measure from.
constexpr absl::Duration kFirstWithin = absl::Seconds(10);
// What the media step asks: RTP both ways for about two seconds at 50 pps.
constexpr absl::Duration kMediaWithin = absl::Seconds(10);
constexpr int kMediaMinPackets = 100;
// On top of every bound and delay: the scenario's global deadline.
constexpr absl::Duration kTimeoutSlack = absl::Seconds(10);
constexpr absl::Duration kMinTimeout = absl::Seconds(30);

constexpr char kXmlNamespace[] = "http://www.w3.org/XML/1998/namespace";

// The stanza as indented XML, the way the library's scenarios are written.
void AppendPretty(const xmpp::Element& e, absl::string_view parent_ns,
                  int indent, std::string& out) {
  const std::string pad(indent, ' ');
  absl::StrAppend(&out, pad, "<", e.name());
  if (e.ns() != parent_ns)
    absl::StrAppend(&out, " xmlns=\"", xmpp::EscapeAttribute(e.ns()), "\"");
  for (const xmpp::Attribute& a : e.attributes()) {
    if (!a.ns.empty() && a.ns != kXmlNamespace) continue;
    absl::StrAppend(&out, " ", a.ns.empty() ? "" : "xml:", a.name, "=\"",
                    xmpp::EscapeAttribute(a.value), "\"");
  }
  const std::vector<const xmpp::Element*> children = e.Children();
  const std::string text(absl::StripAsciiWhitespace(e.Text()));
  if (children.empty() && text.empty()) {
    absl::StrAppend(&out, "/>\n");
  } else if (children.empty()) {
    absl::StrAppend(&out, ">", xmpp::EscapeText(text), "</", e.name(), ">\n");
  } else {
    absl::StrAppend(&out, ">\n");
    if (!text.empty())
      absl::StrAppend(&out, pad, "  ", xmpp::EscapeText(text), "\n");
    for (const xmpp::Element* child : children)
      AppendPretty(*child, e.ns(), indent + 2, out);
    absl::StrAppend(&out, pad, "</", e.name(), ">\n");
  }
}

// A bound with slack for something the recorded client did `gap` after the
// stanza before it.
absl::Duration Within(absl::Duration gap, absl::Duration min_within) {
  const absl::Duration bound = gap * kSlackFactor + min_within;
  return absl::Seconds(std::ceil(absl::ToDoubleSeconds(bound)));
}

// The user's action that made the CUT send a session message of `type`.
const char* ControlFor(absl::string_view type) {
  if (type == "initiate") return "call";
  if (type == "accept") return "answer";
  if (type == "reject") return "reject";
  if (type == "terminate") return "hangup";
  return nullptr;
}

// A capture that nothing uses after it matches any value: `*` says so (and
// lint warns on the other spelling).
std::string StarUnusedCaptures(std::string text) {
  static const std::regex kCapture(R"(\$\{(cut_[A-Za-z0-9_]+)\})");
  std::map<std::string, int> uses;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kCapture);
       it != std::sregex_iterator(); ++it) {
    ++uses[(*it)[1].str()];
  }
  for (const auto& [name, count] : uses) {
    if (count == 1) {
      text = absl::StrReplaceAll(
          text, {{absl::StrCat("=\"${", name, "}\""), "=\"*\""}});
    }
  }
  return text;
}

// `to="${cut}"` first, as the library's scenarios write it, then the rest.
void AddressToCut(xmpp::Element& stanza) {
  const std::vector<xmpp::Attribute> attributes = stanza.attributes();
  for (const xmpp::Attribute& a : attributes) {
    if (a.ns.empty()) stanza.RemoveAttr(a.name);
  }
  stanza.SetAttr("to", "${cut}");
  for (const xmpp::Attribute& a : attributes) {
    if (a.ns.empty() && a.name != "to") stanza.SetAttr(a.name, a.value);
  }
}

struct Steps {
  std::string text;
  absl::Duration total;  // the bounds and delays, for the global timeout
  void Add(std::string step, absl::Duration bound) {
    absl::StrAppend(&text, step);
    total += bound;
  }
};

}  // namespace

std::string DurationText(absl::Duration duration) {
  const int64_t ms = absl::ToInt64Milliseconds(duration);
  if (ms % 1000 == 0) return absl::StrCat(ms / 1000, "s");
  return absl::StrCat(ms, "ms");
}

absl::StatusOr<std::string> WriteScenario(
    const RecordedCall& call, const ScenarioWriterOptions& options) {
  const xmpp::Jid& cut = options.cut_is_caller ? call.caller : call.callee;
  const xmpp::Jid& peer = options.cut_is_caller ? call.callee : call.caller;
  std::vector<std::pair<Side, const xmpp::Element*>> sides;
  for (const RecordedStanza& s : call.stanzas)
    sides.emplace_back(s.from == cut ? Side::kCut : Side::kPeer, &s.stanza);
  if (std::none_of(sides.begin(), sides.end(),
                   [](const auto& s) { return s.first == Side::kCut; })) {
    return absl::InvalidArgumentError(
        absl::StrCat("the recorded call holds nothing ", cut.ToString(),
                     " sent: nothing to check"));
  }
  Generalizer generalizer(cut, peer, cut.domain());
  generalizer.set_stable_peer_ids(PeerIdsAnsweredLate(sides));

  Steps steps;
  bool accepted = false;
  bool peer_candidates = false;
  bool media_written = false;
  bool g2 = false;
  bool peer_answers_disco = false;
  for (size_t i = 0; i < call.stanzas.size(); ++i) {
    const RecordedStanza& recorded = call.stanzas[i];
    const Side side = sides[i].first;
    const absl::Duration gap = i == 0
                                   ? absl::ZeroDuration()
                                   : recorded.time - call.stanzas[i - 1].time;
    const xmpp::Element* session = SessionOf(recorded.stanza);
    const std::string type =
        session != nullptr ? session->AttrOr("type", "") : "";
    if (type == "initiate" &&
        session->FindChild(xmpp::ns::kGoogleP2p, "transport") != nullptr) {
      g2 = true;
    }
    if (side == Side::kPeer && recorded.stanza.AttrOr("type", "") == "result" &&
        recorded.stanza.FindChild(xmpp::ns::kDiscoInfo, "query") != nullptr) {
      peer_answers_disco = true;
    }
    xmpp::Element stanza = recorded.stanza;
    generalizer.Generalize(side, stanza);
    stanza.RemoveAttr("from");

    // RTP once both sides can send it, before the call ends.
    const bool ends = type == "terminate" || type == "reject";
    bool after_media = false;
    if (ends && accepted && peer_candidates && !media_written) {
      steps.Add(absl::StrCat("  <!-- The call: media both ways on the "
                             "negotiated codecs (the recorded clients' RTP "
                             "did not pass the server). -->\n  <media "
                             "within=\"",
                             DurationText(kMediaWithin), "\" min-packets=\"",
                             kMediaMinPackets, "\" max-loss=\"5%\"/>\n"),
                kMediaWithin);
      media_written = after_media = true;
    }
    std::string xml;
    if (side == Side::kCut) {
      stanza.RemoveAttr("to");
      if (const char* action = ControlFor(type); action != nullptr) {
        steps.Add(
            absl::StrCat(
                "  <control action=\"", action, "\"",
                std::string(action) == "call" ? " target=\"${peer}\"" : "",
                "/>\n"),
            absl::ZeroDuration());
      }
      const absl::Duration within =
          i == 0 ? kFirstWithin : Within(gap, options.min_within);
      AppendPretty(stanza, xmpp::ns::kClient, 4, xml);
      steps.Add(absl::StrCat("  <expect within=\"", DurationText(within),
                             "\">\n", xml, "  </expect>\n"),
                within);
    } else {
      AddressToCut(stanza);
      const absl::Duration pause = absl::Milliseconds(
          absl::ToInt64Milliseconds(gap) / 100 * 100);  // whole 100 ms
      if (!after_media && i > 0 && pause >= options.min_delay) {
        steps.Add(
            absl::StrCat("  <delay for=\"", DurationText(pause), "\"/>\n"),
            pause);
      }
      AppendPretty(stanza, xmpp::ns::kClient, 4, xml);
      if (xml.find("${candidates:") != std::string::npos)
        peer_candidates = true;
      steps.Add(absl::StrCat("  <send>\n", xml, "  </send>\n"),
                absl::ZeroDuration());
    }
    if (type == "accept") accepted = true;
  }

  const bool peer_is_caller = options.cut_is_caller == false;
  std::string out = "<?xml version=\"1.0\"?>\n";
  absl::StrAppend(&out, "<!-- Written by talkcheck record from a call between ",
                  call.caller.ToString(), " (caller) and ",
                  call.callee.ToString(),
                  " (callee). The client under test is the ",
                  options.cut_is_caller ? "caller" : "callee",
                  "; the simulated peer plays the other side. Bounds are ",
                  kSlackFactor, " times what the recorded client took, plus ",
                  DurationText(options.min_within), ". -->\n");
  const absl::Duration timeout = std::max(
      kMinTimeout, absl::Seconds(std::ceil(
                       absl::ToDoubleSeconds(steps.total + kTimeoutSlack))));
  // A client that called in G2 is a G2 caller: `talkcheck run` tells the
  // bundled reference client to call so for this tag (scenarios/README.md).
  absl::StrAppend(
      &out, "<scenario name=\"", xmpp::EscapeAttribute(options.name),
      "\" timeout=\"", DurationText(timeout), "\"",
      g2 && options.cut_is_caller ? " tags=\"g2-caller\"" : "", ">\n");
  absl::StrAppend(&out, "  <description>Recorded call: the client as ",
                  options.cut_is_caller ? "caller" : "callee", " (",
                  call.stanzas.size(),
                  " iqs between the two sides, in the recorded order).",
                  "</description>\n");
  absl::StrAppend(
      &out, "  <peer user=\"", xmpp::EscapeAttribute(peer.local()),
      "\" resource=\"", xmpp::EscapeAttribute(peer.resource()), "\" role=\"",
      peer_is_caller ? "caller" : "callee", "\" dialect=\"", g2 ? "g2" : "g1",
      "\" ack-session-iqs=\"false\"",
      peer_answers_disco ? " answer-disco=\"false\"" : "",
      g2 && !peer_is_caller ? " transport-accept=\"false\"" : "", "/>\n");
  for (const DeclaredVariable& v : generalizer.declared()) {
    absl::StrAppend(&out, "  <var name=\"", v.name, "\" value=\"",
                    xmpp::EscapeAttribute(v.value), "\"/>\n");
  }
  absl::StrAppend(&out, steps.text, "</scenario>\n");
  return StarUnusedCaptures(std::move(out));
}

}  // namespace talkcheck::harness
