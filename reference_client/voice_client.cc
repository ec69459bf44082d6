#include "reference_client/voice_client.h"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <map>
#include <optional>
#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "media_sim/candidate.h"
#include "media_sim/gice_channel.h"
#include "reference_client/codecs.h"
#include "reference_client/session_messages.h"
#include "reference_client/voice_client_impl.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace ns = xmpp::ns;
using media_sim::Candidate;
using xmpp::Element;

namespace {

constexpr char kVoiceExt[] = "voice-v1";
constexpr char kGoogleSessionFeature[] =
    "http://www.google.com/xmpp/protocol/session";
// late-ack: past libjingle's 15 s reply timeout.
constexpr absl::Duration kLateAckDelay = absl::Seconds(20);
// drop-early-candidates: the initiate is acked this late (a slow client), and
// the candidates that arrive meanwhile are lost. Normally the ack goes out at
// once.
constexpr absl::Duration kDropEarlyAckDelay = absl::Seconds(1);

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
// Presence, disco, stanza dispatch

void VoiceClient::Impl::Start() {
  if (started_) return;
  started_ = true;
  std::weak_ptr<bool> alive = alive_;
  stream_.set_stanza_handler([this, alive](const Element& stanza) {
    if (alive.lock()) OnStanza(stanza);
  });
  SendPresence();
  if (options_.candidates.stun || options_.candidates.relay) QueryJingleInfo();
}

// LJ04 always asks, with no `to` (PROTOCOL.md §5.1).
void VoiceClient::Impl::QueryJingleInfo() {
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "get");
  iq.AddChild("google:jingleinfo", "query");
  std::weak_ptr<bool> alive = alive_;
  stream_.SendIq(std::move(iq), options_.iq_timeout,
                 [this, alive](absl::StatusOr<Element> reply) {
                   if (alive.lock() && reply.ok()) OnJingleInfo(*reply);
                 });
}

// The first STUN server and the first relay (GAB, PUR), hosts as IP literals:
// the client resolves no names.
void VoiceClient::Impl::OnJingleInfo(const Element& reply) {
  const Element* query = reply.FindChild("google:jingleinfo", "query");
  if (query == nullptr) return;
  auto address_of = [](const Element& server, const char* port_attr)
      -> std::optional<std::pair<boost::asio::ip::address, uint16_t>> {
    boost::system::error_code ec;
    const boost::asio::ip::address address =
        boost::asio::ip::make_address(server.AttrOr("host", ""), ec);
    int port = 0;
    if (ec || !absl::SimpleAtoi(server.AttrOr(port_attr, ""), &port) ||
        port <= 0 || port > 65535) {
      return std::nullopt;
    }
    return std::make_pair(address, static_cast<uint16_t>(port));
  };
  if (const Element* stun = query->FindChild("google:jingleinfo", "stun")) {
    for (const Element* server :
         stun->FindChildren("google:jingleinfo", "server")) {
      if (auto found = address_of(*server, "udp")) {
        stun_server_ =
            boost::asio::ip::udp::endpoint(found->first, found->second);
        break;
      }
    }
  }
  if (const Element* relay = query->FindChild("google:jingleinfo", "relay")) {
    const Element* token = relay->FindChild("google:jingleinfo", "token");
    for (const Element* server :
         relay->FindChildren("google:jingleinfo", "server")) {
      boost::system::error_code ec;
      const boost::asio::ip::address address =
          boost::asio::ip::make_address(server->AttrOr("host", ""), ec);
      if (ec || token == nullptr) continue;
      relay_server_ = media_sim::RelayServerAddress{
          boost::asio::ip::tcp::endpoint(address, options_.relay_http_port),
          token->Text()};
      break;
    }
  }
}

void VoiceClient::Impl::SendPresence() {
  Element presence(ns::kClient, "presence");
  presence.AddChild(ns::kClient, "priority").SetText("0");
  if (!Has(Fault::kNoCaps)) {
    presence.AddChild(ns::kCaps, "c")
        .SetAttr("node", ns::kGoogleCapsNode)
        .SetAttr("ver", options_.caps_ver)
        .SetAttr("ext", kVoiceExt);
  }
  stream_.Send(presence);
}

void VoiceClient::Impl::OnStanza(const Element& stanza) {
  if (stanza.ns() == ns::kClient && stanza.name() == "iq") OnIq(stanza);
  // Presence and messages need no answer from a voice client.
}

void VoiceClient::Impl::OnIq(const Element& iq) {
  const std::string type = iq.AttrOr("type", "");
  if (type != "get" && type != "set") return;  // stray results and errors
  const Element* session = iq.FindChild(ns::kGoogleSession, "session");
  // LJ04 routes a session message only with all three attributes on an iq set.
  if (type == "set" && session != nullptr && session->Attr("type") != nullptr &&
      session->Attr("id") != nullptr && session->Attr("initiator") != nullptr) {
    return OnSessionIq(iq, *session);
  }
  const Element* query = iq.FindChild(ns::kDiscoInfo, "query");
  if (type == "get" && query != nullptr) return AnswerDisco(iq, *query);
  SendError(iq, "cancel", "service-unavailable", "");
}

void VoiceClient::Impl::AnswerDisco(const Element& iq, const Element& query) {
  const std::string node = query.AttrOr("node", "");
  const std::string caps_node = ns::kGoogleCapsNode;
  Element result = IqResult(iq);
  Element& info = result.AddChild(ns::kDiscoInfo, "query");
  if (!node.empty()) info.SetAttr("node", node);
  if (node == absl::StrCat(caps_node, "#", kVoiceExt)) {
    if (Has(Fault::kNoDiscoAnswer)) return;
    info.AddChild(ns::kDiscoInfo, "feature").SetAttr("var", ns::kGoogleVoiceV1);
  } else if (node.empty() ||
             node == absl::StrCat(caps_node, "#", options_.caps_ver)) {
    info.AddChild(ns::kDiscoInfo, "identity")
        .SetAttr("category", "client")
        .SetAttr("type", "pc")
        .SetAttr("name", "talkcheck reference client");
    for (const char* feature :
         {ns::kDiscoInfo, kGoogleSessionFeature, ns::kGoogleVoiceV1}) {
      info.AddChild(ns::kDiscoInfo, "feature").SetAttr("var", feature);
    }
  } else {
    return SendError(iq, "cancel", "item-not-found", "");
  }
  stream_.Send(result);
}

void VoiceClient::Impl::SendError(const Element& iq, absl::string_view type,
                                  absl::string_view condition,
                                  absl::string_view text,
                                  const Element* extra) {
  stream_.Send(IqError(iq, type, condition, text, extra));
}

// ---------------------------------------------------------------------------
// Incoming session messages

void VoiceClient::Impl::OnSessionIq(const Element& iq, const Element& session) {
  const std::string type = *session.Attr("type");
  if (type == "initiate") return OnInitiate(iq, session);
  auto it = sessions_.find({*session.Attr("id"), *session.Attr("initiator")});
  // LJ04 also insists that the message comes from the session's peer.
  if (it == sessions_.end() || it->second->remote != iq.AttrOr("from", "")) {
    if (Has(Fault::kIgnoreUnknownSession)) return;
    return SendError(iq, "modify", "bad-request", "unknown session");
  }
  Session& s = *it->second;
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
    return SendError(iq, "cancel", "not-acceptable",
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
  s.g2 = p2p != nullptr;
  s.transport_accepted = s.g2;
  s.remote_codecs = ReadAudioPayloadTypes(*description);
  s.accept = NegotiateAccept(s.remote_codecs, options_.codecs);
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
  if (options_.auto_answer_after != absl::InfiniteDuration()) {
    s.answer_timer = clock_.CallAfter(options_.auto_answer_after, [this, ref] {
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
  if (const Element* cookie = session.FindChild(ns::kGoogleSession, "cookie")) {
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
  // LJ04 P2PTransport::OnTransportAnswer and Session::OnTransportAcceptMessage.
  std::vector<const Element*> transports;
  for (const Element* child : session.Children()) {
    if (child->name() == "transport") transports.push_back(child);
  }
  if (transports.size() > 1) {
    return SendError(iq, "modify", "bad-request",
                     "transport-accept has two answers");
  }
  if (transports.empty() || transports[0]->ns() != ns::kGoogleP2p) {
    return SendError(iq, "cancel", "not-allowed",
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
  if (Has(Fault::kNoAck)) return;
  if (is_terminate && Has(Fault::kNoTerminateAck)) return;
  absl::Duration delay = absl::ZeroDuration();
  if (Has(Fault::kLateAck)) {
    delay = kLateAckDelay;
  } else if (initiate_of != nullptr && Has(Fault::kDropEarlyCandidates)) {
    delay = kDropEarlyAckDelay;
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
  Element iq = SessionIq(s.remote, type, s.sid, initiator, std::move(children));
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
// Call control

void VoiceClient::Impl::SendAccept(Session& s) {
  s.answer_timer.reset();
  s.state = Session::State::kAccepted;
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

absl::Status VoiceClient::Impl::Answer() {
  Session* s = Newest([](const Session& s) {
    return s.incoming && s.state == Session::State::kReceivedInitiate;
  });
  if (s == nullptr) return absl::FailedPreconditionError("no call is ringing");
  SendAccept(*s);
  return absl::OkStatus();
}

absl::Status VoiceClient::Impl::Reject() {
  Session* s = Newest([](const Session& s) {
    return s.incoming && s.state == Session::State::kReceivedInitiate;
  });
  if (s == nullptr) return absl::FailedPreconditionError("no call is ringing");
  SendSessionMessage(*s, "reject");
  EndSession(*s, CallEvent::Type::kRejected, "rejected by the user",
             /*send_terminate=*/false);
  return absl::OkStatus();
}

absl::Status VoiceClient::Impl::Hangup() {
  Session* s = Newest([](const Session&) { return true; });
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
  if (send_terminate) SendSessionMessage(s, "terminate");
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
absl::Status VoiceClient::Answer() { return impl_->Answer(); }
absl::Status VoiceClient::Reject() { return impl_->Reject(); }
absl::Status VoiceClient::Hangup() { return impl_->Hangup(); }
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
