#include "reference_client/contact_caps.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace ns = xmpp::ns;
using xmpp::Element;

std::optional<Element> ContactCaps::OnPresence(const Element& presence) {
  const std::string from = presence.AttrOr("from", "");
  if (from.empty()) return std::nullopt;
  if (presence.AttrOr("type", "") == "unavailable") {
    asked_.erase(from);
    voice_.erase(from);
    return std::nullopt;
  }
  const Element* caps = presence.FindChild(ns::kCaps, "c");
  if (caps == nullptr || asked_.count(from) > 0) return std::nullopt;
  const std::vector<std::string> ext =
      absl::StrSplit(caps->AttrOr("ext", ""), ' ', absl::SkipEmpty());
  bool has_voice_ext = false;
  for (const std::string& e : ext) has_voice_ext |= e == kVoiceExt;
  if (!has_voice_ext) return std::nullopt;
  asked_.insert(from);
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "get").SetAttr("to", from);
  iq.AddChild(ns::kDiscoInfo, "query")
      .SetAttr("node", absl::StrCat(caps->AttrOr("node", ""), "#", kVoiceExt));
  return iq;
}

void ContactCaps::OnDiscoReply(const std::string& jid,
                               const absl::StatusOr<Element>& reply) {
  if (!reply.ok() || reply->AttrOr("type", "") != "result") return;
  const Element* query = reply->FindChild(ns::kDiscoInfo, "query");
  if (query == nullptr) return;
  for (const Element* feature :
       query->FindChildren(ns::kDiscoInfo, "feature")) {
    if (feature->AttrOr("var", "") == ns::kGoogleVoiceV1) voice_.insert(jid);
  }
}

bool ContactCaps::HasVoice(const std::string& jid) const {
  return voice_.count(jid) > 0;
}

}  // namespace talkcheck::reference_client
