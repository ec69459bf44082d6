// A UDP STUN server for server-reflexive discovery: what `stun.l.google.com`
// was to Google Talk clients (PROTOCOL.md §4.3 last bullet, §5.1).
//
// libjingle 0.4's `StunPort` sends a plain Binding request with no attributes
// and reads MAPPED-ADDRESS from the answer; later Google clients (and RFC 5389
// stacks) put the magic cookie in the first four bytes of the transaction id.
// The server answers each Binding request in the form it came in:
//  * RFC 3489 form (16-byte id): Binding response with USERNAME echoed (when
//    present) and MAPPED-ADDRESS = the request's source. Nothing else, because
//    libjingle 0.4's strict parser drops a message with an attribute it does
//    not know (XOR-MAPPED-ADDRESS among them).
//  * cookie form: the same, plus XOR-MAPPED-ADDRESS, so that RFC 5389 clients
//    (which read only XOR-MAPPED-ADDRESS) and Google's 2011 clients (which
//    read MAPPED-ADDRESS, NICE commit 14f7accd) are both served.
// Anything else (truncated or inconsistent datagrams, responses, other
// request types) is counted in `stats()` and dropped without an answer: what a
// client under test sends is a finding, never a reason to crash.
//
// Example:
//   absl::StatusOr<std::unique_ptr<StunServer>> stun =
//       StunServer::Create(io, StunServerOptions{});
//   if (!stun.ok()) return stun.status();
//   jingleinfo.stun_port = (*stun)->local_endpoint().port();
#ifndef TALKCHECK_MEDIA_SIM_STUN_SERVER_H_
#define TALKCHECK_MEDIA_SIM_STUN_SERVER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace talkcheck::media_sim {

struct StunServerOptions {
  // Where the socket binds. Port 0 picks a free port; `local_endpoint()`
  // reports it.
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  // Largest datagram read whole; a longer one is counted in
  // `oversized_datagrams` and dropped (a Binding request is 20-100 bytes).
  size_t max_datagram_bytes = 2048;
};

// What the server saw. Every counter is a finding a scenario can assert on.
struct StunServerStats {
  uint64_t datagrams_received = 0;
  uint64_t binding_requests = 0;         // answered, both forms
  uint64_t cookie_binding_requests = 0;  // of which in the RFC 5389 form
  // Binding requests carrying attributes other than USERNAME (answered anyway).
  uint64_t requests_with_unknown_attributes = 0;
  uint64_t malformed = 0;    // not parseable as STUN
  uint64_t unsupported = 0;  // parseable, but not a Binding request
  uint64_t oversized_datagrams = 0;
  uint64_t send_errors = 0;
};

// Answers Binding requests on one UDP socket. Single-threaded: handlers run on
// the thread that runs the io_context, which must outlive the server.
// Destroying the server closes the socket; queued handlers then do nothing.
class StunServer {
 public:
  static absl::StatusOr<std::unique_ptr<StunServer>> Create(
      boost::asio::io_context& io, StunServerOptions options);
  ~StunServer();

  StunServer(const StunServer&) = delete;
  StunServer& operator=(const StunServer&) = delete;

  // The bound address and port (the real port when 0 was asked for).
  boost::asio::ip::udp::endpoint local_endpoint() const { return local_; }
  const StunServerStats& stats() const { return stats_; }

  // The response to `datagram` from `from`, or an empty string when it gets
  // none; counts in `stats()`. What the socket loop calls.
  // Visible for testing.
  std::string HandleDatagram(absl::string_view datagram,
                             const boost::asio::ip::udp::endpoint& from);

 private:
  struct Receiver;

  StunServer(boost::asio::io_context& io, StunServerOptions options);
  void DoReceive();

  StunServerOptions options_;
  std::unique_ptr<boost::asio::ip::udp::socket> socket_;
  boost::asio::ip::udp::endpoint local_;
  // Shared with pending handlers: the receive buffer, the sender slot and the
  // flag that tells them the server is gone.
  std::shared_ptr<Receiver> receiver_;
  StunServerStats stats_;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_STUN_SERVER_H_
