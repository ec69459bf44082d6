// One client connection over XMPP-over-WebSocket (RFC 7395), so that browser
// clients (and libraries such as @xmpp/client) can be the client under test.
//
// The HTTP upgrade must ask for the `xmpp` subprotocol (RFC 7395 §3.1); the
// answer names it. Each WebSocket text message then carries one complete XML
// element (§3.3): `<open xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>` where
// TCP has the stream header, `<close/>` where it has `</stream:stream>`, and
// every other element with its namespaces declared on it.
//
// The connection translates between that framing and the byte stream the
// server's C2sStream speaks: an incoming <open/> becomes a stream header, a
// <close/> the stream's end, other messages pass as they are; what the stream
// writes is split into top-level elements again (by a StreamFramer on the
// output) and sent one per message, the header as <open/>. TLS belongs to the
// WebSocket layer (wss://), so the stream offers no STARTTLS: the server hands
// these connections a configuration with TLS off, as it does in-memory ones.
#ifndef TALKCHECK_FAKE_SERVER_WEBSOCKET_CONNECTION_H_
#define TALKCHECK_FAKE_SERVER_WEBSOCKET_CONNECTION_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <memory>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "fake_server/c2s_stream.h"
#include "fake_server/connection.h"
#include "xmpp/stream_framer.h"

namespace talkcheck::fake_server {

class WebSocketConnection
    : public std::enable_shared_from_this<WebSocketConnection>,
      public ServedConnection,
      public C2sStream::Transport {
 public:
  // The references must outlive the connection; `config` should have TLS off.
  WebSocketConnection(boost::asio::ip::tcp::socket socket,
                      const ServerConfig& config, Router& router, Clock& clock,
                      absl::BitGenRef bitgen);

  // Reads the HTTP upgrade and serves the stream. Call once, on a connection
  // owned by a shared_ptr.
  void Start();

  // ServedConnection implementation.
  bool authenticated() const override { return stream_.authenticated(); }
  bool closed() const override { return stream_.closed() || shut_down_; }
  size_t queued_output_bytes() const override { return QueuedBytes(); }
  void Evict(absl::string_view text) override;
  void Abort() override;

  // C2sStream::Transport implementation.
  void Write(std::string bytes) override;
  size_t QueuedBytes() const override;
  void DiscardQueued() override { outbox_.clear(); }
  void StartTls() override;  // never offered; fails the connection if asked
  bool CanStartTls() const override { return false; }
  void Close() override;

 private:
  void OnUpgradeRequest(const boost::system::error_code& ec);
  void RefuseUpgrade(std::string why);
  void DoRead();
  void OnMessage(const boost::system::error_code& ec);
  // Queues one framed element for sending.
  void Send(std::string message);
  void DoWrite();
  void Shutdown();

  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  boost::beast::flat_buffer buffer_;
  boost::beast::http::request<boost::beast::http::string_body> request_;
  C2sStream stream_;
  // Splits what the stream writes into the elements to send one per message.
  xmpp::StreamFramer output_framer_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool close_after_writes_ = false;
  bool opened_ = false;  // the first <open/> has arrived
  bool shut_down_ = false;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_WEBSOCKET_CONNECTION_H_
