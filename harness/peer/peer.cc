#include "harness/peer/peer.h"

#include <utility>

#include "absl/random/distributions.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

using xmpp::Element;
namespace ns = xmpp::ns;

// libjingle's answer to a session message it cannot take (PROTOCOL.md §1.3):
// an iq error of type modify, bad-request with `text`, and a copy of the
// <session>.
Element BadRequest(const Element& session, absl::string_view text) {
  Element error(ns::kClient, "iq");
  error.SetAttr("type", "error");
  error.AddChild(session);
  Element& detail = error.AddChild(ns::kClient, "error");
  detail.SetAttr("type", "modify");
  detail.AddChild(ns::kStanzas, "bad-request");
  detail.AddChild(ns::kStanzas, "text")
      .SetAttr(ns::kXml, "lang", "en")
      .SetText(text);
  return error;
}

// disco#info features of the Google caps extensions (PROTOCOL.md §7).
const char* FeatureOfExt(absl::string_view ext) {
  if (ext == "voice-v1") return ns::kGoogleVoiceV1;
  if (ext == "video-v1") return ns::kGoogleVideoV1;
  if (ext == "camera-v1") return ns::kGoogleCameraV1;
  if (ext == "share-v1") return "http://google.com/xmpp/protocol/share/v1";
  return nullptr;
}

std::string RandomPassword(absl::BitGenRef bitgen) {
  return absl::StrFormat("pw%016x", absl::Uniform<uint64_t>(bitgen));
}

}  // namespace

absl::StatusOr<CandidateKinds> ParseCandidateKinds(absl::string_view list) {
  CandidateKinds kinds{false, false, false};
  for (absl::string_view kind : absl::StrSplit(list, ',')) {
    if (kind == "host") {
      kinds.host = true;
    } else if (kind == "stun") {
      kinds.stun = true;
    } else if (kind == "relay") {
      kinds.relay = true;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown candidate kind \"", kind, "\" (host, stun, relay)"));
    }
  }
  return kinds;
}

void EffectiveBehaviour::Apply(const PeerBehaviour& update) {
  if (update.has_ack_session_iqs()) ack_session_iqs = update.ack_session_iqs();
  if (update.has_answer_disco()) answer_disco = update.answer_disco();
  if (update.has_send_presence()) send_presence = update.send_presence();
  if (update.has_answer_pings()) answer_pings = update.answer_pings();
  if (update.has_reject_unknown_sessions())
    reject_unknown_sessions = update.reject_unknown_sessions();
  if (update.has_transport_accept())
    transport_accept = update.transport_accept();
  if (update.has_unknown_channel_error())
    unknown_channel_error = update.unknown_channel_error();
}

SimulatedPeer::SimulatedPeer(boost::asio::io_context& io, Clock& clock,
                             absl::BitGenRef bitgen,
                             fake_server::FakeServer& server,
                             const PeerSpec& spec,
                             std::function<void()> on_receive)
    : io_(io),
      clock_(clock),
      bitgen_(bitgen),
      server_(server),
      spec_(spec),
      on_receive_(std::move(on_receive)) {
  behaviour_.Apply(spec_.behaviour());
}

SimulatedPeer::~SimulatedPeer() = default;

absl::Status SimulatedPeer::Attach() {
  const std::string user = spec_.user().empty() ? "peer" : spec_.user();
  const std::string resource =
      spec_.resource().empty() ? "Talk.v104" : spec_.resource();
  absl::StatusOr<xmpp::Jid> jid =
      xmpp::Jid::Create(user, server_.config().domain(), resource);
  if (!jid.ok()) return jid.status();
  jid_ = *std::move(jid);
  if (!server_.router().PasswordOf(user).has_value())
    server_.router().AddAccount(user, RandomPassword(bitgen_));
  absl::StatusOr<std::unique_ptr<fake_server::VirtualSession>> session =
      server_.AttachVirtualSession(
          jid_, [this](Element stanza) { OnStanza(std::move(stanza)); });
  if (!session.ok()) return session.status();
  session_ = *std::move(session);
  if (behaviour_.send_presence) SendPresence();
  return absl::OkStatus();
}

void SimulatedPeer::SendPresence() {
  Element presence(ns::kClient, "presence");
  presence.AddChild(ns::kClient, "priority").SetText("0");
  Element& caps = presence.AddChild(ns::kCaps, "c");
  caps.SetAttr("node", spec_.caps_node().empty() ? ns::kGoogleCapsNode
                                                 : spec_.caps_node());
  caps.SetAttr("ver",
               spec_.caps_ver().empty() ? "1.0.0.104" : spec_.caps_ver());
  caps.SetAttr("ext", spec_.caps_ext().empty()
                          ? std::string("voice-v1")
                          : absl::StrJoin(spec_.caps_ext(), " "));
  Send(std::move(presence));
}

void SimulatedPeer::Send(Element stanza) {
  if (session_ == nullptr) return;
  negotiation_.Observe(stanza, /*from_peer=*/true);
  if (stanza.Is(ns::kClient, "iq")) {
    if (const Element* session =
            stanza.FindChild(ns::kGoogleSession, "session");
        session != nullptr && session->AttrOr("type", "") == "initiate") {
      known_sessions_.insert(session->AttrOr("id", ""));
    }
    if (const Element* jingle = stanza.FindChild(ns::kJingle, "jingle");
        jingle != nullptr &&
        jingle->AttrOr("action", "") == "session-initiate") {
      known_sessions_.insert(jingle->AttrOr("sid", ""));
    }
  }
  session_->Send(std::move(stanza));
}

void SimulatedPeer::OnStanza(Element received) {
  // Read from the inbox, where the runner matches it: a deque's elements
  // stay where they are as others arrive.
  const Element& stanza =
      inbox_.emplace_back(Received{clock_.Now(), std::move(received), false})
          .stanza;
  negotiation_.Observe(stanza, /*from_peer=*/false);
  bool answered = false;
  if (stanza.Is(ns::kClient, "iq")) {
    const std::string type = stanza.AttrOr("type", "");
    if (type == "set") {
      if (const Element* session =
              stanza.FindChild(ns::kGoogleSession, "session")) {
        answered = HandleSessionIq(stanza, *session);
      } else if (const Element* jingle =
                     stanza.FindChild(ns::kJingle, "jingle")) {
        answered = HandleJingleIq(stanza, *jingle);
      }
    } else if (type == "get" && behaviour_.answer_disco) {
      if (const Element* query = stanza.FindChild(ns::kDiscoInfo, "query")) {
        AnswerDisco(stanza, *query);
        answered = true;
      }
    }
  }
  (void)answered;
  if (on_receive_) on_receive_();
}

bool SimulatedPeer::HandleSessionIq(const Element& iq, const Element& session) {
  const std::string type = session.AttrOr("type", "");
  const std::string sid = session.AttrOr("id", "");
  if (type == "initiate") known_sessions_.insert(sid);
  if (behaviour_.unknown_channel_error &&
      (type == "candidates" || type == "transport-info")) {
    // libjingle 0.4 P2PTransport::OnTransportMessage: candidates in order,
    // each parsed then forwarded; the first of a channel it does not have
    // fails the message (PROTOCOL.md §3.2).
    Element known("", "known");
    std::vector<const Element*> candidates =
        session.FindChildren(ns::kGoogleSession, "candidate");
    for (const Element* transport :
         session.FindChildren(ns::kGoogleP2p, "transport")) {
      for (const Element* c :
           transport->FindChildren(ns::kGoogleP2p, "candidate")) {
        candidates.push_back(c);
      }
    }
    for (const Element* candidate : candidates) {
      const std::string name = candidate->AttrOr("name", "rtp");
      if (name == "rtp") {
        known.AddChild(*candidate);
        continue;
      }
      LearnRemoteCandidates(known);
      Element error =
          BadRequest(session, "channel named in candidate does not exist");
      error.FindChild(ns::kClient, "error")
          ->AddChild(ns::kGoogleP2p, "unknown-channel-name")
          .SetAttr("name", name);
      SendIqReply(iq, std::move(error));
      return true;
    }
  }
  // libjingle >= 0.5 reads only a Gingle message's direct <candidate>
  // children: it acks a G2 transport-info and ignores the candidates in it
  // (LJ13 ParseGingleTransportInfos, PROTOCOL.md §8.2).
  if (spec_.dialect() != DIALECT_G3 || type != "transport-info")
    LearnRemoteCandidates(session);
  if (type != "initiate" && behaviour_.reject_unknown_sessions &&
      known_sessions_.count(sid) == 0) {
    // libjingle's answer (PROTOCOL.md §1.3): bad-request, text "unknown
    // session", with a copy of the <session>.
    SendIqReply(iq, BadRequest(session, "unknown session"));
    return true;
  }
  return AckSessionIq(iq, type == "initiate" ? &session : nullptr);
}

// A client that answered a hybrid (G3) initiate in Jingle speaks Jingle from
// then on, and a G3 peer follows it (PROTOCOL.md §0.1; LJ13
// Session::OnIncomingMessage switches current_protocol_ to the dialect the
// answer came in): each message of a known session is acked as a Gingle one
// would be, and its candidates (<content><transport xmlns=p2p>) are learnt.
bool SimulatedPeer::HandleJingleIq(const Element& iq, const Element& jingle) {
  const std::string sid = jingle.AttrOr("sid", "");
  LearnRemoteCandidates(jingle);
  if (behaviour_.reject_unknown_sessions && known_sessions_.count(sid) == 0) {
    // LJ13 SessionManager answers an unknown sid in either dialect alike.
    SendIqReply(iq, BadRequest(jingle, "unknown session"));
    return true;
  }
  return AckSessionIq(iq, nullptr);
}

bool SimulatedPeer::AckSessionIq(const Element& iq, const Element* initiate) {
  if (!behaviour_.ack_session_iqs) {
    if (initiate) MaybeSendTransportAccept(iq, *initiate);
    return false;
  }
  Element ack(ns::kClient, "iq");
  ack.SetAttr("type", "result");
  const std::optional<absl::Duration> delay =
      ack_policy_ ? ack_policy_(acks_decided_++) : absl::ZeroDuration();
  if (!delay.has_value()) {  // withheld
    if (initiate) MaybeSendTransportAccept(iq, *initiate);
    return true;
  }
  if (*delay <= absl::ZeroDuration()) {
    SendIqReply(iq, std::move(ack));
    if (initiate) MaybeSendTransportAccept(iq, *initiate);
  } else {
    std::optional<Element> kept;
    if (initiate) kept = *initiate;
    late_acks_.push_back(clock_.CallAfter(
        *delay, [this, iq, kept, ack = std::move(ack)]() mutable {
          SendIqReply(iq, std::move(ack));
          if (kept) MaybeSendTransportAccept(iq, *kept);
        }));
  }
  return true;
}

// libjingle 0.4 Session::ChooseTransport: the callee picks the first offered
// transport it supports and says so at once with the empty answer of
// P2PTransport::CreateTransportAnswer; an initiate with no transport is an old
// (G1) caller, which gets none (PROTOCOL.md §3.4, §9).
void SimulatedPeer::MaybeSendTransportAccept(const Element& iq,
                                             const Element& initiate) {
  if (spec_.dialect() != DIALECT_G2 || !behaviour_.transport_accept) return;
  if (initiate.FindChild(ns::kGoogleP2p, "transport") == nullptr) return;
  Element accept(ns::kClient, "iq");
  accept.SetAttr("to", iq.AttrOr("from", ""))
      .SetAttr("type", "set")
      .SetAttr("id", absl::StrCat("peer_ta", ++transport_accepts_sent_));
  Element& session = accept.AddChild(ns::kGoogleSession, "session");
  session.SetAttr("type", "transport-accept")
      .SetAttr("id", initiate.AttrOr("id", ""))
      .SetAttr("initiator", initiate.AttrOr("initiator", ""));
  session.AddChild(ns::kGoogleP2p, "transport");
  Send(std::move(accept));
}

void SimulatedPeer::SendIqReply(const Element& iq, Element reply) {
  reply.SetAttr("to", iq.AttrOr("from", ""));
  if (const std::string* id = iq.Attr("id")) reply.SetAttr("id", *id);
  Send(std::move(reply));
}

void SimulatedPeer::AnswerDisco(const Element& iq, const Element& query) {
  Element result(ns::kClient, "iq");
  result.SetAttr("type", "result");
  Element& answer = result.AddChild(ns::kDiscoInfo, "query");
  const std::string node = query.AttrOr("node", "");
  if (!node.empty()) answer.SetAttr("node", node);
  const std::string caps_node = spec_.caps_node().empty()
                                    ? std::string(ns::kGoogleCapsNode)
                                    : spec_.caps_node();
  if (node.empty()) {
    answer.AddChild(ns::kDiscoInfo, "identity")
        .SetAttr("category", "client")
        .SetAttr("type", "pc")
        .SetAttr("name", "Google Talk");
    answer.AddChild(ns::kDiscoInfo, "feature").SetAttr("var", ns::kDiscoInfo);
    answer.AddChild(ns::kDiscoInfo, "feature")
        .SetAttr("var", "http://www.google.com/xmpp/protocol/session");
  }
  std::vector<std::string> exts(spec_.caps_ext().begin(),
                                spec_.caps_ext().end());
  if (exts.empty()) exts.push_back("voice-v1");
  for (const std::string& ext : exts) {
    const char* feature = FeatureOfExt(ext);
    if (feature == nullptr) continue;
    if (node.empty() || node == absl::StrCat(caps_node, "#", ext)) {
      answer.AddChild(ns::kDiscoInfo, "feature").SetAttr("var", feature);
    }
  }
  SendIqReply(iq, std::move(result));
  ++disco_answers_;
}

void SimulatedPeer::LearnRemoteCandidates(const Element& container) {
  for (const Element* child : container.Children()) {
    if (child->Is(ns::kGoogleP2p, "transport") ||
        child->Is(ns::kJingle, "content")) {
      LearnRemoteCandidates(*child);
      continue;
    }
    if (child->name() != "candidate") continue;
    media_sim::Candidate candidate;
    candidate.name = child->AttrOr("name", "");
    candidate.address = child->AttrOr("address", "");
    int port = 0;
    if (!absl::SimpleAtoi(child->AttrOr("port", ""), &port) || port <= 0 ||
        port > 65535) {
      continue;  // a finding for the scenario's expects, not for the peer
    }
    candidate.port = static_cast<uint16_t>(port);
    candidate.username = child->AttrOr("username", "");
    candidate.password = child->AttrOr("password", "");
    candidate.protocol = child->AttrOr("protocol", "udp");
    candidate.type = child->AttrOr("type", "local");
    candidate.network = child->AttrOr("network", "0");
    double preference = 1;
    if (absl::SimpleAtod(child->AttrOr("preference", "1"), &preference))
      candidate.preference = preference;
    int generation = 0;
    if (absl::SimpleAtoi(child->AttrOr("generation", "0"), &generation))
      candidate.generation = generation;
    // Kept for a channel made later: the client may announce its candidates
    // before the scenario makes the peer's (${candidates:NAME}).
    remote_candidates_[candidate.name].push_back(candidate);
    if (media_sim::GiceChannel* gice = channel(candidate.name)) {
      gice->AddRemoteCandidate(candidate);
      gice->Start();  // its own checks, whatever answer-pings says
    }
  }
}

media_sim::GiceChannel* SimulatedPeer::channel(const std::string& name) {
  auto it = channels_.find(name);
  return it == channels_.end() ? nullptr : it->second.get();
}

media_sim::GiceChannel& SimulatedPeer::ChannelFor(const std::string& name) {
  if (media_sim::GiceChannel* existing = channel(name)) return *existing;
  media_sim::GiceOptions options;
  options.channel_name = name;
  options.network = network_;
  options.bind_address =
      spec_.media_address().empty() ? media_address_ : spec_.media_address();
  auto created =
      std::make_unique<media_sim::GiceChannel>(io_, clock_, bitgen_, options);
  media_sim::GiceChannel* gice = created.get();
  // Read live, so a peer-behaviour step can switch answers off and on
  // mid-call. Only the answers: the peer's own checks run on libjingle's
  // schedule whatever answer-pings says (PROTOCOL.md §4.3; a client whose
  // pairs timed out while unanswered pings again once it is pinged).
  gice->set_answer_pings([this] { return behaviour_.answer_pings; });
  channels_[name] = std::move(created);
  for (const media_sim::Candidate& remote : remote_candidates_[name]) {
    gice->AddRemoteCandidate(remote);
  }
  return *gice;
}

absl::StatusOr<std::string> SimulatedPeer::CandidatesXml(
    const std::string& name, bool next) {
  return CandidatesXml(name, next, CandidateKinds{true, true, true});
}

absl::StatusOr<std::string> SimulatedPeer::CandidatesXml(
    const std::string& name, bool next, const CandidateKinds& kinds) {
  if (channel(name) == nullptr) next = true;
  media_sim::GiceChannel* gice = &ChannelFor(name);
  if (next) {
    absl::StatusOr<media_sim::Candidate> allocated = gice->AllocateGeneration();
    if (!allocated.ok()) return allocated.status();
  }
  if (!remote_candidates_[name].empty()) gice->Start();
  std::string xml;
  for (const media_sim::Candidate& c : gice->local_candidates()) {
    if (c.generation != gice->generation()) continue;
    if ((c.type == "local" && !kinds.host) ||
        (c.type == "stun" && !kinds.stun) ||
        (c.type == "relay" && !kinds.relay)) {
      continue;
    }
    Element candidate("", "candidate");
    candidate.SetAttr("name", c.name)
        .SetAttr("address", c.address)
        .SetAttr("port", absl::StrCat(c.port))
        .SetAttr("preference", absl::StrFormat("%g", c.preference))
        .SetAttr("username", c.username)
        .SetAttr("password", c.password)
        .SetAttr("protocol", c.protocol)
        .SetAttr("generation", absl::StrCat(c.generation))
        .SetAttr("type", c.type)
        .SetAttr("network", c.network);
    // Written without a namespace declaration: it inherits the enclosing
    // element's.
    candidate.AppendTo(xml, "");
  }
  return xml;
}

void SimulatedPeer::GatherCandidates(const std::string& name,
                                     const CandidateKinds& kinds,
                                     std::function<void(absl::Status)> done) {
  auto fail = [this, done](absl::Status status) {
    gather_timers_.push_back(clock_.CallAfter(
        absl::ZeroDuration(), [done, status] { done(status); }));
  };
  if (kinds.stun && !servers_.stun) {
    return fail(absl::FailedPreconditionError(
        "stun candidates asked for, but the peer knows no STUN server"));
  }
  if (kinds.relay && !servers_.relay) {
    return fail(absl::FailedPreconditionError(
        "relay candidates asked for, but the peer knows no relay"));
  }
  if (network_ != nullptr && !network_->reaches_real_sockets() &&
      !kinds.host_only()) {
    // The servers are real sockets the in-memory network cannot reach.
    return fail(absl::FailedPreconditionError(
        "stun and relay candidates need real UDP, not the in-memory network"));
  }
  media_sim::GatherOptions options;
  options.network = network_;
  options.host = kinds.host;
  if (kinds.stun) options.stun_server = servers_.stun;
  if (kinds.relay) options.relay = servers_.relay;
  auto gatherer = media_sim::CandidateGatherer::Start(
      io_, clock_, bitgen_, options,
      [this, name, kinds, done](media_sim::GatherResult result) {
        absl::Status status = absl::OkStatus();
        if (kinds.stun && !result.stun.ok()) {
          status = absl::UnavailableError(
              absl::StrCat("no stun candidate: ", result.stun.message()));
        } else if (kinds.relay && !result.relay.ok()) {
          status = absl::UnavailableError(
              absl::StrCat("no relay candidate: ", result.relay.message()));
        } else if (result.ports.empty()) {
          status = absl::UnavailableError("no candidate gathered");
        }
        if (status.ok()) {
          media_sim::GiceChannel& gice = ChannelFor(name);
          absl::StatusOr<std::vector<media_sim::Candidate>> added =
              gice.AddGeneration(std::move(result.ports));
          if (!added.ok()) status = added.status();
          if (!remote_candidates_[name].empty()) gice.Start();
        }
        done(status);
      });
  gatherers_.push_back(std::move(gatherer));
}

}  // namespace talkcheck::harness
