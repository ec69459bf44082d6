#include "fake_server/tcp_connection.h"

#include <boost/asio/write.hpp>
#include <iterator>
#include <utility>

namespace talkcheck::fake_server {

namespace asio = boost::asio;

TcpConnection::TcpConnection(asio::ip::tcp::socket socket,
                             asio::ssl::context* tls_context,
                             const ServerConfig& config, Router& router,
                             Clock& clock, absl::BitGenRef bitgen)
    : socket_(std::move(socket)),
      tls_context_(tls_context),
      clock_(clock),
      stream_(config, router, clock, *this, bitgen) {}

void TcpConnection::Start() {
  stream_.Start();
  DoRead();
}

void TcpConnection::Reject(xmpp::StreamCondition condition,
                           absl::string_view text) {
  stream_.RejectAtStart(condition, text);
}

void TcpConnection::Abort() { Shutdown(); }

void TcpConnection::DoRead() {
  if (reading_ || shut_down_ || tls_pending_) return;
  reading_ = true;
  auto handler = [self = shared_from_this()](
                     const boost::system::error_code& ec, size_t bytes) {
    self->OnRead(ec, bytes);
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(read_buffer_), std::move(handler));
  } else {
    socket_.async_read_some(asio::buffer(read_buffer_), std::move(handler));
  }
}

void TcpConnection::OnRead(const boost::system::error_code& ec, size_t bytes) {
  reading_ = false;
  if (ec) {
    // EOF, reset or our own close: the stream is over either way.
    Shutdown();
    return;
  }
  if (!draining_)
    stream_.OnBytes(absl::string_view(read_buffer_.data(), bytes));
  DoRead();
}

void TcpConnection::Write(std::string bytes) {
  if (shut_down_) return;
  write_queue_.push_back(std::move(bytes));
  DoWrite();
}

void TcpConnection::DoWrite() {
  if (writing_ || shut_down_) return;
  if (write_queue_.empty()) {
    if (close_pending_) {
      GracefulClose();
    } else if (tls_pending_) {
      DoHandshake();
    }
    return;
  }
  writing_ = true;
  auto handler = [self = shared_from_this()](
                     const boost::system::error_code& ec, size_t) {
    self->OnWrite(ec);
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(write_queue_.front()),
                      std::move(handler));
  } else {
    asio::async_write(socket_, asio::buffer(write_queue_.front()),
                      std::move(handler));
  }
}

void TcpConnection::OnWrite(const boost::system::error_code& ec) {
  writing_ = false;
  if (ec) {
    Shutdown();
    return;
  }
  write_queue_.pop_front();
  DoWrite();
}

void TcpConnection::StartTls() {
  tls_pending_ = true;
  DoWrite();  // handshakes once <proceed/> is on the wire
}

void TcpConnection::DoHandshake() {
  tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(
      socket_, *tls_context_);
  tls_->async_handshake(
      asio::ssl::stream_base::server,
      [self = shared_from_this()](const boost::system::error_code& ec) {
        self->tls_pending_ = false;
        if (ec) {
          self->Shutdown();
          return;
        }
        self->stream_.OnTlsEstablished();
        self->DoRead();
        self->DoWrite();
      });
}

void TcpConnection::Close() {
  close_pending_ = true;
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
  boost::system::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  // The front buffer belongs to the write in flight until its handler runs.
  write_queue_.erase(
      writing_ ? std::next(write_queue_.begin()) : write_queue_.begin(),
      write_queue_.end());
  linger_timer_.reset();
  stream_.OnTransportClosed();
}

}  // namespace talkcheck::fake_server
