#include "harness/record/call_recorder.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {

const xmpp::Element* SessionOf(const xmpp::Element& iq) {
  return iq.FindChild(xmpp::ns::kGoogleSession, "session");
}

CallRecorder::CallRecorder(std::vector<xmpp::Jid> accounts)
    : accounts_(std::move(accounts)) {}

bool CallRecorder::IsAccount(const xmpp::Jid& jid) const {
  for (const xmpp::Jid& account : accounts_) {
    if (account.BareEquals(jid)) return true;
  }
  return false;
}

void CallRecorder::OnRouted(const fake_server::RoutedStanza& routed) {
  // Each stanza once, as it left its sender.
  if (routed.direction != fake_server::RoutedStanza::Direction::kFromEndpoint)
    return;
  const xmpp::Element& stanza = routed.stanza;
  if (stanza.name() != "iq" || answered_end_) return;
  absl::StatusOr<xmpp::Jid> to = xmpp::Jid::Parse(stanza.AttrOr("to", ""));
  if (!to.ok() || !IsAccount(routed.endpoint) || !IsAccount(*to) ||
      to->BareEquals(routed.endpoint)) {
    return;
  }
  const xmpp::Element* session = SessionOf(stanza);
  if (!started()) {
    if (session == nullptr || session->AttrOr("type", "") != "initiate") return;
    call_.sid = session->AttrOr("id", "");
    call_.caller = routed.endpoint;
    call_.callee = *to;
  } else {
    // An initiate to a bare JID: the callee is the resource that answers.
    const bool from_callee = call_.callee.is_bare()
                                 ? routed.endpoint.BareEquals(call_.callee)
                                 : routed.endpoint == call_.callee;
    const bool between_them =
        (routed.endpoint == call_.caller && to->BareEquals(call_.callee)) ||
        (from_callee && to->BareEquals(call_.caller));
    if (between_them && from_callee) call_.callee = routed.endpoint;
    if (session != nullptr && session->AttrOr("type", "") == "initiate" &&
        (session->AttrOr("id", "") != call_.sid || !between_them)) {
      if (second_call_.empty()) {
        second_call_ =
            absl::StrCat("session ", session->AttrOr("id", ""), " from ",
                         routed.endpoint.ToString(), " to ", to->ToString());
      }
      return;
    }
    if (!between_them) return;
  }
  call_.stanzas.push_back({routed.time, routed.endpoint, stanza});
  if (session != nullptr && session->AttrOr("id", "") == call_.sid) {
    const std::string type = session->AttrOr("type", "");
    if ((type == "terminate" || type == "reject") && !call_.ended) {
      call_.ended = true;
      end_id_ = stanza.AttrOr("id", "");
    }
  }
  const std::string type = stanza.AttrOr("type", "");
  if (call_.ended && (type == "result" || type == "error") &&
      stanza.AttrOr("id", "") == end_id_) {
    answered_end_ = true;
  }
}

absl::StatusOr<RecordedCall> CallRecorder::Result() const {
  if (!second_call_.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("more than one call: session ", call_.sid, " from ",
                     call_.caller.ToString(), " to ", call_.callee.ToString(),
                     ", then another began (", second_call_,
                     "); record one call at a time"));
  }
  if (!started()) return absl::NotFoundError("no call happened");
  return call_;
}

}  // namespace talkcheck::harness
