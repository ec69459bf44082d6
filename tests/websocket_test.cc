// XMPP over WebSocket (RFC 7395) on the fake server, with Boost.Beast's
// WebSocket client over a real socket: the `xmpp` subprotocol is required and
// echoed; every message is one element that parses on its own (namespaces
// declared on it, the `stream` prefix too); <open/> and <close/> stand for the
// stream header and its end; SASL PLAIN, the restart and binding work; stanzas
// are routed both ways.
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_fixture.h"
#include "xmpp/element.h"

namespace talkcheck::integration {
namespace {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
using ::testing::HasSubstr;
using ::testing::Not;
using tcp = boost::asio::ip::tcp;

constexpr char kFraming[] = "urn:ietf:params:xml:ns:xmpp-framing";
constexpr char kOpen[] =
    "<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' to='localhost' "
    "version='1.0'/>";

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fake_server::ServerConfig config =
        TestServerConfig(fake_server::ServerConfig::TLS_REQUIRED);
    config.add_websocket_listen("127.0.0.1:0");
    absl::StatusOr<std::unique_ptr<TestServer>> server =
        TestServer::Start(config);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    const std::vector<std::string> endpoints = server_->RunOnServerThread(
        [this] { return server_->server().websocket_endpoints(); });
    ASSERT_EQ(endpoints.size(), 1u);
    port_ = endpoints.front().substr(endpoints.front().rfind(':') + 1);
  }

  // Connects and upgrades, offering `protocol` (empty: none).
  boost::system::error_code Connect(const std::string& protocol) {
    tcp::resolver resolver(io_);
    boost::asio::connect(ws_.next_layer(),
                         resolver.resolve("127.0.0.1", port_));
    ws_.set_option(websocket::stream_base::decorator(
        [protocol](websocket::request_type& request) {
          if (!protocol.empty())
            request.set(beast::http::field::sec_websocket_protocol, protocol);
        }));
    boost::system::error_code ec;
    ws_.handshake(response_, "localhost", "/xmpp-websocket", ec);
    ws_.text(true);
    return ec;
  }

  void Send(const std::string& message) {
    ws_.write(boost::asio::buffer(message));
  }

  // The next message, which must parse as one element with nothing in scope.
  xmpp::Element Receive() {
    beast::flat_buffer buffer;
    ws_.read(buffer);
    const std::string text = beast::buffers_to_string(buffer.data());
    absl::StatusOr<xmpp::Element> element =
        xmpp::ParseElement(text, xmpp::NamespaceScope());
    EXPECT_TRUE(element.ok())
        << "not a standalone element: " << text << ": " << element.status();
    last_ = text;
    return element.ok() ? *element : xmpp::Element("", "invalid");
  }

  // <open/> then the features, after each (re)start.
  xmpp::Element OpenAndFeatures() {
    Send(kOpen);
    xmpp::Element open = Receive();
    EXPECT_TRUE(open.Is(kFraming, "open")) << last_;
    EXPECT_EQ(open.AttrOr("from", ""), "localhost");
    EXPECT_EQ(open.AttrOr("version", ""), "1.0");
    xmpp::Element features = Receive();
    EXPECT_TRUE(features.Is(xmpp::ns::kStream, "features")) << last_;
    EXPECT_THAT(last_, HasSubstr("xmlns:stream="));
    return features;
  }

  std::unique_ptr<TestServer> server_;
  std::string port_;
  boost::asio::io_context io_;
  websocket::stream<tcp::socket> ws_{io_};
  websocket::response_type response_;
  std::string last_;
};

TEST_F(WebSocketTest, LogsInBindsRoutesAndCloses) {
  ASSERT_FALSE(Connect("xmpp"));
  EXPECT_EQ(response_[beast::http::field::sec_websocket_protocol], "xmpp");

  // No STARTTLS inside a WebSocket, even on a server that requires it on TCP.
  xmpp::Element features = OpenAndFeatures();
  EXPECT_EQ(features.FindChild(xmpp::ns::kTls, "starttls"), nullptr) << last_;
  ASSERT_NE(features.FindChild(xmpp::ns::kSasl, "mechanisms"), nullptr);

  Send(
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>"
      "AGN1dABjdXRwYXNz</auth>");  // \0cut\0cutpass
  EXPECT_TRUE(Receive().Is(xmpp::ns::kSasl, "success")) << last_;

  features = OpenAndFeatures();
  ASSERT_NE(features.FindChild(xmpp::ns::kBind, "bind"), nullptr) << last_;
  Send(
      "<iq xmlns='jabber:client' type='set' id='b1'><bind "
      "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>ws</resource>"
      "</bind></iq>");
  xmpp::Element bound = Receive();
  EXPECT_EQ(bound.AttrOr("type", ""), "result") << last_;
  EXPECT_THAT(last_, HasSubstr("cut@localhost/ws"));
  EXPECT_THAT(last_, HasSubstr("xmlns=\"jabber:client\""));

  // A stanza out to the simulated peer, and its answer back.
  Send("<iq xmlns='jabber:client' type='get' id='q1' to='" +
       std::string(kPeerJid) +
       "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
  xmpp::Element answer = Receive();
  while (answer.name() != "iq") answer = Receive();  // e.g. roster presence
  EXPECT_EQ(answer.AttrOr("id", ""), "q1") << last_;
  EXPECT_EQ(answer.AttrOr("from", ""), kPeerJid);

  Send("<close xmlns='urn:ietf:params:xml:ns:xmpp-framing'/>");
  xmpp::Element close = Receive();
  while (!close.Is(kFraming, "close") && close.name() != "invalid")
    close = Receive();
  EXPECT_TRUE(close.Is(kFraming, "close")) << last_;
}

TEST_F(WebSocketTest, RefusesAnUpgradeWithoutTheXmppSubprotocol) {
  EXPECT_TRUE(Connect(""));
}

TEST_F(WebSocketTest, MalformedStanzaEndsTheStreamWithAnError) {
  ASSERT_FALSE(Connect("xmpp"));
  OpenAndFeatures();
  Send("<message xmlns='jabber:client'><unclosed></message>");
  xmpp::Element error = Receive();
  EXPECT_TRUE(error.Is(xmpp::ns::kStream, "error")) << last_;
  EXPECT_THAT(last_, HasSubstr("not-well-formed"));
  EXPECT_THAT(last_, Not(HasSubstr("<stream:stream")));
}

}  // namespace
}  // namespace talkcheck::integration
