#include "fake_server/tcp_connection.h"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <iterator>
#include <utility>

namespace talkcheck::fake_server {

namespace asio = boost::asio;

namespace {
constexpr size_t kReadBufferBytes = 16 * 1024;
// Reads per readiness before other connections get a turn (a flooding client
// must not starve the rest).
constexpr int kReadsPerTurn = 4;
}  // namespace

TcpConnection::TcpConnection(asio::ip::tcp::socket socket,
                             asio::ssl::context* tls_context,
                             const ServerConfig& config, Router& router,
                             Clock& clock, absl::BitGenRef bitgen)
    : socket_(std::move(socket)),
      tls_context_(tls_context),
      clock_(clock),
      stream_(config, router, clock, *this, bitgen) {
  // Stanzas are small and latency matters (the harness promises timings):
  // no Nagle delay behind the client's delayed ACKs (issue 13).
  boost::system::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
  // ReadAvailable() reads until the kernel has nothing more.
  socket_.non_blocking(true, ignored);
}

void TcpConnection::SetWireTap(WireTap* tap, uint64_t id) {
  tap_ = tap;
  tap_id_ = id;
  boost::system::error_code client_ec;
  boost::system::error_code server_ec;
  const asio::ip::tcp::endpoint client = socket_.remote_endpoint(client_ec);
  const asio::ip::tcp::endpoint server = socket_.local_endpoint(server_ec);
  if (client_ec || server_ec) {
    tap_ = nullptr;
    return;
  }
  tap_->OnOpen(tap_id_, client, server);
}

void TcpConnection::Start() {
  stream_.Start();
  DoRead();
}

void TcpConnection::Reject(xmpp::StreamCondition condition,
                           absl::string_view text) {
  stream_.RejectAtStart(condition, text);
}

void TcpConnection::Abort() { Shutdown(); }

void TcpConnection::Evict(absl::string_view text) {
  stream_.EndWithError(xmpp::StreamCondition::kResourceConstraint, text);
}

void TcpConnection::DoRead() {
  if (reading_ || shut_down_ || tls_pending_) return;
  reading_ = true;
  if (tls_) {
    tls_->async_read_some(
        asio::buffer(tls_read_buffer_.get(), kReadBufferBytes),
        [self = shared_from_this()](const boost::system::error_code& ec,
                                    size_t bytes) {
          self->OnTlsRead(ec, bytes);
        });
    return;
  }
  // Waiting for readability needs no buffer: 10,000 idle connections would
  // otherwise each keep a touched page of their own (issue 13 §7).
  socket_.async_wait(
      asio::ip::tcp::socket::wait_read,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        self->reading_ = false;
        if (ec) {
          self->Shutdown();
          return;
        }
        self->ReadAvailable();
      });
}

void TcpConnection::ReadAvailable() {
  if (shut_down_ || tls_pending_) return;
  thread_local std::unique_ptr<char[]> shared_buffer;
  if (shared_buffer == nullptr) shared_buffer.reset(new char[kReadBufferBytes]);
  for (int i = 0; i < kReadsPerTurn; ++i) {
    boost::system::error_code ec;
    const size_t bytes = socket_.read_some(
        asio::buffer(shared_buffer.get(), kReadBufferBytes), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) {
      DoRead();  // drained: Asio's epoll is edge-triggered
      return;
    }
    if (ec) {
      // EOF, reset or our own close: the stream is over either way.
      Shutdown();
      return;
    }
    Deliver(absl::string_view(shared_buffer.get(), bytes));
    // STARTTLS: what follows is the TLS engine's, read after the handshake.
    if (shut_down_ || tls_pending_) return;
  }
  // More is waiting: let the other connections have a turn first.
  reading_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->reading_ = false;
    self->ReadAvailable();
  });
}

void TcpConnection::OnTlsRead(const boost::system::error_code& ec,
                              size_t bytes) {
  reading_ = false;
  if (ec) {
    Shutdown();
    return;
  }
  Deliver(absl::string_view(tls_read_buffer_.get(), bytes));
  DoRead();
}

void TcpConnection::Deliver(absl::string_view bytes) {
  if (tap_ != nullptr) tap_->OnBytes(tap_id_, true, bytes);
  if (!draining_) stream_.OnBytes(bytes);
}

void TcpConnection::Write(std::string bytes) {
  if (shut_down_) return;
  pending_.append(bytes);
  // Everything written in this turn goes out together: one segment instead of
  // a small one followed by others held back by Nagle and delayed ACKs.
  if (flush_posted_) return;
  flush_posted_ = true;
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->DoWrite();
  });
}

void TcpConnection::DoWrite() {
  if (writing_ || shut_down_ || flush_posted_) return;
  if (pending_.empty()) {
    if (close_pending_) {
      GracefulClose();
    } else if (tls_pending_) {
      DoHandshake();
    }
    return;
  }
  writing_ = true;
  in_flight_.swap(pending_);
  pending_.clear();
  if (tap_ != nullptr) tap_->OnBytes(tap_id_, false, in_flight_);
  auto handler = [self = shared_from_this()](
                     const boost::system::error_code& ec, size_t) {
    self->OnWrite(ec);
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(in_flight_), std::move(handler));
  } else {
    asio::async_write(socket_, asio::buffer(in_flight_), std::move(handler));
  }
}

void TcpConnection::OnWrite(const boost::system::error_code& ec) {
  writing_ = false;
  in_flight_.clear();
  if (ec) {
    Shutdown();
    return;
  }
  DoWrite();
}

void TcpConnection::StartTls() {
  tls_pending_ = true;
  DoWrite();  // handshakes once <proceed/> is on the wire
}

void TcpConnection::DoHandshake() {
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(
      socket_, *tls_context_);
  tls_read_buffer_.reset(new char[kReadBufferBytes]);
  tls_->async_handshake(
      asio::ssl::stream_base::server,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        self->tls_pending_ = false;
        if (ec) {
          self->Shutdown();
          return;
        }
        if (self->tap_ != nullptr) self->tap_->OnTlsEstablished(self->tap_id_);
        self->stream_.OnTlsEstablished();
        self->DoRead();
        self->DoWrite();
      });
}

void TcpConnection::Close() {
  if (tls_pending_) {
    // Closing during the TLS handshake (or before it started): there is no
    // channel to say goodbye on, and the handshake would wait for the client.
    Shutdown();
    return;
  }
  close_pending_ = true;
  // A client that does not read would keep the queue from draining, and the
  // connection open, forever: give it the linger time, then close anyway.
  if (linger_timer_ == nullptr) {
    linger_timer_ =
        clock_.CallAfter(absl::Seconds(2), [weak = weak_from_this()] {
          if (auto self = weak.lock()) self->Shutdown();
        });
  }
  DoWrite();
}

void TcpConnection::GracefulClose() {
  if (draining_ || shut_down_) return;
  draining_ = true;
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
  linger_timer_ = clock_.CallAfter(absl::Seconds(2), [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->Shutdown();
  });
  DoRead();
}

void TcpConnection::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  if (tap_ != nullptr) tap_->OnClose(tap_id_);
  tap_ = nullptr;  // the tap may go once the server has stopped
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  // in_flight_ belongs to the write in progress until its handler runs.
  pending_.clear();
  pending_.shrink_to_fit();
  linger_timer_.reset();
  stream_.OnTransportClosed();
}

}  // namespace talkcheck::fake_server
