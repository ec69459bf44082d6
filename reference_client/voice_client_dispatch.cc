// VoiceClient's presence, disco and google:jingleinfo, and the dispatch of
// every stanza it receives (voice_client_impl.h); the session messages are in
// voice_client.cc, the transport in voice_client_transport.cc.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "reference_client/contact_caps.h"
#include "reference_client/session_messages.h"
#include "reference_client/voice_client_impl.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace ns = xmpp::ns;
using xmpp::Element;

namespace {

constexpr char kGoogleSessionFeature[] =
    "http://www.google.com/xmpp/protocol/session";

}  // namespace

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
        .SetAttr("node", Has(Fault::kOwnCapsNode) ? "http://talkcheck.invalid/"
                                                  : ns::kGoogleCapsNode)
        .SetAttr("ver", options_.caps_ver)
        .SetAttr("ext", kVoiceExt);
  }
  stream_.Send(presence);
}

void VoiceClient::Impl::OnStanza(const Element& stanza) {
  if (stanza.ns() != ns::kClient) return;
  if (stanza.name() == "iq") OnIq(stanza);
  if (stanza.name() == "presence" && options_.voice_caps_from_disco)
    OnPresence(stanza);
  // Messages need no answer from a voice client.
}

void VoiceClient::Impl::OnPresence(const Element& presence) {
  std::optional<Element> get = contact_caps_.OnPresence(presence);
  if (!get) return;
  std::weak_ptr<bool> alive = alive_;
  stream_.SendIq(*std::move(get), options_.iq_timeout,
                 [this, alive, jid = presence.AttrOr("from", "")](
                     absl::StatusOr<Element> reply) {
                   if (alive.lock()) contact_caps_.OnDiscoReply(jid, reply);
                 });
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
  const Element* jingle = iq.FindChild(ns::kJingle, "jingle");
  if (type == "set" && jingle != nullptr && jingle->Attr("action") != nullptr &&
      jingle->Attr("sid") != nullptr) {
    return OnJingleIq(iq, *jingle);
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

}  // namespace talkcheck::reference_client
