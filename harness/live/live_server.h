// talkcheck run --serve: an HTTP server on a thread of its own that serves
// the live report's page (harness/live/live_report.h) at / and its updates
// over a WebSocket at /live (Boost.Beast), to as many browsers as connect.
//
// A browser never slows or hangs the run: the run only feeds the LiveReport
// (a lock and a copy); this thread renders and sends. Each client has a
// bounded queue of messages not yet written; a client that reads too slowly
// (or not at all) to keep it under the bounds is dropped, and so is one whose
// connection fails. Stop() gives the clients a bounded time to take the
// final message.
#ifndef TALKCHECK_HARNESS_LIVE_LIVE_SERVER_H_
#define TALKCHECK_HARNESS_LIVE_LIVE_SERVER_H_

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "harness/live/live_report.h"

namespace talkcheck::harness {

struct LiveServerOptions {
  // Per client: messages queued but not yet written.
  size_t max_queued_messages = 256;
  size_t max_queued_bytes = 16 << 20;
  // Changes are gathered this long into one message per scenario.
  absl::Duration flush_interval = absl::Milliseconds(100);
  // Requests must name the server by address or as localhost (Host), and a
  // WebSocket must come from the page itself (Origin, when a browser sends
  // one): another site's page in the same browser, by DNS rebinding or a
  // cross-site WebSocket, reads nothing. Off for --serve_any_address, where
  // the server may have a name.
  bool check_host = true;
};

// Where to serve: "127.0.0.1:PORT", "[::1]:PORT" or "localhost:PORT" (an IP
// literal, port 0 for a free one). An address other than loopback only with
// `any_address` (--serve_any_address): the page shows every stanza of the
// run to whoever connects.
absl::StatusOr<boost::asio::ip::tcp::endpoint> ParseServeAddress(
    absl::string_view text, bool any_address);

class LiveServer {
 public:
  // Listens at `where` and serves `report`, which must outlive the server.
  static absl::StatusOr<std::unique_ptr<LiveServer>> Start(
      LiveReport& report, const boost::asio::ip::tcp::endpoint& where,
      LiveServerOptions options = {});
  ~LiveServer();  // Stop(absl::ZeroDuration()) unless stopped
  LiveServer(const LiveServer&) = delete;
  LiveServer& operator=(const LiveServer&) = delete;

  // "http://127.0.0.1:PORT/", with the port chosen.
  const std::string& url() const { return url_; }

  // Sends what is left (the final "done" once the report has it) and waits
  // at most `grace` for each client to take it; then closes every
  // connection and stops.
  void Stop(absl::Duration grace);

  // Waits until a browser has the live view's WebSocket open, at most
  // `timeout`; false when none came (--serve_wait).
  bool WaitForClient(absl::Duration timeout) const;

  // WebSocket clients now, and those dropped so far (queue over its bounds).
  int clients() const;
  int dropped() const;

 private:
  struct Impl;
  explicit LiveServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::string url_;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_LIVE_LIVE_SERVER_H_
