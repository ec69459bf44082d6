// Gingle session messages written and read as Jingle, for a session that a
// hybrid (G3) initiate opened and that the client answers in Jingle, as
// libjingle >= 0.5 does (PROTOCOL.md §0.1, §11): LJ13 parses a hybrid
// initiate as a Jingle message of protocol HYBRID, and
// Session::OnIncomingMessage then switches the session to Jingle; from there
// every action is written with WriteJingleAction. The names map as in §11's
// table (candidates -> transport-info, accept -> session-accept, terminate
// and reject -> session-terminate with a reason, info -> session-info); the
// one audio content is named "audio", created by the initiator
// (WriteJingleContent), its description is in the Jingle RTP namespace, and
// Google's p2p transport travels inside it with GICE candidates.
//
// Example:
//   std::optional<Element> jingle = JingleOfGingle("accept", sid, children);
//   std::optional<Element> session = GingleOfJingle(*jingle, initiator);
#ifndef TALKCHECK_REFERENCE_CLIENT_JINGLE_MESSAGES_H_
#define TALKCHECK_REFERENCE_CLIENT_JINGLE_MESSAGES_H_

#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "xmpp/element.h"

namespace talkcheck::reference_client {

// The <jingle> twin of the Gingle message `type` whose <session> children
// are `children` (as session_messages.h writes them); nullopt for a type
// without one (initiate, transport-accept, redirect).
std::optional<xmpp::Element> JingleOfGingle(
    absl::string_view type, absl::string_view sid,
    const std::vector<xmpp::Element>& children);

// The Gingle <session> (type, id = sid, `initiator`) that the Jingle message
// `jingle` means, for code that reads Gingle. An action without a twin keeps
// its own name as the type (the session code answers it as unknown).
xmpp::Element GingleOfJingle(const xmpp::Element& jingle,
                             absl::string_view initiator);

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_JINGLE_MESSAGES_H_
