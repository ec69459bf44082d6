#include "reference_client/voice_client.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <map>
#include <optional>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "media_sim/candidate.h"
#include "media_sim/gice_channel.h"
#include "reference_client/codecs.h"
#include "reference_client/jingle_messages.h"
#include "reference_client/session_messages.h"
#include "reference_client/voice_client_impl.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace ns = xmpp::ns;
using media_sim::Candidate;
using xmpp::Element;

namespace {

// wrong-initiator: what a client that normalises JIDs would echo.
std::string MangleInitiator(const std::string& initiator) {
  std::string mangled = absl::AsciiStrToLower(initiator);
  if (const size_t slash = mangled.find('/'); slash != std::string::npos) {
    mangled.resize(slash);
  }
  if (mangled == initiator && !mangled.empty()) {
    mangled[0] = absl::ascii_toupper(mangled[0]);
  }
  return mangled;
}

bool IsTransportMessage(absl::string_view type) {
  return type == "candidates" || type == "transport-info";
}

}  // namespace

// ---------------------------------------------------------------------------
// Incoming session messages

// LJ13 keys a Jingle message by its sid alone (WriteJingleAction writes the
// initiator only on session-initiate).
void VoiceClient::Impl::OnJingleIq(const Element& iq, const Element& jingle) {
  const std::string sid = jingle.AttrOr("sid", "");
  for (const auto& [key, s] : sessions_) {
    if (s->jingle && s->sid == sid)
      return OnSessionIq(iq, GingleOfJingle(jingle, s->initiator));
  }
  SendError(iq, "modify", "bad-request", "unknown session");
}

void VoiceClient::Impl::OnSessionIq(const Element& iq, const Element& session) {
  const std::string type = *session.Attr("type");
  if (type == "initiate") return OnInitiate(iq, session);
  auto it = sessions_.find({*session.Attr("id"), *session.Attr("initiator")});
  // LJ04 also insists that the message comes from the session's peer.
  if (it == sessions_.end() || (it->second->remote != iq.AttrOr("from", "") &&
                                !Has(Fault::kAcceptAnyResource))) {
    if (Has(Fault::kIgnoreUnknownSession)) return;
    return SendError(iq, "modify", "bad-request", "unknown session");
  }
  Session& s = *it->second;
  if ((type == "terminate" || type == "reject") &&
      session.FirstChild() != nullptr && Has(Fault::kStrictTerminatePayload)) {
    return SendError(iq, "modify", "bad-request", "unexpected payload");
  }
  if (type == "terminate") {
    AckSessionIq(iq, /*is_terminate=*/true);
    const Element* reason = session.FirstChild();
    return EndSession(s, CallEvent::Type::kTerminated,
                      reason != nullptr ? reason->name() : "remote terminate",
                      /*send_terminate=*/false);
  }
  if (type == "candidates" || type == "transport-info") {
    return OnCandidates(s, iq, session, type == "candidates");
  }
  const bool awaiting_answer =
      !s.incoming && s.state == Session::State::kSentInitiate;
  if ((type == "accept" || type == "reject" || type == "redirect") &&
      !awaiting_answer && Has(Fault::kAckWrongState)) {
    return AckSessionIq(iq, false);
  }
  if (type == "accept" || type == "reject") {
    if (!awaiting_answer) {
      return SendError(iq, "modify", "not-allowed",
                       "message not allowed in current state");
    }
    if (type == "accept") return OnAccept(s, iq, session);
    AckSessionIq(iq, false);
    return EndSession(s, CallEvent::Type::kRejected, "rejected by the peer",
                      /*send_terminate=*/false);
  }
  if (type == "redirect") {
    if (!awaiting_answer) {
      return SendError(iq, "modify", "not-allowed",
                       "message not allowed in current state");
    }
    return OnRedirect(s, iq, session);
  }
  if (type == "transport-accept") return OnTransportAccept(s, iq, session);
  if (type == "info") return AckSessionIq(iq, false);
  if (Has(Fault::kIgnoreUnknownSessionType)) return;
  SendError(iq, "modify", "bad-request", "unknown session message type");
}

void VoiceClient::Impl::OnInitiate(const Element& iq, const Element& session) {
  SessionKey key{*session.Attr("id"), *session.Attr("initiator")};
  if (sessions_.count(key) > 0) {
    return SendError(iq, "modify", "not-allowed",
                     "message not allowed in current state");
  }
  const std::string* from = iq.Attr("from");
  if (from == nullptr || from->empty()) return;
  if (Has(Fault::kIgnoreGlareInitiate) &&
      Newest([from](const Session& s) {
        return !s.incoming && s.state == Session::State::kSentInitiate &&
               s.remote == *from;
      }) != nullptr) {
    return;
  }
  const Element* description =
      session.FindChild(ns::kGooglePhone, "description");
  if (description == nullptr) {
    description = session.FindChild(ns::kGoogleVideo, "description");
  }
  if (description == nullptr) {
    for (const Element* child : session.Children()) {
      if (child->name() == "description") {
        return SendError(iq, "modify", "bad-request",
                         "unknown session description type");
      }
    }
    return SendError(iq, "modify", "bad-request",
                     absl::StrCat("element '", ns::kGoogleSession,
                                  ":session' missing required child '",
                                  ns::kGooglePhone, ":description'"));
  }
  // G2 offers transports; without one the peer is an old (G1) client.
  bool offers_transport = false;
  const Element* p2p = nullptr;
  for (const Element* child : session.Children()) {
    if (child->name() != "transport") continue;
    offers_transport = true;
    if (child->ns() == ns::kGoogleP2p && p2p == nullptr) p2p = child;
  }
  if (offers_transport && p2p == nullptr) {
    // LJ04 Session::ChooseTransport: type modify.
    return SendError(iq, "modify", "not-acceptable",
                     "no supported transport in offer");
  }

  auto owned = std::make_unique<Session>();
  Session& s = *owned;
  s.serial = next_serial_++;
  s.sid = key.id;
  s.initiator = key.initiator;
  s.remote = *from;
  s.incoming = true;
  s.state = Session::State::kReceivedInitiate;
  // libjingle >= 0.5 reads a Gingle initiate G1 style whatever it offers: it
  // has no transport-accept to send (only a fork added one) and writes its
  // candidates as `candidates` (PROTOCOL.md §3.4, "LJ05+: always G1 style").
  s.g2 = p2p != nullptr && options_.dialect != VoiceClientOptions::Dialect::kG3;
  s.transport_accepted = s.g2;
  // LJ13 parses a hybrid initiate as Jingle and follows it (PROTOCOL.md §0.1).
  s.jingle = options_.dialect == VoiceClientOptions::Dialect::kG3 &&
             iq.FindChild(ns::kJingle, "jingle") != nullptr;
  s.remote_codecs = ReadAudioPayloadTypes(*description);
  s.accept = NegotiateAccept(s.remote_codecs, options_.codecs);
  if (Has(Fault::kCaseInsensitiveCodecs) || Has(Fault::kMatchDynamicById)) {
    s.accept = FaultyAccept(s.remote_codecs);
  }
  sessions_[key] = std::move(owned);

  // Events go out after the wire work, so a handler acting on them cannot
  // reorder what LJ04 sends.
  if (s.accept.empty() && !Has(Fault::kNoRejectOnNoCodec)) {
    // LJ04 rejects on its own, and the reject goes out before the ack
    // (PROTOCOL.md §8.15).
    if (Has(Fault::kAckBeforeReject)) AckSessionIq(iq, false, &s);
    SendSessionMessage(s, "reject");
    if (!Has(Fault::kAckBeforeReject)) AckSessionIq(iq, false, &s);
    const std::string sid = s.sid;
    const std::string remote = s.remote;
    EndSession(s, CallEvent::Type::kRejected, "no codec in common",
               /*send_terminate=*/false, /*emit=*/false);
    Emit(CallEvent::Type::kIncoming, sid, remote);
    Emit(CallEvent::Type::kRejected, sid, "no codec in common");
    return;
  }

  const SessionRef ref = Ref(s);
  if (Has(Fault::kCandidatesBeforeAck)) StartTransport(s);
  AckSessionIq(iq, false, &s);
  // LJ04 answers the transport offer at once, before the user answers.
  if (s.g2 && !Has(Fault::kNoTransportAccept)) {
    SendSessionMessage(s, "transport-accept",
                       {Element(ns::kGoogleP2p, "transport")});
  }
  if (!Has(Fault::kCandidatesBeforeAck)) StartTransport(s);
  ArmWritableTimer(s);
  if (options_.auto_answer_after != absl::InfiniteDuration() ||
      Has(Fault::kAnswerAtOnce)) {
    const absl::Duration after = Has(Fault::kAnswerAtOnce)
                                     ? absl::ZeroDuration()
                                     : options_.auto_answer_after;
    s.answer_timer = clock_.CallAfter(after, [this, ref] {
      Session* s = Find(ref);
      if (s != nullptr && s->state == Session::State::kReceivedInitiate) {
        SendAccept(*s);
      }
    });
  }
  Emit(CallEvent::Type::kIncoming, s.sid, s.remote);
}

void VoiceClient::Impl::OnAccept(Session& s, const Element& iq,
                                 const Element& session) {
  const Element* description =
      session.FindChild(ns::kGooglePhone, "description");
  if (description == nullptr) {
    description = session.FindChild(ns::kGoogleVideo, "description");
  }
  if (description == nullptr) {
    return SendError(iq, "modify", "bad-request",
                     absl::StrCat("element '", ns::kGoogleSession,
                                  ":session' missing required child '",
                                  ns::kGooglePhone, ":description'"));
  }
  AckSessionIq(iq, false);
  s.state = Session::State::kAccepted;
  s.ring_timer.reset();
  s.remote_codecs = ReadAudioPayloadTypes(*description);
  StartMedia(s);
  Emit(CallEvent::Type::kAccepted, s.sid, "accepted by the peer");
}

void VoiceClient::Impl::OnRedirect(Session& s, const Element& iq,
                                   const Element& session) {
  // LJ04 Session::OnRedirectMessage: the callee names another JID (voicemail,
  // another resource); the caller acks and sends its initiate there, carrying
  // the cookie, and the session goes on with the new peer.
  const Element* target = session.FindChild(ns::kGoogleSession, "target");
  const std::string name =
      target != nullptr ? target->AttrOr("name", "") : std::string();
  absl::StatusOr<xmpp::Jid> jid = xmpp::Jid::Parse(name);
  if (!jid.ok() || jid->is_bare() || jid->local().empty()) {
    return SendError(iq, "modify", "bad-request",
                     "redirect needs a target with a full JID name");
  }
  AckSessionIq(iq, false);
  s.remote = jid->ToString();
  s.ringing = false;
  s.transport_accepted = false;
  s.g2 = options_.dialect == VoiceClientOptions::Dialect::kG2;
  std::vector<Element> children = InitiateChildren(s);
  if (const Element* cookie = session.FindChild(ns::kGoogleSession, "cookie");
      cookie != nullptr && !Has(Fault::kRedirectWithoutCookie)) {
    children.push_back(*cookie);
  }
  SendSessionMessage(s, "initiate", std::move(children));
  if (!s.sent_candidates.empty() && !Has(Fault::kNoCandidates)) {
    SendCandidates(s, s.sent_candidates);
  }
}

void VoiceClient::Impl::OnTransportAccept(Session& s, const Element& iq,
                                          const Element& session) {
  if (s.incoming || s.state != Session::State::kSentInitiate || !s.g2) {
    return SendError(iq, "modify", "not-allowed",
                     "message not allowed in current state");
  }
  if (Has(Fault::kRefuseTransportAccept)) {
    return SendError(iq, "modify", "bad-request",
                     "unknown session message type");
  }
  if (Has(Fault::kLaxTransportAccept)) {
    AckSessionIq(iq, false);
    s.transport_accepted = true;
    return;
  }
  // LJ04 P2PTransport::OnTransportAnswer and Session::OnTransportAcceptMessage:
  // transports of other namespaces are skipped (GetTransport finds none).
  std::vector<const Element*> transports;
  for (const Element* child : session.Children()) {
    if (child->Is(ns::kGoogleP2p, "transport")) transports.push_back(child);
  }
  if (transports.size() > 1) {
    return SendError(iq, "modify", "bad-request",
                     "transport-accept has two answers");
  }
  if (transports.empty()) {
    // LJ04 Session::OnTransportAcceptMessage: type modify.
    return SendError(iq, "modify", "not-allowed",
                     "no supported transport in answer");
  }
  if (!transports[0]->Children().empty()) {
    return SendError(iq, "modify", "bad-request",
                     "transport-accept is not acceptable");
  }
  AckSessionIq(iq, false);
  s.transport_accepted = true;
}

// ---------------------------------------------------------------------------
// Sending

void VoiceClient::Impl::AckSessionIq(const Element& iq, bool is_terminate,
                                     Session* initiate_of) {
  // A flooding client sends messages instead (process_faults.h).
  if (Has(Fault::kNoAck) || Has(Fault::kFloodOnInitiate)) return;
  if (is_terminate && Has(Fault::kNoTerminateAck)) return;
  absl::Duration delay = absl::ZeroDuration();
  if (Has(Fault::kLateAck)) {
    delay = options_.late_ack_delay;
  } else if (initiate_of != nullptr && Has(Fault::kDropEarlyCandidates)) {
    delay = options_.drop_early_ack_delay;
  }
  Element result = IqResult(iq);
  if (delay <= absl::ZeroDuration()) {
    if (initiate_of != nullptr) initiate_of->initiate_acked = true;
    stream_.Send(result);
    return;
  }
  std::optional<SessionRef> ref;
  if (initiate_of != nullptr) ref = Ref(*initiate_of);
  delayed_acks_.push_back(clock_.CallAfter(delay, [this, result, ref] {
    if (ref.has_value()) {
      if (Session* s = Find(*ref)) s->initiate_acked = true;
    }
    stream_.Send(result);
  }));
}

void VoiceClient::Impl::SendSessionMessage(Session& s, absl::string_view type,
                                           std::vector<Element> children) {
  const std::string initiator =
      Has(Fault::kWrongInitiator) && type != "initiate"
          ? MangleInitiator(s.initiator)
          : s.initiator;
  std::optional<Element> jingle;
  if (s.jingle && !(type == "accept" && Has(Fault::kHybridBackToGingle)))
    jingle = JingleOfGingle(type, s.sid, children);
  Element iq = SessionIq(s.remote, type, s.sid, initiator, std::move(children));
  if (jingle) {
    iq = Element(ns::kClient, "iq");
    iq.SetAttr("type", "set").SetAttr("to", s.remote);
    iq.AddChild(*std::move(jingle));
  }
  std::weak_ptr<bool> alive = alive_;
  stream_.SendIq(std::move(iq), options_.iq_timeout,
                 [this, alive, ref = Ref(s),
                  type = std::string(type)](absl::StatusOr<Element> reply) {
                   if (alive.lock()) OnSessionReply(ref, type, reply);
                 });
}

void VoiceClient::Impl::OnSessionReply(const SessionRef& ref,
                                       const std::string& type,
                                       const absl::StatusOr<Element>& reply) {
  Session* s = Find(ref);
  if (s == nullptr) return;
  if (reply.ok() && reply->AttrOr("type", "") == "result") {
    if (type == "initiate" && !s->ringing) {
      s->ringing = true;
      Emit(CallEvent::Type::kRinging, s->sid, "initiate acknowledged");
    }
    return;
  }
  // LJ04 Session::OnFailedSend: transport messages may fail; for anything else,
  // an error other than continue/wait, or no reply in 15 s, ends the session.
  if (IsTransportMessage(type)) return;
  if (reply.ok() && Has(Fault::kIgnoreErrorReplies)) return;
  if (!reply.ok()) {
    if (Has(Fault::kNoTerminateOnTimeout)) return;
    return EndSession(
        *s, CallEvent::Type::kTerminated,
        absl::StrCat("no reply to ", type, ": ", reply.status().message()),
        /*send_terminate=*/true);
  }
  const Element* error = reply->FindChild(ns::kClient, "error");
  const std::string error_type =
      error != nullptr ? error->AttrOr("type", "") : "";
  if (error_type == "continue" || error_type == "wait") return;
  const Element* condition = error != nullptr ? error->FirstChild() : nullptr;
  EndSession(*s, CallEvent::Type::kTerminated,
             absl::StrCat("error reply to ", type, ": ",
                          condition != nullptr ? condition->name() : "?"),
             /*send_terminate=*/true);
}

// ---------------------------------------------------------------------------
// Fault helpers

std::vector<PayloadType> VoiceClient::Impl::FaultyAccept(
    const std::vector<PayloadType>& offer) const {
  std::vector<PayloadType> accept;
  for (const PayloadType& offered : offer) {
    for (const Codec& codec : options_.codecs) {
      const bool same = offered.id < 96 || Has(Fault::kMatchDynamicById)
                            ? offered.id == codec.id
                            : absl::EqualsIgnoreCase(offered.name, codec.name);
      if (!same) continue;
      PayloadType ours = offered;
      ours.name = codec.name;  // our spelling, not the offer's
      accept.push_back(ours);
      break;
    }
  }
  return accept;
}

void VoiceClient::Impl::SendTerminateUntilAcked(const std::string& remote,
                                                const std::string& sid,
                                                const std::string& initiator) {
  std::weak_ptr<bool> alive = alive_;
  stream_.SendIq(
      SessionIq(remote, "terminate", sid, initiator, {}), options_.iq_timeout,
      [this, alive, remote, sid, initiator](absl::StatusOr<Element> reply) {
        if (alive.lock() && !reply.ok())
          SendTerminateUntilAcked(remote, sid, initiator);
      });
}

// ---------------------------------------------------------------------------
// Call control

void VoiceClient::Impl::SendAccept(Session& s) {
  s.answer_timer.reset();
  s.state = Session::State::kAccepted;
  // candidates-after-answer held them while ringing: now, before the accept.
  if (Has(Fault::kCandidatesAfterAnswer) && !s.sent_candidates.empty()) {
    SendCandidates(s, s.sent_candidates);
  }
  // What the peer's send codec is chosen from, so without a description too.
  s.local_codecs = s.accept;
  if (Has(Fault::kRenumberedCodecIds)) {
    // Our own numbering instead of the offer's: every id shifted by one.
    for (PayloadType& type : s.local_codecs)
      type.id = type.id < 127 ? type.id + 1 : 96;
  }
  std::vector<Element> children;
  if (!Has(Fault::kAcceptWithoutDescription)) {
    children.push_back(WritePhoneDescription(s.local_codecs));
  }
  SendSessionMessage(s, "accept", std::move(children));
  StartMedia(s);
  Emit(CallEvent::Type::kAccepted, s.sid, "answered");
}

std::vector<Element> VoiceClient::Impl::InitiateChildren(const Session& s) {
  std::vector<Element> children;
  children.push_back(WritePhoneDescription(ToPayloadTypes(options_.codecs)));
  if (s.g2) children.emplace_back(ns::kGoogleP2p, "transport");
  return children;
}

absl::Status VoiceClient::Impl::Call(const xmpp::Jid& callee) {
  if (!stream_.ready() || !started_) {
    return absl::FailedPreconditionError("not logged in and started");
  }
  if (callee.is_bare() || callee.local().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "call a full JID (user@domain/resource), not ", callee.ToString()));
  }
  if (options_.voice_caps_from_disco &&
      !contact_caps_.HasVoice(callee.ToString())) {
    return absl::FailedPreconditionError(
        absl::StrCat(callee.ToString(),
                     " is not known to take voice calls (no answer to "
                     "its caps disco#info yet)"));
  }
  auto owned = std::make_unique<Session>();
  Session& s = *owned;
  s.serial = next_serial_++;
  s.sid = absl::StrCat(absl::Uniform<uint32_t>(bitgen_));
  s.initiator = stream_.bound_jid().ToString();
  s.remote = callee.ToString();
  s.incoming = false;
  s.state = Session::State::kSentInitiate;
  s.g2 = options_.dialect == VoiceClientOptions::Dialect::kG2;
  s.local_codecs = ToPayloadTypes(options_.codecs);
  if (sessions_.count(s.key()) > 0) {
    return absl::AlreadyExistsError("session id collision; call again");
  }
  sessions_[s.key()] = std::move(owned);

  SendSessionMessage(s, "initiate", InitiateChildren(s));
  // LJ04 callers gather and send candidates at once, not after the ack.
  StartTransport(s);
  ArmWritableTimer(s);
  const SessionRef ref = Ref(s);
  s.ring_timer = clock_.CallAfter(options_.ring_timeout, [this, ref] {
    Session* s = Find(ref);
    if (s == nullptr || s->state != Session::State::kSentInitiate ||
        Has(Fault::kNoTerminateOnTimeout)) {
      return;
    }
    EndSession(*s, CallEvent::Type::kTerminated, "no answer (ring timeout)",
               /*send_terminate=*/true);
  });
  return absl::OkStatus();
}

absl::Status VoiceClient::Impl::Answer(const std::optional<xmpp::Jid>& remote) {
  Session* s = Newest([this, &remote](const Session& s) {
    return s.incoming && s.state == Session::State::kReceivedInitiate &&
           IsPicked(s, remote);
  });
  if (s == nullptr) return absl::FailedPreconditionError("no call is ringing");
  SendAccept(*s);
  return absl::OkStatus();
}

absl::Status VoiceClient::Impl::Reject(const std::optional<xmpp::Jid>& remote) {
  Session* s = Newest([this, &remote](const Session& s) {
    return s.incoming && s.state == Session::State::kReceivedInitiate &&
           IsPicked(s, remote);
  });
  if (s == nullptr) return absl::FailedPreconditionError("no call is ringing");
  if (Has(Fault::kIgnoreUserReject)) return absl::OkStatus();
  SendSessionMessage(*s, "reject");
  EndSession(*s, CallEvent::Type::kRejected, "rejected by the user",
             /*send_terminate=*/false);
  return absl::OkStatus();
}

absl::Status VoiceClient::Impl::Hangup(const std::optional<xmpp::Jid>& remote) {
  Session* s =
      Newest([this, &remote](const Session& s) { return IsPicked(s, remote); });
  if (s == nullptr) return absl::FailedPreconditionError("no call to hang up");
  EndSession(*s, CallEvent::Type::kTerminated, "hung up",
             /*send_terminate=*/true);
  return absl::OkStatus();
}

void VoiceClient::Impl::EndSession(Session& s, CallEvent::Type type,
                                   const std::string& reason,
                                   bool send_terminate, bool emit) {
  auto it = sessions_.find(s.key());
  if (it == sessions_.end() || it->second.get() != &s) return;
  if (send_terminate && Has(Fault::kTerminateAgainOnTimeout)) {
    SendTerminateUntilAcked(s.remote, s.sid, s.initiator);
  } else if (send_terminate) {
    SendSessionMessage(s, "terminate");
  }
  std::unique_ptr<Session> owned = std::move(it->second);
  sessions_.erase(it);
  owned->writable_timer.reset();
  owned->generation_timer.reset();
  owned->ring_timer.reset();
  owned->answer_timer.reset();
  // No RTP once the call is over; the channel lingers until the cleanup.
  std::optional<CallMediaStats> media;
  if (owned->media != nullptr) {
    owned->media->SetSending(false);
    media = owned->media->stats();
  }
  owned->media.reset();
  if (owned->channel != nullptr) {
    owned->channel->Stop();
    owned->channel->set_packet_handler(nullptr);
  }
  const std::string sid = owned->sid;
  ended_.push_back(std::move(owned));
  if (!cleanup_pending_) {
    cleanup_pending_ = true;
    cleanup_timer_ = clock_.CallAfter(absl::ZeroDuration(), [this] {
      cleanup_pending_ = false;
      std::vector<std::unique_ptr<Session>> ended = std::move(ended_);
      ended_.clear();
    });
  }
  if (emit) Emit(type, sid, reason, std::move(media));
}

// ---------------------------------------------------------------------------
// Helpers

VoiceClient::Impl::Session* VoiceClient::Impl::Find(const SessionRef& ref) {
  auto it = sessions_.find(ref.key);
  if (it == sessions_.end() || it->second->serial != ref.serial) return nullptr;
  return it->second.get();
}

template <typename F>
VoiceClient::Impl::Session* VoiceClient::Impl::Newest(F filter) {
  Session* newest = nullptr;
  for (auto& [key, s] : sessions_) {
    if (filter(*s) && (newest == nullptr || s->serial > newest->serial)) {
      newest = s.get();
    }
  }
  return newest;
}

void VoiceClient::Impl::Emit(CallEvent::Type type, const std::string& sid,
                             const std::string& reason,
                             std::optional<CallMediaStats> media) {
  if (!event_handler_) return;
  // The handler may replace itself or end sessions: run a copy.
  auto handler = event_handler_;
  handler(CallEvent{type, sid, reason, std::move(media)});
}

// ---------------------------------------------------------------------------

VoiceClient::VoiceClient(boost::asio::io_context& io, Clock& clock,
                         absl::BitGenRef bitgen, ClientStream& stream,
                         VoiceClientOptions options)
    : impl_(std::make_unique<Impl>(io, clock, bitgen, stream,
                                   std::move(options))) {}

VoiceClient::~VoiceClient() = default;

void VoiceClient::Start() { impl_->Start(); }
absl::StatusOr<VoiceClientOptions::CandidateTypes> ParseCandidateTypes(
    absl::string_view list) {
  VoiceClientOptions::CandidateTypes types{false, false, false};
  for (absl::string_view kind : absl::StrSplit(list, ',')) {
    if (kind == "host") {
      types.host = true;
    } else if (kind == "stun") {
      types.stun = true;
    } else if (kind == "relay") {
      types.relay = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "a comma list of host, stun and relay, not '", kind, "'"));
    }
  }
  return types;
}

absl::Status VoiceClient::Call(const xmpp::Jid& callee) {
  return impl_->Call(callee);
}
absl::Status VoiceClient::Answer(const std::optional<xmpp::Jid>& remote) {
  return impl_->Answer(remote);
}
absl::Status VoiceClient::Reject(const std::optional<xmpp::Jid>& remote) {
  return impl_->Reject(remote);
}
absl::Status VoiceClient::Hangup(const std::optional<xmpp::Jid>& remote) {
  return impl_->Hangup(remote);
}
void VoiceClient::set_event_handler(
    std::function<void(const CallEvent&)> handler) {
  impl_->event_handler_ = std::move(handler);
}
bool VoiceClient::in_call() const { return impl_->in_call(); }
std::optional<CallMediaStats> VoiceClient::media_stats(
    absl::string_view sid) const {
  return impl_->media_stats(sid);
}

}  // namespace talkcheck::reference_client
