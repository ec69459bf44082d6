// One client connection over TCP, upgraded in place to TLS on STARTTLS: the
// Asio side of a `C2sStream`.
//
// Lifetime follows the Beast examples: every pending asynchronous operation
// holds a shared_ptr to the connection, so it lives exactly as long as it has
// I/O in flight. Writes go through a queue with one write in flight.
// Single-threaded: all handlers run on the io_context thread that runs the
// server.
#ifndef TALKCHECK_FAKE_SERVER_TCP_CONNECTION_H_
#define TALKCHECK_FAKE_SERVER_TCP_CONNECTION_H_

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>

#include "fake_server/c2s_stream.h"
#include "fake_server/connection.h"
#include "fake_server/wire_tap.h"

namespace talkcheck::fake_server {

class TcpConnection : public std::enable_shared_from_this<TcpConnection>,
                      public ServedConnection,
                      public C2sStream::Transport {
 public:
  // `tls_context` may be null (no STARTTLS). The references must outlive the
  // connection.
  TcpConnection(boost::asio::ip::tcp::socket socket,
                boost::asio::ssl::context* tls_context,
                const ServerConfig& config, Router& router, Clock& clock,
                absl::BitGenRef bitgen);

  // Starts reading; with `reject` set, answers with that stream error and
  // closes.
  void Start();
  // Shows this connection's bytes to `tap` (not owned; must outlive the
  // connection) as connection number `id`. Call before Start().
  void SetWireTap(WireTap* tap, uint64_t id);
  void Reject(xmpp::StreamCondition condition, absl::string_view text);

  // ServedConnection implementation.
  bool authenticated() const override { return stream_.authenticated(); }
  bool closed() const override { return stream_.closed(); }
  size_t queued_output_bytes() const override { return QueuedBytes(); }
  void Evict(absl::string_view text) override;
  void Abort() override;

  // C2sStream::Transport implementation.
  // Bytes written in one turn of the io_context go out in one write (stream
  // header and features together; consecutive stanzas coalesced).
  void Write(std::string bytes) override;
  size_t QueuedBytes() const override {
    return pending_.size() + in_flight_.size();
  }
  void DiscardQueued() override { pending_.clear(); }
  void StartTls() override;
  bool CanStartTls() const override { return tls_context_ != nullptr; }
  void Close() override;

 private:
  void DoRead();
  // Plain TCP: reads what the kernel holds into the one buffer every plain
  // connection of this thread shares, so an idle connection holds none.
  void ReadAvailable();
  // TLS: the engine needs a buffer of the connection's own for its reads.
  void OnTlsRead(const boost::system::error_code& ec, size_t bytes);
  void Deliver(absl::string_view bytes);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec);
  void DoHandshake();
  // Half-closes after the last write and drains the client's input for a
  // moment, so the stream error it was just sent is not destroyed by a TCP
  // reset.
  void GracefulClose();
  void Shutdown();

  boost::asio::ip::tcp::socket socket_;
  boost::asio::ssl::context* tls_context_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  Clock& clock_;
  C2sStream stream_;
  std::unique_ptr<Timer> linger_timer_;

  std::unique_ptr<char[]> tls_read_buffer_;  // allocated with the TLS stream
  std::string pending_;        // queued, not yet handed to a write
  std::string in_flight_;      // the buffer of the write in progress
  bool flush_posted_ = false;  // a DoWrite() is queued for the end of the turn
  bool writing_ = false;
  bool reading_ = false;
  bool tls_pending_ =
      false;  // StartTls() asked; handshake after the queue drains
  bool close_pending_ = false;  // Close() asked; close after the queue drains
  bool draining_ = false;       // half-closed, discarding input until EOF
  bool shut_down_ = false;
  WireTap* tap_ = nullptr;
  uint64_t tap_id_ = 0;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_TCP_CONNECTION_H_
