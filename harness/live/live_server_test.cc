// The live server over real loopback sockets, with Boost.Beast's HTTP and
// WebSocket clients: the page, the snapshot, updates as they come, "done",
// a client that does not read dropped while one that does gets everything,
// and the address rules.
#include "harness/live/live_server.h"

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

StanzaRecord Presence(int64_t time_us) {
  StanzaRecord record;
  record.set_time_us(time_us);
  record.set_direction("peer->cut");
  record.set_xml(
      "<presence from=\"peer@localhost/talkcheck\"><c "
      "xmlns=\"http://jabber.org/protocol/caps\" node=\"http://www.google.com/"
      "xmpp/client/caps\" ver=\"1.0\" ext=\"voice-v1\"/></presence>");
  return record;
}

class LiveServerTest : public ::testing::Test {
 protected:
  void StartServer(LiveServerOptions options = {}) {
    absl::StatusOr<tcp::endpoint> where =
        ParseServeAddress("127.0.0.1:0", false);
    ASSERT_TRUE(where.ok()) << where.status();
    absl::StatusOr<std::unique_ptr<LiveServer>> server =
        LiveServer::Start(live_, *where, options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    ASSERT_THAT(server_->url(), StartsWith("http://127.0.0.1:"));
    const std::string port = server_->url().substr(17);
    port_ = port.substr(0, port.size() - 1);
  }

  std::unique_ptr<websocket::stream<tcp::socket>> Connect(
      int receive_buffer = 0) {
    auto ws = std::make_unique<websocket::stream<tcp::socket>>(io_);
    tcp::socket& socket = ws->next_layer();
    socket.open(tcp::v4());
    if (receive_buffer > 0)
      socket.set_option(asio::socket_base::receive_buffer_size(receive_buffer));
    tcp::resolver resolver(io_);
    asio::connect(socket, resolver.resolve("127.0.0.1", port_));
    ws->handshake("127.0.0.1", "/live");
    return ws;
  }

  static std::string Read(websocket::stream<tcp::socket>& ws) {
    beast::flat_buffer buffer;
    ws.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }

  LiveReport live_{std::vector<LiveScenario>{{"callee-g1-basic", "c.xml"}}};
  asio::io_context io_;
  std::unique_ptr<LiveServer> server_;
  std::string port_;
};

TEST_F(LiveServerTest, ServesThePageThenUpdatesAsTheyComeThenDone) {
  StartServer();
  live_.Stanza(0, Presence(1000));
  {
    tcp::socket socket(io_);
    tcp::resolver resolver(io_);
    asio::connect(socket, resolver.resolve("127.0.0.1", port_));
    http::request<http::empty_body> request(http::verb::get, "/", 11);
    request.set(http::field::host, "127.0.0.1");
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    EXPECT_EQ(response.result(), http::status::ok);
    EXPECT_THAT(std::string(response[http::field::content_type]),
                HasSubstr("text/html"));
    EXPECT_THAT(response.body(), HasSubstr("id=\"s0\""));
    EXPECT_THAT(response.body(), HasSubstr("class=\"arrow\""));
  }
  auto ws = Connect();
  EXPECT_THAT(Read(*ws), StartsWith("{\"type\":\"snapshot\""));
  live_.Stanza(0, Presence(2000));
  const std::string update = Read(*ws);
  EXPECT_THAT(update, StartsWith("{\"type\":\"update\",\"scenario\":0,"));
  EXPECT_THAT(update, HasSubstr("\"time_us\":2000"));
  EXPECT_EQ(server_->clients(), 1);

  RunReport report;
  report.set_passed(1);
  report.add_scenarios()->set_name("callee-g1-basic");
  live_.RunDone(report);
  std::thread stop([this] { server_->Stop(absl::Seconds(5)); });
  std::string last;
  do {
    last = Read(*ws);
  } while (!absl::StartsWith(last, "{\"type\":\"done\""));
  EXPECT_THAT(last, HasSubstr("\"passed\":1"));
  // Then the server closes the WebSocket.
  beast::flat_buffer buffer;
  boost::system::error_code ec;
  ws->read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  stop.join();
  EXPECT_EQ(server_->dropped(), 0);
}

// A browser that connects while a flush is pending gets the pending change
// in its snapshot only, and those connected before it get it at once: its
// first update never repeats its snapshot (seen under load, when the flush
// came after the snapshot and carried the same stanza again). The flush
// interval is longer than the test: every update here comes from a handover.
TEST_F(LiveServerTest,
       ABrowserThatConnectsWhileAFlushIsPendingGetsNoChangeTwice) {
  LiveServerOptions options;
  options.flush_interval = absl::Seconds(30);
  StartServer(options);
  auto first = Connect();
  EXPECT_THAT(Read(*first), StartsWith("{\"type\":\"snapshot\""));
  live_.Stanza(0, Presence(1000));
  auto second = Connect();
  const std::string snapshot = Read(*second);
  EXPECT_THAT(snapshot, StartsWith("{\"type\":\"snapshot\""));
  EXPECT_THAT(snapshot, HasSubstr("0.001s"));
  const std::string owed = Read(*first);
  EXPECT_THAT(owed, StartsWith("{\"type\":\"update\""));
  EXPECT_THAT(owed, HasSubstr("\"time_us\":1000"));

  live_.Stanza(0, Presence(2000));
  auto third = Connect();
  EXPECT_THAT(Read(*third), HasSubstr("0.002s"));
  const std::string update = Read(*second);
  EXPECT_THAT(update, HasSubstr("\"time_us\":2000"));
  EXPECT_THAT(update, Not(HasSubstr("\"time_us\":1000")))
      << "the update repeats the snapshot's stanza";
  EXPECT_THAT(Read(*first), HasSubstr("\"time_us\":2000"));
  server_->Stop(absl::Seconds(1));
}

TEST_F(LiveServerTest, DropsAClientThatDoesNotReadAndServesTheOthers) {
  LiveServerOptions options;
  options.max_queued_bytes = 256 * 1024;
  options.flush_interval = absl::Milliseconds(1);
  StartServer(options);
  auto stuck = Connect(/*receive_buffer=*/4096);  // never read
  auto reader = Connect();
  std::atomic<int> updates{0};
  std::atomic<int> messages{0};  // its snapshot too: it may carry a stanza
  std::atomic<bool> done{false};
  std::thread reading([&] {
    for (;;) {
      beast::flat_buffer buffer;
      boost::system::error_code ec;
      reader->read(buffer, ec);
      if (ec) return;
      const std::string message = beast::buffers_to_string(buffer.data());
      ++messages;
      if (absl::StartsWith(message, "{\"type\":\"update\"")) ++updates;
      if (absl::StartsWith(message, "{\"type\":\"done\"")) {
        done = true;
        return;
      }
    }
  });
  // Each update carries the whole section so far: the stuck client's queue
  // passes its bound long before the deadline. The reader keeps up (the next
  // stanza waits for the message that carries it), however loaded the machine.
  const absl::Time deadline = absl::Now() + absl::Seconds(120);
  int64_t t = 0;
  while (server_->dropped() == 0 && absl::Now() < deadline) {
    const int before = messages;
    live_.Stanza(0, Presence(t += 1000));
    while (messages == before && absl::Now() < deadline)
      absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(server_->dropped(), 1);
  EXPECT_EQ(server_->clients(), 1);
  live_.RunDone(RunReport());
  server_->Stop(absl::Seconds(30));
  reading.join();
  EXPECT_TRUE(done);
  EXPECT_GT(updates, 0);
}

// What another site could ask of it through the user's browser.
TEST_F(LiveServerTest, RefusesOtherNamesAndOtherOrigins) {
  StartServer();
  auto status_of = [this](const std::string& host, const std::string& origin,
                          bool upgrade) {
    tcp::socket socket(io_);
    tcp::resolver resolver(io_);
    asio::connect(socket, resolver.resolve("127.0.0.1", port_));
    http::request<http::empty_body> request(http::verb::get,
                                            upgrade ? "/live" : "/", 11);
    request.set(http::field::host, host);
    if (!origin.empty()) request.set(http::field::origin, origin);
    if (upgrade) {
      request.set(http::field::upgrade, "websocket");
      request.set(http::field::connection, "upgrade");
      request.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
      request.set(http::field::sec_websocket_version, "13");
    }
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    return response.result();
  };
  const std::string self = "127.0.0.1:" + port_;
  EXPECT_EQ(status_of(self, "", false), http::status::ok);
  EXPECT_EQ(status_of("localhost:" + port_, "", false), http::status::ok);
  EXPECT_EQ(status_of("evil.example:" + port_, "", false),
            http::status::forbidden);
  EXPECT_EQ(status_of(self, "http://" + self, true),
            http::status::switching_protocols);
  EXPECT_EQ(status_of(self, "http://evil.example", true),
            http::status::forbidden);
}

TEST(ParseServeAddressTest, LoopbackUnlessToldOtherwise) {
  absl::StatusOr<tcp::endpoint> v4 = ParseServeAddress("127.0.0.1:8080", false);
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->port(), 8080);
  absl::StatusOr<tcp::endpoint> v6 = ParseServeAddress("[::1]:0", false);
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_TRUE(v6->address().is_v6());
  EXPECT_TRUE(ParseServeAddress("localhost:0", false).ok());
  absl::StatusOr<tcp::endpoint> any = ParseServeAddress("0.0.0.0:8080", false);
  ASSERT_FALSE(any.ok());
  EXPECT_THAT(std::string(any.status().message()),
              HasSubstr("not a loopback address"));
  EXPECT_THAT(std::string(any.status().message()),
              HasSubstr("--serve_any_address"));
  EXPECT_TRUE(ParseServeAddress("0.0.0.0:8080", true).ok());
  EXPECT_FALSE(ParseServeAddress("example.org:80", true).ok());
  EXPECT_FALSE(ParseServeAddress("127.0.0.1", false).ok());
  EXPECT_FALSE(ParseServeAddress("127.0.0.1:99999", false).ok());
}

}  // namespace
}  // namespace talkcheck::harness
