// What the client knows of its contacts' voice support, learnt the way a
// client without Google's hard-coded bundles learns it (PROTOCOL.md §7): a
// contact's caps presence names the `voice-v1` extension, and disco#info of
// `node#voice-v1` answers with Google's voice feature. gabble asks so for
// every node it does not hard-code, libpurple for every contact; neither
// offers a call before the answer is in.
//
// Example:
//   ContactCaps caps;
//   if (std::optional<xmpp::Element> get = caps.OnPresence(presence))
//     stream.SendIq(*get, timeout, [&](auto reply) {
//       caps.OnDiscoReply(jid, reply);
//     });
//   if (!caps.HasVoice(jid)) ...  // not (yet) known to take calls
#ifndef TALKCHECK_REFERENCE_CLIENT_CONTACT_CAPS_H_
#define TALKCHECK_REFERENCE_CLIENT_CONTACT_CAPS_H_

#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "xmpp/element.h"

namespace talkcheck::reference_client {

// The caps extension that says a client takes voice calls (PROTOCOL.md §7).
inline constexpr char kVoiceExt[] = "voice-v1";

class ContactCaps {
 public:
  // The disco#info get (to the presence's `from`, for `node#voice-v1`) to
  // send for a contact's presence; nullopt when its caps name no voice-v1
  // extension or that contact was asked already. An unavailable presence
  // forgets the contact.
  std::optional<xmpp::Element> OnPresence(const xmpp::Element& presence);
  // The answer (or the failure) of the get OnPresence made for `jid`.
  void OnDiscoReply(const std::string& jid,
                    const absl::StatusOr<xmpp::Element>& reply);
  // Whether `jid` (a full JID) answered that it has Google voice.
  bool HasVoice(const std::string& jid) const;

 private:
  std::set<std::string> asked_;
  std::set<std::string> voice_;
};

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_CONTACT_CAPS_H_
