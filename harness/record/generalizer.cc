#include "harness/record/generalizer.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace talkcheck::harness {
namespace {

// Per-run values by where they sit: (element, attribute) -> kind.
const char* KindOf(const xmpp::Element& element, absl::string_view attribute) {
  if (element.name() == "session" && attribute == "id") return "sid";
  if (attribute == "ssrc") return "ssrc";
  if (element.name() == "candidate") {
    if (attribute == "address") return "address";
    if (attribute == "port") return "port";
    if (attribute == "username") return "username";
    if (attribute == "password") return "password";
  }
  return nullptr;
}

// Values random enough that the same value anywhere else in a stanza (a
// redirect's cookie, an echoed session id) is the same thing, not chance: of
// those kinds, and not as short as a client's iq id "1" (or a preference).
bool IsDistinctive(absl::string_view kind, absl::string_view value) {
  constexpr size_t kMinDistinctiveBytes = 6;
  return (kind == "sid" || kind == "iq" || kind == "username" ||
          kind == "password") &&
         value.size() >= kMinDistinctiveBytes;
}

bool IsStanza(const xmpp::Element& element) {
  return element.name() == "iq" || element.name() == "message" ||
         element.name() == "presence";
}

}  // namespace

std::string OrdinalName(absl::string_view base, int ordinal) {
  static constexpr const char* kOrdinals[] = {
      "",      "",        "second", "third", "fourth", "fifth",
      "sixth", "seventh", "eighth", "ninth", "tenth"};
  if (ordinal <= 1) return std::string(base);
  if (ordinal < static_cast<int>(std::size(kOrdinals)))
    return absl::StrCat(base, "_", kOrdinals[ordinal]);
  // Past ten, the number twice: n11n11 and n12n12 differ in two places
  // apart, which lint does not count as one typo.
  return absl::StrCat(base, "_n", ordinal, "n", ordinal);
}

Generalizer::Generalizer(xmpp::Jid cut, xmpp::Jid peer, std::string domain)
    : jids_{{cut.ToString(), "${cut}"},
            {peer.ToString(), "${peer}"},
            {cut.Bare().ToString(), "${cut_bare}"},
            {peer.Bare().ToString(), "${peer_bare}"},
            {std::move(domain), "${server}"}} {}

std::string Generalizer::ReplaceJidsIn(std::string text) const {
  // JIDs with a localpart only: the domain alone is too common a word.
  for (const auto& [raw, variable] : jids_) {
    if (raw.find('@') != std::string::npos)
      text = absl::StrReplaceAll(text, {{raw, variable}});
  }
  return text;
}

void Generalizer::Generalize(Side side, xmpp::Element& stanza) {
  GeneralizeTree(side, stanza, /*root=*/true);
}

void Generalizer::GeneralizeTree(Side side, xmpp::Element& element, bool root) {
  if (side == Side::kPeer) ReplacePeerCandidates(element);
  std::vector<std::pair<std::string, std::string>> updates;
  for (const xmpp::Attribute& attribute : element.attributes()) {
    if (!attribute.ns.empty()) continue;
    std::string replaced =
        Replace(side, element, attribute.name, attribute.value, root);
    if (replaced != attribute.value)
      updates.emplace_back(attribute.name, std::move(replaced));
  }
  for (auto& [name, value] : updates) element.SetAttr(name, value);
  // JIDs in character data (a message body, an error text).
  const std::string text = element.Text();
  if (!text.empty()) {
    const std::string replaced = ReplaceJidsIn(text);
    if (replaced != text) element.SetText(replaced);
  }
  for (xmpp::Element* child : element.MutableChildren())
    GeneralizeTree(side, *child, /*root=*/false);
}

std::string Generalizer::Replace(Side side, const xmpp::Element& element,
                                 absl::string_view attribute,
                                 const std::string& value, bool root) {
  if (root && attribute == "id" && IsStanza(element))
    return ReplaceIqId(side, value);
  for (const auto& [raw, variable] : jids_) {
    if (raw == value) return variable;
  }
  if (const char* kind = KindOf(element, attribute); kind != nullptr) {
    const std::string key = absl::StrCat(kind, ":", value);
    if (auto it = known_.find(key); it != known_.end()) return it->second;
    if (side == Side::kCut) return NewCapture(kind, value);
    // The peer's own values: a session id of the scenario's making.
    if (std::string(kind) == "sid") {
      ++peer_sessions_;
      std::string replacement = peer_sessions_ == 1
                                    ? "${sid}"
                                    : absl::StrCat("${sid}-", peer_sessions_);
      known_[key] = replacement;
      if (IsDistinctive(kind, value))
        known_[absl::StrCat("any:", value)] = replacement;
      return replacement;
    }
    return value;
  }
  if (auto it = known_.find(absl::StrCat("any:", value)); it != known_.end())
    return it->second;
  // A JID inside a longer value (`xmpp:` URIs, a redirect target).
  return ReplaceJidsIn(value);
}

std::string Generalizer::ReplaceIqId(Side side, const std::string& value) {
  const std::string key = absl::StrCat("iq:", value);
  auto peer_id = peer_ids_.find(value);
  std::string replacement;
  if (peer_id != peer_ids_.end()) {
    // The CUT answers the peer's iq: `${last_id}` while it still names it.
    replacement = side == Side::kCut && peer_id->second == "${iq}"
                      ? "${last_id}"
                      : peer_id->second;
  } else if (auto it = known_.find(key); it != known_.end()) {
    replacement = it->second;
  } else if (side == Side::kCut) {
    replacement = NewCapture("iq", value);
  } else if (stable_peer_ids_.count(value) > 0) {
    const std::string name =
        OrdinalName("peer_iq", static_cast<int>(declared_.size()) + 1);
    declared_.push_back(
        {name, absl::StrCat("peer", declared_.size() + 1, "-${sid}")});
    replacement = absl::StrCat("${", name, "}");
    peer_ids_[value] = replacement;
  } else {
    replacement = "${iq}";
    peer_ids_[value] = replacement;
  }
  return replacement;
}

std::string Generalizer::NewCapture(absl::string_view kind,
                                    const std::string& value) {
  const int ordinal = ++captures_per_kind_[std::string(kind)];
  const std::string replacement =
      absl::StrCat("${", OrdinalName(absl::StrCat("cut_", kind), ordinal), "}");
  known_[absl::StrCat(kind, ":", value)] = replacement;
  if (IsDistinctive(kind, value))
    known_[absl::StrCat("any:", value)] = replacement;
  return replacement;
}

void Generalizer::ReplacePeerCandidates(xmpp::Element& element) {
  std::vector<const xmpp::Element*> candidates;
  std::vector<std::pair<std::string, int>> channels;  // in order, with round
  for (const xmpp::Element* child : element.Children()) {
    if (child->name() != "candidate") continue;
    candidates.push_back(child);
    const std::string name = child->AttrOr("name", "rtp");
    int generation = 0;
    if (!absl::SimpleAtoi(child->AttrOr("generation", "0"), &generation))
      generation = 0;
    auto seen = std::find_if(channels.begin(), channels.end(),
                             [&](const auto& c) { return c.first == name; });
    if (seen == channels.end()) {
      channels.emplace_back(name, generation);
    } else {
      seen->second = std::max(seen->second, generation);
    }
  }
  if (candidates.empty()) return;
  for (const xmpp::Element* candidate : candidates)
    element.RemoveChild(candidate);
  std::string placeholders;
  for (const auto& [name, generation] : channels) {
    auto newest = peer_generation_.find(name);
    // A channel's first round, or the same round again: its current
    // candidates; a later round: a new generation of the simulated peer's.
    const bool next =
        newest != peer_generation_.end() && generation > newest->second;
    if (newest == peer_generation_.end() || next)
      peer_generation_[name] = generation;
    absl::StrAppend(&placeholders, "${candidates:", name, next ? ":next" : "",
                    "}");
  }
  element.AddText(placeholders);
}

std::set<std::string> PeerIdsAnsweredLate(
    const std::vector<std::pair<Side, const xmpp::Element*>>& stanzas) {
  std::set<std::string> cut_ids;
  std::set<std::string> peer_ids;
  std::set<std::string> late;
  std::string last_peer_id;
  for (const auto& [side, stanza] : stanzas) {
    const std::string* id = stanza->Attr("id");
    if (id == nullptr) continue;
    if (side == Side::kPeer) {
      if (cut_ids.count(*id) == 0) peer_ids.insert(*id);
      last_peer_id = *id;
      continue;
    }
    const std::string type = stanza->AttrOr("type", "");
    if (peer_ids.count(*id) > 0 && (type == "result" || type == "error")) {
      if (*id != last_peer_id) late.insert(*id);
    } else if (peer_ids.count(*id) == 0) {
      cut_ids.insert(*id);
    }
  }
  return late;
}

}  // namespace talkcheck::harness
