#include "fake_server/websocket_connection.h"

#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::fake_server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

constexpr char kFraming[] = "urn:ietf:params:xml:ns:xmpp-framing";

// What the server writes is its own and well-formed: the output framer only
// splits it, so its limits are wide.
xmpp::FramerLimits OutputLimits() {
  xmpp::FramerLimits limits;
  limits.max_element_bytes = 64 * 1024 * 1024;
  limits.max_depth = 1024;
  limits.max_attributes = 1 << 20;
  limits.max_name_bytes = 1 << 20;
  return limits;
}

// The subprotocols a client offered (Sec-WebSocket-Protocol, comma-separated).
bool OffersXmpp(const http::request<http::string_body>& request) {
  const beast::string_view offered =
      request[http::field::sec_websocket_protocol];
  for (absl::string_view protocol :
       absl::StrSplit(absl::string_view(offered.data(), offered.size()), ',')) {
    if (absl::StripAsciiWhitespace(protocol) == "xmpp") return true;
  }
  return false;
}

// <open/> as a stream header for the C2sStream (RFC 7395 §3.3.2 maps its
// attributes to the header's).
std::string HeaderFromOpen(const xmpp::Element& open) {
  std::string header =
      "<stream:stream xmlns='jabber:client' "
      "xmlns:stream='http://etherx.jabber.org/streams'";
  for (const char* name : {"to", "from", "version", "id"}) {
    if (const std::string* value = open.Attr(name))
      absl::StrAppend(&header, " ", name, "='", xmpp::EscapeAttribute(*value),
                      "'");
  }
  if (const std::string* lang = open.Attr(xmpp::ns::kXml, "lang"))
    absl::StrAppend(&header, " xml:lang='", xmpp::EscapeAttribute(*lang), "'");
  return header + ">";
}

// The server's stream header as <open/>.
std::string OpenFromHeader(const xmpp::Element& header) {
  std::string open = absl::StrCat("<open xmlns=\"", kFraming, "\"");
  for (const char* name : {"from", "to", "id", "version"}) {
    if (const std::string* value = header.Attr(name))
      absl::StrAppend(&open, " ", name, "=\"", xmpp::EscapeAttribute(*value),
                      "\"");
  }
  if (const std::string* lang = header.Attr(xmpp::ns::kXml, "lang"))
    absl::StrAppend(&open, " xml:lang=\"", xmpp::EscapeAttribute(*lang), "\"");
  return open + "/>";
}

// One top-level element for a message of its own: every namespace declared on
// it (RFC 7395 §3.3.3), including the `stream` prefix of features and errors.
std::string Framed(const xmpp::Element& element) {
  std::string text = element.ToString(/*parent_ns=*/"");
  if (element.ns() == xmpp::ns::kStream) {
    const size_t name_end = text.find_first_of(" />", 1);
    text.insert(name_end,
                absl::StrCat(" xmlns:stream=\"", xmpp::ns::kStream, "\""));
  }
  return text;
}

}  // namespace

WebSocketConnection::WebSocketConnection(boost::asio::ip::tcp::socket socket,
                                         const ServerConfig& config,
                                         Router& router, Clock& clock,
                                         absl::BitGenRef bitgen)
    : ws_(std::move(socket)),
      stream_(config, router, clock, *this, bitgen),
      output_framer_(OutputLimits()) {
  boost::system::error_code ignored;
  ws_.next_layer().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

void WebSocketConnection::Start() {
  // The auth timeout covers the upgrade as well.
  stream_.Start();
  http::async_read(
      ws_.next_layer(), buffer_, request_,
      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
        self->OnUpgradeRequest(ec);
      });
}

void WebSocketConnection::OnUpgradeRequest(
    const boost::system::error_code& ec) {
  if (ec || shut_down_) return Shutdown();
  if (!websocket::is_upgrade(request_))
    return RefuseUpgrade("a WebSocket upgrade is expected here");
  if (!OffersXmpp(request_)) {
    return RefuseUpgrade(
        "XMPP over WebSocket needs the 'xmpp' subprotocol (RFC 7395 §3.1)");
  }
  ws_.set_option(
      websocket::stream_base::decorator([](websocket::response_type& response) {
        response.set(http::field::sec_websocket_protocol, "xmpp");
      }));
  ws_.text(true);
  ws_.async_accept(request_, [self = shared_from_this()](
                                 const boost::system::error_code& ec) {
    if (ec) return self->Shutdown();
    self->DoRead();
  });
}

void WebSocketConnection::RefuseUpgrade(std::string why) {
  auto response = std::make_shared<http::response<http::string_body>>(
      http::status::bad_request, request_.version());
  response->set(http::field::content_type, "text/plain");
  response->body() = std::move(why) + "\n";
  response->keep_alive(false);
  response->prepare_payload();
  http::async_write(
      ws_.next_layer(), *response,
      [self = shared_from_this(), response](const boost::system::error_code&,
                                            size_t) { self->Shutdown(); });
}

void WebSocketConnection::DoRead() {
  if (shut_down_) return;
  buffer_.clear();
  ws_.async_read(
      buffer_, [self = shared_from_this()](const boost::system::error_code& ec,
                                           size_t) { self->OnMessage(ec); });
}

void WebSocketConnection::OnMessage(const boost::system::error_code& ec) {
  if (ec || shut_down_) return Shutdown();
  const std::string message = beast::buffers_to_string(buffer_.data());
  absl::StatusOr<xmpp::Element> element =
      ParseElement(message, xmpp::NamespaceScope());
  if (element.ok() && element->Is(kFraming, "open")) {
    // A restart (after SASL) expects the server's header anew.
    if (opened_) output_framer_.Reset();
    opened_ = true;
    stream_.OnBytes(HeaderFromOpen(*element));
  } else if (element.ok() && element->Is(kFraming, "close")) {
    stream_.OnBytes("</stream:stream>");
  } else {
    // Stanzas (and whitespace pings) pass as they are: the stream judges
    // them, malformed ones included.
    stream_.OnBytes(message);
  }
  DoRead();
}

void WebSocketConnection::Write(std::string bytes) {
  if (shut_down_) return;
  std::vector<xmpp::StreamFramer::Event> events;
  (void)output_framer_.Feed(bytes, events);
  for (const xmpp::StreamFramer::Event& event : events) {
    switch (event.type) {
      case xmpp::StreamFramer::EventType::kStreamOpen:
        Send(OpenFromHeader(event.header));
        break;
      case xmpp::StreamFramer::EventType::kElement: {
        absl::StatusOr<xmpp::Element> element =
            ParseElement(event.xml, output_framer_.scope());
        Send(element.ok() ? Framed(*element) : event.xml);
        break;
      }
      case xmpp::StreamFramer::EventType::kStreamClose:
        Send(absl::StrCat("<close xmlns=\"", kFraming, "\"/>"));
        break;
    }
  }
}

size_t WebSocketConnection::QueuedBytes() const {
  size_t bytes = 0;
  for (const std::string& message : outbox_) bytes += message.size();
  return bytes;
}

void WebSocketConnection::Send(std::string message) {
  outbox_.push_back(std::move(message));
  DoWrite();
}

void WebSocketConnection::DoWrite() {
  if (writing_ || shut_down_) return;
  if (outbox_.empty()) {
    if (close_after_writes_) {
      writing_ = true;
      ws_.async_close(
          websocket::close_code::normal,
          [self = shared_from_this()](const boost::system::error_code&) {
            self->writing_ = false;
            self->Shutdown();
          });
    }
    return;
  }
  writing_ = true;
  ws_.async_write(
      boost::asio::buffer(outbox_.front()),
      [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
        self->writing_ = false;
        if (ec) return self->Shutdown();
        self->outbox_.pop_front();
        self->DoWrite();
      });
}

void WebSocketConnection::StartTls() { Shutdown(); }

void WebSocketConnection::Close() {
  if (!ws_.is_open()) return Shutdown();
  close_after_writes_ = true;
  DoWrite();
}

void WebSocketConnection::Evict(absl::string_view text) {
  stream_.EndWithError(xmpp::StreamCondition::kResourceConstraint, text);
}

void WebSocketConnection::Abort() { Shutdown(); }

void WebSocketConnection::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  boost::system::error_code ignored;
  ws_.next_layer().shutdown(boost::asio::ip::tcp::socket::shutdown_both,
                            ignored);
  ws_.next_layer().close(ignored);
  stream_.OnTransportClosed();
}

}  // namespace talkcheck::fake_server
