// One client connection over an in-memory `xmpp::StreamPipeEnd` instead of
// TCP: the transport of a `C2sStream` for in-process clients driven on a
// virtual clock. Elements cross as the pipe's handover says: as text, or whole.
//
// Lifetime: the connection keeps itself alive from Start() (or Reject()) until
// the pipe closes, then lets go through a post to the io_context, so it is
// never destroyed inside a call that may still use its stream. There is no
// TLS on a pipe (CanStartTls() is false): the server hands these connections a
// configuration with TLS off (see FakeServer::ConnectInMemory()).
#ifndef TALKCHECK_FAKE_SERVER_IN_MEMORY_CONNECTION_H_
#define TALKCHECK_FAKE_SERVER_IN_MEMORY_CONNECTION_H_

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/strings/string_view.h"
#include "base/clock.h"
#include "fake_server/c2s_stream.h"
#include "fake_server/config.pb.h"
#include "fake_server/connection.h"
#include "fake_server/router.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_pipe.h"

namespace talkcheck::fake_server {

// Serves one C2sStream over the server's end of a stream pipe.
class InMemoryConnection
    : public std::enable_shared_from_this<InMemoryConnection>,
      public ServedConnection,
      public C2sStream::Transport {
 public:
  // The references must outlive the connection; `io` is the pipe's.
  InMemoryConnection(boost::asio::io_context& io,
                     std::unique_ptr<xmpp::StreamPipeEnd> pipe,
                     const ServerConfig& config, Router& router, Clock& clock,
                     absl::BitGenRef bitgen);

  // Starts serving. Call once, on a connection owned by a shared_ptr.
  void Start();
  // Instead of Start(): answers with that stream error and closes.
  void Reject(xmpp::StreamCondition condition, absl::string_view text);

  // ServedConnection implementation. Abort() closes the pipe now (server
  // shutdown); the client still gets what was written.
  bool authenticated() const override { return stream_.authenticated(); }
  bool closed() const override { return stream_.closed(); }
  size_t queued_output_bytes() const override { return QueuedBytes(); }
  void Evict(absl::string_view text) override;
  void Abort() override;

  // C2sStream::Transport implementation.
  void Write(std::string bytes) override;
  void WriteElement(xmpp::Element element) override;
  bool TakesElements() const override {
    return pipe_ != nullptr &&
           pipe_->handover() == xmpp::StreamPipeEnd::Handover::kElements;
  }
  // The pipe takes everything at once: nothing is ever queued here.
  size_t QueuedBytes() const override { return 0; }
  void DiscardQueued() override {}
  // Never asked for (CanStartTls() is false); fails the connection if it is.
  void StartTls() override;
  bool CanStartTls() const override { return false; }
  // A pipe loses nothing on close, so unlike TCP there is no linger: the
  // client gets every byte written so far, then its on_closed.
  void Close() override;

 private:
  void Shutdown();

  boost::asio::io_context& io_;
  std::unique_ptr<xmpp::StreamPipeEnd> pipe_;
  C2sStream stream_;
  // Set while the pipe is open; see the lifetime note above.
  std::shared_ptr<InMemoryConnection> self_;
  bool shut_down_ = false;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_IN_MEMORY_CONNECTION_H_
