#include "tests/server_fixture.h"

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "xmpp/namespaces.h"

namespace talkcheck::integration {
namespace {

using fake_server::RoutedStanza;
using fake_server::ServerConfig;
using xmpp::Element;
namespace ns = xmpp::ns;

// How long the destructor lets the io_context drain after Stop() before it
// gives up and stops it (a server that keeps work alive after Stop() is itself
// worth a message).
constexpr std::chrono::seconds kDrainTimeout(10);

// The peer's initial presence: available, with Google Talk's legacy caps.
Element PeerPresence() {
  Element presence(ns::kClient, "presence");
  presence.AddChild(ns::kClient, "priority").SetText("0");
  presence.AddChild(ns::kCaps, "c")
      .SetAttr("node", ns::kGoogleCapsNode)
      .SetAttr("ver", kPeerCapsVer)
      .SetAttr("ext", kPeerCapsExt);
  return presence;
}

// The result a Google Talk client gives to `request`, an iq get/set addressed
// to it.
Element PeerAnswer(const Element& request) {
  Element reply(ns::kClient, "iq");
  reply.SetAttr("type", "result");
  if (const std::string* id = request.Attr("id")) reply.SetAttr("id", *id);
  if (const std::string* from = request.Attr("from"))
    reply.SetAttr("to", *from);
  const Element* query = request.FirstChild();
  if (request.AttrOr("type", "") == "get" && query != nullptr &&
      query->Is(ns::kDiscoInfo, "query")) {
    Element& info = reply.AddChild(ns::kDiscoInfo, "query");
    const std::string node = query->AttrOr("node", "");
    if (!node.empty()) info.SetAttr("node", node);
    if (node == kVoiceNode) {
      info.AddChild(ns::kDiscoInfo, "feature")
          .SetAttr("var", ns::kGoogleVoiceV1);
    } else {
      info.AddChild(ns::kDiscoInfo, "identity")
          .SetAttr("category", "client")
          .SetAttr("type", "pc")
          .SetAttr("name", "Google Talk");
      info.AddChild(ns::kDiscoInfo, "feature").SetAttr("var", ns::kDiscoInfo);
    }
  }
  return reply;
}

}  // namespace

ServerConfig TestServerConfig(ServerConfig::TlsMode tls) {
  ServerConfig config;
  config.set_domain(kDomain);
  config.add_listen("127.0.0.1:0");
  config.set_tls(tls);
  fake_server::Account* cut = config.add_accounts();
  cut->set_username(kCutUser);
  cut->set_password(kCutPassword);
  cut->add_roster()->set_jid(kPeerUser);  // mutual contacts, subscription both
  fake_server::Account* peer = config.add_accounts();
  peer->set_username(kPeerUser);
  peer->set_password(kPeerPassword);
  return config;
}

TestServer::TestServer() : clock_(io_) {}

absl::StatusOr<std::unique_ptr<TestServer>> TestServer::Start(
    ServerConfig config) {
  std::unique_ptr<TestServer> test_server(new TestServer());
  TestServer& s = *test_server;
  s.work_.emplace(boost::asio::make_work_guard(s.io_));
  std::packaged_task<void()> run([&io = s.io_] { io.run(); });
  s.thread_done_ = run.get_future();
  s.thread_ = std::thread(std::move(run));
  absl::Status started = s.RunOnServerThread(
      [&s, &config] { return s.StartOnServerThread(std::move(config)); });
  if (!started.ok()) return started;  // the destructor joins the thread
  return test_server;
}

absl::Status TestServer::StartOnServerThread(ServerConfig config) {
  absl::StatusOr<xmpp::Jid> peer_jid = xmpp::Jid::Parse(kPeerJid);
  if (!peer_jid.ok()) return peer_jid.status();
  peer_jid_ = *peer_jid;

  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(std::move(config), io_, clock_,
                                      /*seed=*/1);
  if (!server.ok()) return server.status();
  server_ = *std::move(server);
  endpoints_ = server_->endpoints();
  port_ = server_->port();
  if (endpoints_.empty()) return absl::InternalError("server listens nowhere");
  server_->router().AddObserver(
      [this](const RoutedStanza& routed) { Record(routed); });

  absl::StatusOr<std::unique_ptr<fake_server::VirtualSession>> peer =
      server_->AttachVirtualSession(
          peer_jid_, [this](const Element& stanza) { OnPeerStanza(stanza); });
  if (!peer.ok()) {
    return absl::Status(
        peer.status().code(),
        absl::StrCat("attaching the peer: ", peer.status().message()));
  }
  peer_ = *std::move(peer);
  peer_->Send(PeerPresence());
  return absl::OkStatus();
}

TestServer::~TestServer() {
  if (!thread_.joinable()) return;
  RunOnServerThread([this] {
    peer_.reset();
    if (server_ != nullptr) server_->Stop();
  });
  work_.reset();
  if (thread_done_.wait_for(kDrainTimeout) != std::future_status::ready) {
    std::cerr << "TestServer: the io_context still had work "
              << kDrainTimeout.count()
              << " s after FakeServer::Stop(); stopping it\n";
    io_.stop();
  }
  thread_.join();
  // server_ is destroyed after this body, with no thread running the
  // io_context.
}

void TestServer::OnPeerStanza(const Element& stanza) {
  if (!stanza.Is(ns::kClient, "iq")) return;
  const std::string type = stanza.AttrOr("type", "");
  if (type != "get" && type != "set") return;
  // Answer from a fresh handler, as a remote client would: never from inside
  // the router's delivery.
  boost::asio::post(io_, [this, reply = PeerAnswer(stanza)]() mutable {
    if (peer_ != nullptr) peer_->Send(std::move(reply));
  });
}

void TestServer::Record(const RoutedStanza& routed) {
  absl::MutexLock lock(&mu_);
  routed_.emplace_back(routed);
}

std::vector<RecordedStanza> TestServer::Routed() const {
  absl::MutexLock lock(&mu_);
  return routed_;
}

std::optional<RecordedStanza> TestServer::WaitForStanza(
    const StanzaMatcher& matcher, absl::Duration timeout) const {
  size_t checked = 0;
  std::optional<RecordedStanza> found;
  auto find = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (; checked < routed_.size(); ++checked) {
      if (matcher(routed_[checked])) {
        found = routed_[checked];
        return true;
      }
    }
    return false;
  };
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&find), timeout);
  return found;
}

}  // namespace talkcheck::integration
