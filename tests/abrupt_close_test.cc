// Clients that vanish without closing their streams (a crash, a pulled cable)
// while the server still has something to send them.
#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "fake_server/config.pb.h"
#include "fake_server/router.h"
#include "tests/raw_client.h"
#include "tests/server_fixture.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::integration {
namespace {

using fake_server::RoutedStanza;
using fake_server::ServerConfig;
using xmpp::Element;
namespace ns = xmpp::ns;

constexpr absl::Duration kRouteTimeout = absl::Seconds(5);

// Logs in as cut/`resource`, becomes available, and reads what the server sends
// for that: the peer's presence (and with it, every write to this client is
// done).
std::unique_ptr<RawClient> AvailableClient(TestServer& server,
                                           absl::string_view resource) {
  absl::StatusOr<std::unique_ptr<RawClient>> client =
      RawClient::Connect(server.endpoint());
  EXPECT_TRUE(client.ok()) << client.status();
  if (!client.ok()) return nullptr;
  absl::StatusOr<std::string> jid =
      (*client)->LogInPlain(kCutUser, kCutPassword, resource);
  EXPECT_TRUE(jid.ok()) << jid.status();
  if (!jid.ok() || !(*client)->SendRaw("<presence/>").ok()) return nullptr;
  absl::StatusOr<Element> peer_presence =
      (*client)->ReadElementMatching([](const Element& e) {
        return e.Is(ns::kClient, "presence") &&
               e.AttrOr("from", "") == kPeerJid;
      });
  EXPECT_TRUE(peer_presence.ok()) << peer_presence.status();
  return peer_presence.ok() ? *std::move(client) : nullptr;
}

// Verifies that two available clients of one account vanishing at the same
// moment leave the server running and serving.
//
// Regression test for a server bug this test found (fixed in d34423b,
// fake_server/tcp_connection.cc): the server handles both EOFs in one batch.
// The first one's Shutdown() unbinds it, and the router sends its unavailable
// presence to the other client, whose TcpConnection starts an async_write of
// the front of write_queue_ (the send succeeds at once; its completion is
// queued). The other client's EOF comes next: Shutdown() cleared write_queue_
// while that write was in flight, and the queued completion then ran OnWrite()
// with success, which popped the front of the empty deque: a double free that
// aborted the whole server.
TEST(AbruptCloseTest, ClientsVanishingTogetherLeaveServerRunning) {
  absl::StatusOr<std::unique_ptr<TestServer>> started =
      TestServer::Start(TestServerConfig(ServerConfig::TLS_OFF));
  ASSERT_TRUE(started.ok()) << started.status();
  TestServer& server = **started;

  std::unique_ptr<RawClient> first = AvailableClient(server, "first");
  ASSERT_NE(first, nullptr);
  std::unique_ptr<RawClient> second = AvailableClient(server, "second");
  ASSERT_NE(second, nullptr);
  // The first client is told the second one came online: read it, so that no
  // write to it is pending from before.
  absl::StatusOr<Element> second_online =
      first->ReadElementMatching([](const Element& e) {
        return e.Is(ns::kClient, "presence") &&
               e.AttrOr("from", "") == "cut@localhost/second";
      });
  ASSERT_TRUE(second_online.ok()) << second_online.status();

  // Hold the server thread while both clients vanish, so that it finds both
  // EOFs at once when it resumes.
  std::promise<void> held;
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  server.PostToServerThread([&held, released] {
    held.set_value();
    released.wait();
  });
  held.get_future().wait();
  first->Close();
  second->Close();
  release.set_value();

  for (const char* jid : {"cut@localhost/first", "cut@localhost/second"}) {
    const std::optional<RecordedStanza> gone = server.WaitForStanza(
        [jid, &server](const RecordedStanza& r) {
          return r.direction == RoutedStanza::Direction::kToEndpoint &&
                 r.endpoint == server.peer_jid() &&
                 r.stanza.Is(ns::kClient, "presence") &&
                 r.stanza.AttrOr("type", "") == "unavailable" &&
                 r.stanza.AttrOr("from", "") == jid;
        },
        kRouteTimeout);
    EXPECT_TRUE(gone.has_value()) << "the peer never saw " << jid << " go away";
  }

  // A new client is served.
  absl::StatusOr<std::unique_ptr<RawClient>> later =
      RawClient::Connect(server.endpoint());
  ASSERT_TRUE(later.ok()) << later.status();
  absl::StatusOr<std::string> jid =
      (*later)->LogInPlain(kCutUser, kCutPassword, "later");
  ASSERT_TRUE(jid.ok()) << jid.status();
  EXPECT_TRUE((*later)->Ping("later-ping").ok());
}

}  // namespace
}  // namespace talkcheck::integration
