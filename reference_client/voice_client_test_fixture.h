// The fixture of the voice client tests: a FakeServer on loopback, the
// simulated Google Talk peer as a virtual session that records (and by default
// acks) what it receives, and the reference client logged in over STARTTLS +
// SCRAM. Timers run on the real clock; tests shorten the libjingle timeouts
// instead of waiting for them.
#ifndef TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_TEST_FIXTURE_H_
#define TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_TEST_FIXTURE_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/asio_clock.h"
#include "fake_server/config.pb.h"
#include "fake_server/server.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "media_sim/gice_channel.h"
#include "reference_client/client_stream.h"
#include "reference_client/session_messages.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client::voice_test {

using xmpp::Element;
namespace ns = xmpp::ns;

constexpr char kCutJid[] = "cut@localhost/test";
constexpr char kPeerJid[] = "peer@localhost/Talk.v104";
constexpr char kSid[] = "3688330360";
constexpr char kVoiceNode[] = "http://www.google.com/xmpp/client/caps#voice-v1";

inline xmpp::Jid J(absl::string_view text) { return *xmpp::Jid::Parse(text); }

// The 2005 Google Talk offer (PROTOCOL.md Appendix A.1): id and name only.
inline Element Offer2005() {
  Element description(ns::kGooglePhone, "description");
  const std::pair<int, const char*> codecs[] = {
      {103, "ISAC"}, {97, "IPCMWB"},  {102, "iLBC"},
      {4, "G723"},   {100, "EG711U"}, {101, "EG711A"},
      {0, "PCMU"},   {8, "PCMA"},     {13, "CN"}};
  for (const auto& [id, name] : codecs) {
    description.AddChild(ns::kGooglePhone, "payload-type")
        .SetAttr("id", absl::StrCat(id))
        .SetAttr("name", name);
  }
  return description;
}

inline const Element* SessionOf(const Element& stanza) {
  return stanza.FindChild(ns::kGoogleSession, "session");
}

inline std::string SessionType(const Element& stanza) {
  const Element* session = SessionOf(stanza);
  return session != nullptr && stanza.AttrOr("type", "") == "set"
             ? session->AttrOr("type", "")
             : "";
}

// "id name [clockrate]" of each payload type, for compact comparisons.
inline std::vector<std::string> PayloadTypes(const Element& description) {
  std::vector<std::string> out;
  for (const Element* p :
       description.FindChildren(ns::kGooglePhone, "payload-type")) {
    std::string entry =
        absl::StrCat(p->AttrOr("id", "?"), " ", p->AttrOr("name", "?"));
    if (const std::string* rate = p->Attr("clockrate")) {
      absl::StrAppend(&entry, " ", *rate);
    }
    out.push_back(entry);
  }
  return out;
}

// The candidates of a `candidates` or `transport-info` message.
inline std::vector<const Element*> CandidatesIn(const Element& stanza) {
  const Element* session = SessionOf(stanza);
  if (session == nullptr) return {};
  std::vector<const Element*> out =
      session->FindChildren(ns::kGoogleSession, "candidate");
  for (const Element* transport :
       session->FindChildren(ns::kGoogleP2p, "transport")) {
    for (const Element* c :
         transport->FindChildren(ns::kGoogleP2p, "candidate"))
      out.push_back(c);
  }
  return out;
}

class VoiceClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_server::ServerConfig config;
    config.set_domain("localhost");
    config.set_tls(fake_server::ServerConfig::TLS_REQUIRED);
    for (const char* user : {"cut", "peer"}) {
      auto* account = config.add_accounts();
      account->set_username(user);
      account->set_password(absl::StrCat(user, "pass"));
    }
    config.mutable_accounts(0)->add_roster()->set_jid("peer");  // contacts
    ConfigureServer(config);
    auto server = fake_server::FakeServer::Create(config, io_, clock_, 7);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    auto peer = server_->AttachVirtualSession(
        J(kPeerJid), [this](const Element& s) { OnPeerStanza(s); });
    ASSERT_TRUE(peer.ok()) << peer.status();
    peer_ = *std::move(peer);
    Element presence(ns::kClient, "presence");
    presence.AddChild(ns::kClient, "priority").SetText("0");
    peer_->Send(presence);
  }

  // Lets a test add to the server's configuration (jingleinfo, ...).
  virtual void ConfigureServer(fake_server::ServerConfig& config) {
    (void)config;
  }

  void TearDown() override {
    voice_.reset();
    stream_.reset();
    peer_.reset();
    if (server_ != nullptr) server_->Stop();
    io_.run_for(std::chrono::milliseconds(50));
  }

  static VoiceClientOptions Options(FaultSet faults = {}) {
    VoiceClientOptions options;
    options.faults = std::move(faults);
    return options;
  }

  void StartClient(VoiceClientOptions options) {
    ClientStreamOptions stream_options;
    stream_options.port = server_->port();
    stream_options.jid = J(kCutJid);
    stream_options.password = "cutpass";
    stream_ =
        std::make_unique<ClientStream>(io_, clock_, bitgen_, stream_options);
    std::optional<absl::Status> ready;
    stream_->Connect([&ready](absl::Status s) { ready = s; });
    ASSERT_TRUE(RunUntil([&] { return ready.has_value(); }));
    ASSERT_TRUE(ready->ok()) << *ready;
    voice_ = std::make_unique<VoiceClient>(io_, clock_, bitgen_, *stream_,
                                           std::move(options));
    voice_->set_event_handler(
        [this](const CallEvent& event) { events_.push_back(event); });
    voice_->Start();
  }

  bool RunUntil(const std::function<bool()>& done,
                absl::Duration limit = absl::Seconds(10)) {
    const auto deadline =
        std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(limit);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      if (io_.stopped()) io_.restart();
      io_.run_one_for(std::chrono::milliseconds(20));
    }
    return done();
  }

  // Runs for `period` whatever happens.
  void RunFor(absl::Duration period) {
    RunUntil([] { return false; }, period);
  }

  // The index in the peer's inbox of the first stanza matching `match`, waiting
  // up to `limit` for it; -1 if none came.
  int WaitFor(const std::function<bool(const Element&)>& match,
              absl::Duration limit = absl::Seconds(5)) {
    int found = -1;
    RunUntil(
        [&] {
          for (size_t i = 0; i < inbox_.size(); ++i) {
            if (match(inbox_[i])) {
              found = static_cast<int>(i);
              return true;
            }
          }
          return false;
        },
        limit);
    return found;
  }
  int WaitForSession(absl::string_view type,
                     absl::Duration limit = absl::Seconds(5)) {
    return WaitFor([type](const Element& s) { return SessionType(s) == type; },
                   limit);
  }
  int WaitForResult(absl::string_view id,
                    absl::Duration limit = absl::Seconds(5)) {
    return WaitFor(
        [id](const Element& s) {
          return s.name() == "iq" && s.AttrOr("type", "") == "result" &&
                 s.AttrOr("id", "") == id;
        },
        limit);
  }
  int CountSession(absl::string_view type) const {
    int n = 0;
    for (const Element& s : inbox_) n += SessionType(s) == type ? 1 : 0;
    return n;
  }

  // Sends a disco#info query to the client and waits for its reply: everything
  // the client sent before it has then arrived too.
  void Sync() {
    Element iq(ns::kClient, "iq");
    const std::string id = absl::StrCat("sync", ++peer_ids_);
    iq.SetAttr("type", "get").SetAttr("id", id).SetAttr("to", kCutJid);
    iq.AddChild(ns::kDiscoInfo, "query");
    peer_->Send(iq);
    ASSERT_GE(WaitForResult(id), 0);
  }

  // A session message from the peer; returns its iq id.
  std::string PeerSends(absl::string_view type, std::vector<Element> children,
                        absl::string_view sid = kSid,
                        absl::string_view initiator = kPeerJid) {
    Element iq = SessionIq(kCutJid, type, sid, initiator, std::move(children));
    const std::string id = absl::StrCat("p", ++peer_ids_);
    iq.SetAttr("id", id);
    peer_->Send(iq);
    return id;
  }

  static Element PeerCandidate(absl::string_view ns, int port = 9) {
    media_sim::Candidate c;
    c.address = "127.0.0.1";
    c.port = static_cast<uint16_t>(port);
    c.username = "PeerUfragPeerUfr";
    c.password = "PeerPasswordPeer";
    return WriteCandidate(c, ns);
  }

  void OnPeerStanza(const Element& stanza) {
    inbox_.push_back(stanza);
    if (!peer_acks_ || SessionType(stanza).empty()) return;
    // Answer from a fresh handler, as a remote client would.
    boost::asio::post(io_, [this, ack = IqResult(stanza)] {
      if (peer_ != nullptr) peer_->Send(ack);
    });
  }

  std::vector<CallEvent::Type> EventTypes() const {
    std::vector<CallEvent::Type> types;
    for (const CallEvent& e : events_) types.push_back(e.type);
    return types;
  }

  boost::asio::io_context io_;
  AsioClock clock_{io_};
  absl::BitGen bitgen_;
  std::unique_ptr<fake_server::FakeServer> server_;
  std::unique_ptr<fake_server::VirtualSession> peer_;
  std::unique_ptr<ClientStream> stream_;
  std::unique_ptr<VoiceClient> voice_;
  std::vector<Element> inbox_;  // everything the peer received
  std::vector<CallEvent> events_;
  bool peer_acks_ = true;
  int peer_ids_ = 0;
};

using Type = CallEvent::Type;

}  // namespace talkcheck::reference_client::voice_test

#endif  // TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_TEST_FIXTURE_H_
