// A blocking, deliberately naive XMPP client over plain TCP, for tests that
// must send exactly the bytes they choose (malformed XML, spoofed addresses,
// floods) and read exactly what the server answers.
//
// Every read is bounded by the client's timeout (5 s by default), so a server
// that stays silent fails the test instead of hanging it. The timeout is
// enforced with poll(2) before each read: SO_RCVTIMEO does not work on an Asio
// socket, whose blocking read retries with an unbounded poll when recv() times
// out.
//
// Reading is text-based, with just enough framing to split the server's output
// into top-level constructs (XML declaration, stream header, elements, stream
// close); the server writes plain, minimal XML, and anything odd it writes
// shows up as a parse error in the test.
//
// Example:
//   absl::StatusOr<std::unique_ptr<RawClient>> client =
//       RawClient::Connect(server->endpoint());
//   absl::StatusOr<std::string> jid = (*client)->LogInPlain("cut", "cutpass",
//   "r1"); absl::Status ping = (*client)->Ping("ping1");
#ifndef TALKCHECK_TESTS_RAW_CLIENT_H_
#define TALKCHECK_TESTS_RAW_CLIENT_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "xmpp/element.h"

namespace talkcheck::integration {

// The stream header a well-behaved client sends to the test servers.
inline constexpr char kClientStreamHeader[] =
    "<?xml version='1.0'?><stream:stream to='localhost' xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";

class RawClient {
 public:
  // Connects to `endpoint` ("127.0.0.1:5222" or "[::1]:5222"). kUnavailable
  // when the connection is refused.
  static absl::StatusOr<std::unique_ptr<RawClient>> Connect(
      absl::string_view endpoint, absl::Duration timeout = absl::Seconds(5));
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  // Writes all of `bytes`.
  absl::Status SendRaw(absl::string_view bytes);

  // Reads until `needle` has arrived and returns everything unread up to and
  // including it. kUnavailable if the server closes first, kDeadlineExceeded
  // after the timeout; either message quotes what did arrive.
  absl::StatusOr<std::string> ReadUntil(absl::string_view needle);
  // Reads until the server closes the connection and returns everything unread.
  // kDeadlineExceeded if it is still open after the timeout.
  absl::StatusOr<std::string> ReadAllUntilClosed();

  // The next top-level element, parsed in the client stream's scope (default
  // namespace jabber:client, `stream` prefix bound). XML declarations and
  // stream headers are skipped; a stream close is kUnavailable ("stream
  // closed").
  absl::StatusOr<xmpp::Element> ReadElement();
  // Reads elements until one satisfies `matcher` and returns it; the others are
  // dropped (e.g. presence broadcasts while waiting for an iq result).
  absl::StatusOr<xmpp::Element> ReadElementMatching(
      const std::function<bool(const xmpp::Element&)>& matcher);

  // Sends the stream header and reads the server's header and
  // <stream:features/>.
  absl::StatusOr<xmpp::Element> OpenStream();
  // Over a stream without TLS: opens the stream, authenticates with SASL PLAIN
  // and restarts the stream (whose features must offer bind).
  absl::Status AuthenticatePlain(absl::string_view user,
                                 absl::string_view password);
  // Asks to bind `resource` with iq id `id`; returns the server's reply, result
  // or not.
  absl::StatusOr<xmpp::Element> Bind(absl::string_view resource,
                                     absl::string_view id);
  // AuthenticatePlain() and a successful Bind(). Returns the bound full JID.
  absl::StatusOr<std::string> LogInPlain(absl::string_view user,
                                         absl::string_view password,
                                         absl::string_view resource);
  // Sends an XEP-0199 ping to the server with `id` and waits for its result.
  absl::Status Ping(absl::string_view id);

  // Closes the socket at once (no </stream:stream>).
  void Close();

  // Whether the server has closed its side (EOF or reset seen).
  bool closed_by_server() const { return eof_; }
  // Every byte received so far, read or not (for failure messages).
  const std::string& transcript() const { return transcript_; }

 private:
  explicit RawClient(absl::Duration timeout);
  // Reads once (whatever is available, waiting at most until `deadline`). kOk
  // with no data at EOF (then eof_ is set), kDeadlineExceeded on timeout.
  absl::Status ReadSome(std::chrono::steady_clock::time_point deadline);
  // The next complete top-level construct, raw.
  absl::StatusOr<std::string> ReadConstruct();
  std::string Quote() const;

  boost::asio::io_context io_;
  boost::asio::ip::tcp::socket socket_;
  absl::Duration timeout_;
  std::string pending_;     // received, not yet returned by a Read*()
  std::string transcript_;  // everything received
  bool eof_ = false;
};

// The base64 of SASL PLAIN's message for `user`/`password` (no authzid).
std::string PlainCredentials(absl::string_view user,
                             absl::string_view password);

}  // namespace talkcheck::integration

#endif  // TALKCHECK_TESTS_RAW_CLIENT_H_
