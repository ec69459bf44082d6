// The client side of the Google relay (PROTOCOL.md §5.2), as libjingle 0.4's
// `httpportallocator.cc` and `relayport.cc` speak it: an HTTP
// `GET /create_session` that hands out a relay session, and a socket decorator
// that sends through the relay's STUN-framed, pre-TURN UDP port.
//
// `RelayedSocket` wraps an ordinary socket. `Allocate` sends ALLOCATE
// (MAGIC-COOKIE, USERNAME) to relay.udp_port until the relay answers with the
// session's external address, which becomes the socket's `local_endpoint()`:
// the address a `relay` candidate announces. Afterwards every `SendTo` leaves
// as an unlocked SEND (MAGIC-COOKIE, USERNAME, DESTINATION-ADDRESS, DATA), and
// every DATA-INDICATION from the relay reaches the receive handler as DATA from
// SOURCE-ADDRESS2. It never locks (OPTIONS=1): a locked client connection
// serves one destination only, and libjingle 0.4 then opens one socket per
// destination; unlocked, one socket serves every remote candidate, and the
// relay delivers each peer datagram as a DATA-INDICATION to the session's
// first client connection (docs/protocol-notes.md, "Relay candidates").
//
// Example:
//   auto request = RelaySessionRequest::Start(io, clock, http, token,
//       absl::Seconds(5), [&](absl::StatusOr<RelaySession> session) {...});
//   auto relayed = std::make_unique<RelayedSocket>(clock, bitgen,
//       *std::move(socket), *session);
//   relayed->Allocate(absl::Seconds(5), [&](absl::Status status) {...});
#ifndef TALKCHECK_MEDIA_SIM_RELAY_CLIENT_H_
#define TALKCHECK_MEDIA_SIM_RELAY_CLIENT_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "media_sim/datagram_network.h"

namespace talkcheck::media_sim {

// What one create_session answered.
struct RelaySession {
  UdpEndpoint relay_udp;  // relay.ip : relay.udp_port
  std::string username;
  std::string password;
  std::string magic_cookie;  // verbatim; empty: none advertised
};

// Parses a create_session body (`key=value` lines, LF or CRLF).
// kInvalidArgument when relay.ip, relay.udp_port or username is missing or
// malformed.
absl::StatusOr<RelaySession> ParseRelaySessionBody(absl::string_view body);

// One HTTP create_session exchange with both auth headers (§5.2). `done` runs
// once, on the io thread, unless the request is destroyed first: with the
// session, or kUnavailable (connection, I/O, non-200) or kDeadlineExceeded
// (`timeout`, on `clock`). Does not own `io` or `clock`.
class RelaySessionRequest {
 public:
  using Done = std::function<void(absl::StatusOr<RelaySession>)>;
  static std::unique_ptr<RelaySessionRequest> Start(
      boost::asio::io_context& io, Clock& clock,
      const boost::asio::ip::tcp::endpoint& http, const std::string& token,
      absl::Duration timeout, Done done);
  ~RelaySessionRequest();

 private:
  struct State;
  explicit RelaySessionRequest(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

// A socket whose datagrams go through a relay session (see the file comment).
// Owns `inner`. Does not own `clock` or `bitgen`, which must outlive it.
class RelayedSocket : public DatagramSocket {
 public:
  RelayedSocket(Clock& clock, absl::BitGenRef bitgen,
                std::unique_ptr<DatagramSocket> inner, RelaySession session);
  ~RelayedSocket() override;

  // Sends ALLOCATE, retransmitted after 200, 200, 400, 800 and 1600 ms
  // (libjingle's AllocateRequest), until the relay answers, those five sends
  // go unanswered, or `timeout` passes. `done`
  // runs once (unless the socket is destroyed first): OK, or
  // kDeadlineExceeded, or kUnavailable for an error response.
  void Allocate(absl::Duration timeout, std::function<void(absl::Status)> done);

  const RelaySession& session() const { return session_; }
  // The relay's external address once allocated, else the inner socket's.
  UdpEndpoint local_endpoint() const override;
  bool SendTo(absl::string_view datagram, const UdpEndpoint& to) override;
  void SetReceiveHandler(
      std::function<void(absl::string_view, const UdpEndpoint&)> handler)
      override;

  // Datagrams sent as SEND and received as DATA-INDICATION.
  uint64_t sends() const { return sends_; }
  uint64_t data_indications() const { return data_indications_; }

 private:
  void OnDatagram(absl::string_view datagram, const UdpEndpoint& from);
  void SendAllocate();
  void FinishAllocate(absl::Status status);
  std::string Cookie() const;

  Clock& clock_;
  absl::BitGenRef bitgen_;
  std::unique_ptr<DatagramSocket> inner_;
  RelaySession session_;
  std::function<void(absl::string_view, const UdpEndpoint&)> handler_;
  std::function<void(absl::Status)> allocate_done_;
  std::string allocate_tid_;
  absl::Duration allocate_deadline_;
  int allocate_sends_ = 0;
  std::unique_ptr<Timer> allocate_timer_;
  bool allocated_ = false;
  UdpEndpoint external_;
  uint64_t sends_ = 0;
  uint64_t data_indications_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_RELAY_CLIENT_H_
