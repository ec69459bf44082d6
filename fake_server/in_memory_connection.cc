#include "fake_server/in_memory_connection.h"

#include <boost/asio/post.hpp>
#include <utility>

namespace talkcheck::fake_server {

InMemoryConnection::InMemoryConnection(
    boost::asio::io_context& io, std::unique_ptr<xmpp::StreamPipeEnd> pipe,
    const ServerConfig& config, Router& router, Clock& clock,
    absl::BitGenRef bitgen)
    : io_(io),
      pipe_(std::move(pipe)),
      stream_(config, router, clock, *this, bitgen) {}

void InMemoryConnection::Start() {
  self_ = shared_from_this();
  // Raw `this` is safe: the pipe never runs the handlers of a destroyed end,
  // and the end dies before the connection does.
  pipe_->SetHandlers(
      [this](absl::string_view bytes) {
        if (!shut_down_) stream_.OnBytes(bytes);
      },
      [this](xmpp::Element element) {
        if (!shut_down_) stream_.OnElement(std::move(element));
      },
      [this] { Shutdown(); });
  stream_.Start();
}

void InMemoryConnection::Reject(xmpp::StreamCondition condition,
                                absl::string_view text) {
  self_ = shared_from_this();
  stream_.RejectAtStart(condition, text);
}

void InMemoryConnection::Abort() { Shutdown(); }

void InMemoryConnection::Evict(absl::string_view text) {
  stream_.EndWithError(xmpp::StreamCondition::kResourceConstraint, text);
}

void InMemoryConnection::Write(std::string bytes) {
  if (shut_down_) return;
  pipe_->WriteText(std::move(bytes));
}

void InMemoryConnection::WriteElement(xmpp::Element element) {
  if (shut_down_) return;
  pipe_->WriteElement(std::move(element));
}

void InMemoryConnection::StartTls() { Shutdown(); }

void InMemoryConnection::Close() { Shutdown(); }

void InMemoryConnection::Shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  // Destroying the end closes it after the bytes already written.
  pipe_.reset();
  stream_.OnTransportClosed();
  // The caller may be inside the stream (a timer, OnBytes, Router::Kick):
  // let go later.
  boost::asio::post(io_, [self = std::move(self_)] {});
}

}  // namespace talkcheck::fake_server
