// A real third-party client, slixmpp, logs in to the fake server over STARTTLS
// with SCRAM-SHA-1 and talks to the simulated Google Talk peer (see
// slixmpp_client.py for the client's own checks). This test runs it and checks
// the server's side: what the router saw.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "fake_server/router.h"
#include "tests/server_fixture.h"
#include "tests/subprocess.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::integration {
namespace {

using fake_server::RoutedStanza;
using fake_server::ServerConfig;
using ::testing::HasSubstr;
using xmpp::Element;
namespace ns = xmpp::ns;

constexpr char kPython[] = "/usr/bin/python3";
constexpr char kClientJid[] = "cut@localhost/slix";
// Hard limit for the client process (its own limit is 45 s).
constexpr absl::Duration kClientTimeout = absl::Seconds(60);

bool FromEndpoint(const RecordedStanza& routed, absl::string_view jid) {
  return routed.direction == RoutedStanza::Direction::kFromEndpoint &&
         routed.endpoint.ToString() == jid;
}

// Verifies that slixmpp logs in (STARTTLS, SCRAM-SHA-1, bind), finds the peer
// in its roster with its voice caps, and gets the peer's disco#info answer
// through the server.
TEST(SlixmppLoginTest, LogsInOverTlsWithScramAndQueriesThePeer) {
  absl::StatusOr<std::unique_ptr<TestServer>> server =
      TestServer::Start(TestServerConfig(ServerConfig::TLS_REQUIRED));
  ASSERT_TRUE(server.ok()) << server.status();

  absl::StatusOr<ProcessResult> run = RunProcess(
      {kPython, RunfilePath("tests/slixmpp_client.py"), "--host", "127.0.0.1",
       "--port", absl::StrCat((*server)->port()), "--jid", kClientJid,
       "--password", kCutPassword, "--peer", kPeerJid},
      kClientTimeout);
  ASSERT_TRUE(run.ok()) << run.status();
  // The client's own report, for the test log.
  std::cout << "slixmpp client output:\n" << run->output << std::flush;
  ASSERT_FALSE(run->timed_out)
      << "slixmpp client killed after " << kClientTimeout << "; output:\n"
      << run->output;
  EXPECT_EQ(run->exit_code, 0) << "slixmpp client output:\n" << run->output;
  // The server cannot tell which mechanism or whether TLS was used from the
  // router; the client reports both.
  EXPECT_THAT(run->output, HasSubstr("mechanism=SCRAM-SHA-1 tls=yes"))
      << run->output;

  const std::vector<RecordedStanza> routed = (*server)->Routed();
  auto describe = [&routed] {
    std::string out;
    for (const RecordedStanza& r : routed) {
      absl::StrAppend(&out,
                      r.direction == RoutedStanza::Direction::kFromEndpoint
                          ? "from "
                          : "to ",
                      r.endpoint.ToString(), ": ", r.stanza.ToString(), "\n");
    }
    return out;
  };

  // The client's initial presence went through the router...
  bool client_presence = false;
  // ...and so did its iq to the peer, the peer's result, and that result's
  // delivery.
  std::string iq_id;
  bool peer_result = false;
  bool result_delivered = false;
  for (const RecordedStanza& r : routed) {
    const Element& s = r.stanza;
    if (FromEndpoint(r, kClientJid) && s.Is(ns::kClient, "presence") &&
        s.Attr("type") == nullptr && s.Attr("to") == nullptr) {
      client_presence = true;
    }
    if (FromEndpoint(r, kClientJid) && s.Is(ns::kClient, "iq") &&
        s.AttrOr("type", "") == "get" && s.AttrOr("to", "") == kPeerJid) {
      const Element* query = s.FindChild(ns::kDiscoInfo, "query");
      if (query != nullptr && query->AttrOr("node", "") == kVoiceNode) {
        iq_id = s.AttrOr("id", "");
      }
    }
    if (!iq_id.empty() && FromEndpoint(r, kPeerJid) &&
        s.Is(ns::kClient, "iq") && s.AttrOr("type", "") == "result" &&
        s.AttrOr("id", "") == iq_id && s.AttrOr("to", "") == kClientJid) {
      peer_result = true;
    }
    if (peer_result && r.direction == RoutedStanza::Direction::kToEndpoint &&
        r.endpoint.ToString() == kClientJid && s.Is(ns::kClient, "iq") &&
        s.AttrOr("id", "") == iq_id && s.AttrOr("from", "") == kPeerJid) {
      result_delivered = true;
    }
  }
  EXPECT_TRUE(client_presence)
      << "no initial presence from " << kClientJid << "; routed:\n"
      << describe();
  EXPECT_FALSE(iq_id.empty()) << "no disco#info iq from " << kClientJid
                              << " to " << kPeerJid << "; routed:\n"
                              << describe();
  EXPECT_TRUE(peer_result) << "no result from the peer; routed:\n"
                           << describe();
  EXPECT_TRUE(result_delivered)
      << "the peer's result was not delivered to the client; routed:\n"
      << describe();
}

}  // namespace
}  // namespace talkcheck::integration
