// An ordered, reliable, bidirectional in-memory byte stream: a socketpair
// without the kernel, for running the fake server and an in-process client
// with no socket at all.
//
// Every delivery is posted to the `io_context`, never made inside `Write()`,
// and nothing depends on threads or real time: a driver loop that alternates
// `io.poll()` with `VirtualClock::RunNext()` (see base/virtual_driver.h)
// replays a run byte for byte.
//
// Example:
//   auto [client, server] = MakeBytePipe(io);
//   server->SetHandlers([](absl::string_view bytes) { ... },
//                       [] { /* client closed */ });
//   client->Write("<stream:stream ...>");  // reaches `server` in io.poll()
//   client->Close();  // `server` gets the pending bytes, then on_closed
#ifndef TALKCHECK_BASE_BYTE_PIPE_H_
#define TALKCHECK_BASE_BYTE_PIPE_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace talkcheck {

// One end of a byte pipe. Single-threaded: use it on the io_context's thread.
class BytePipeEnd {
 public:
  // Destroying an end closes it: the other end still gets what this end wrote,
  // then on_closed. Handlers set on this end never run afterwards.
  virtual ~BytePipeEnd() = default;

  // Queues bytes for the other end; delivered later through io (post), never
  // synchronously. Ignored after Close().
  virtual void Write(std::string bytes) = 0;

  // `on_data` gets each chunk in order; `on_closed` runs once after the last
  // chunk when the other end closed or was destroyed. Bytes that arrived before
  // the handlers were set are held and delivered (posted) once they are.
  // Handlers may destroy the end or replace the handlers; either may be empty.
  virtual void SetHandlers(std::function<void(absl::string_view)> on_data,
                           std::function<void()> on_closed) = 0;

  // Half of a close, as TCP's shutdown(SHUT_WR): the other end receives the
  // pending data, then on_closed; this end keeps receiving until the other end
  // closes too. Idempotent; Write after Close is ignored.
  virtual void Close() = 0;

  // False once Close() was called on this end. A close by the other end shows
  // as on_closed, not here.
  virtual bool is_open() const = 0;
};

// Makes a connected pair. Both ends run on `io`'s thread; `io` must outlive
// them. Handlers posted to `io` are safe after either end is destroyed.
std::pair<std::unique_ptr<BytePipeEnd>, std::unique_ptr<BytePipeEnd>>
MakeBytePipe(boost::asio::io_context& io);

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_BYTE_PIPE_H_
