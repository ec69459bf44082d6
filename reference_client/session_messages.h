// Building and reading the stanzas of a Google session (PROTOCOL.md §1, §3.1):
// the
// `<iq type="set"><session/></iq>` envelope, acknowledgements, libjingle-shaped
// errors and candidates in both dialects (G1 `<candidate>` in the session
// namespace, G2 inside `<transport xmlns=".../p2p">`).
#ifndef TALKCHECK_REFERENCE_CLIENT_SESSION_MESSAGES_H_
#define TALKCHECK_REFERENCE_CLIENT_SESSION_MESSAGES_H_

#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "media_sim/candidate.h"
#include "xmpp/element.h"

namespace talkcheck::reference_client {

// LJ04 keys sessions by (id, initiator), compared byte for byte.
struct SessionKey {
  std::string id;
  std::string initiator;
  friend bool operator<(const SessionKey& a, const SessionKey& b) {
    return std::tie(a.id, a.initiator) < std::tie(b.id, b.initiator);
  }
};

// `<iq type="set" to=TO><session xmlns=".../session" type=TYPE id=ID
// initiator=INITIATOR>children</session></iq>`. The stream adds the iq id.
xmpp::Element SessionIq(absl::string_view to, absl::string_view type,
                        absl::string_view id, absl::string_view initiator,
                        std::vector<xmpp::Element> children = {});

// The empty `<iq type="result" id=ID to=FROM/>` acknowledging `request`.
xmpp::Element IqResult(const xmpp::Element& request);

// libjingle's error shape (SessionManager::CreateErrorMessage): `<iq
// type="error" id=ID to=FROM>`, a copy of the request's children, then `<error
// type=TYPE><COND xmlns=stanzas/>[extra]<text
// xml:lang="en">TEXT</text></error>` (no text when empty).
xmpp::Element IqError(const xmpp::Element& request, absl::string_view type,
                      absl::string_view condition, absl::string_view text,
                      const xmpp::Element* extra = nullptr);

// A `<candidate/>` in namespace `ns` with every attribute of PROTOCOL.md §3.1
// (the password omitted when `with_password` is false).
xmpp::Element WriteCandidate(const media_sim::Candidate& candidate,
                             absl::string_view ns, bool with_password = true);

// What was wrong with a received candidate, in LJ04's words.
struct CandidateError {
  std::string text;
  // Set for a channel name LJ04 voice does not have (anything but "rtp"): the
  // error then carries <unknown-channel-name xmlns=p2p name=X/>.
  std::string unknown_channel;
};

// Reads one received candidate per LJ04 `P2PTransport::ParseCandidate`: name,
// address, port, username, preference, protocol and generation are required;
// password, type and network optional.
absl::StatusOr<media_sim::Candidate> ReadCandidate(const xmpp::Element& element,
                                                   CandidateError& error);

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_SESSION_MESSAGES_H_
