// Gathers one allocation round's local candidates beyond the host one: a
// `stun` (server-reflexive) candidate from a STUN server and a `relay`
// candidate from the Google relay (PROTOCOL.md §3.1, §4.3, §5.2), for
// `GiceChannel::AddGeneration`.
//
// stun: a plain Binding request (16-byte id, no attribute) from the host
// socket itself, retransmitted at 100, 200, 400, 800, 1600, 1600 ... ms; the
// MAPPED-ADDRESS of the answer is the candidate's address. The candidate
// shares the host socket and ufrag, as libjingle's later shared-socket
// UDPPort does (LJ04 used a second socket); on loopback its address equals the
// host address, which is what a real STUN server answers there, and it is
// still announced, type "stun", preference 0.9.
// relay: HTTP create_session, then ALLOCATE from a socket of its own through a
// `RelayedSocket`: type "relay", preference 0.5, the relay session's username
// and password as ufrag and password (§5.2, "Resulting candidates").
//
// Failures never fail the round and never hang it: a STUN server that does not
// answer within `timeout`, an HTTP error, a relay that does not answer
// ALLOCATE all mean "no such candidate", with the reason in GatherResult.
//
// Needs real UDP for stun and relay (the servers are real sockets); with an
// in-memory network only the host candidate makes sense.
#ifndef TALKCHECK_MEDIA_SIM_CANDIDATE_GATHERER_H_
#define TALKCHECK_MEDIA_SIM_CANDIDATE_GATHERER_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "media_sim/datagram_network.h"
#include "media_sim/gice_channel.h"

namespace talkcheck::media_sim {

// Where the relay's HTTP front door is and the jingleinfo token for it.
struct RelayServerAddress {
  boost::asio::ip::tcp::endpoint http;
  std::string token;
};

struct GatherOptions {
  std::string bind_address = "127.0.0.1";
  // Not owned; null: real UDP on the gatherer's io_context.
  DatagramNetwork* network = nullptr;
  bool host = true;  // announce the host candidate
  std::optional<UdpEndpoint> stun_server;
  std::optional<RelayServerAddress> relay;
  // For the whole round (GAB's HTTP timeout is 5 s).
  absl::Duration timeout = absl::Seconds(5);
};

struct GatherResult {
  std::vector<PreparedPort> ports;  // what to hand to AddGeneration
  // Why there is no stun / relay candidate; OK when there is one or when
  // none was asked for.
  absl::Status stun;
  absl::Status relay;
};

class CandidateGatherer {
 public:
  using Done = std::function<void(GatherResult)>;

  // Starts gathering; `done` runs once, never synchronously, unless the
  // gatherer is destroyed first (which cancels everything). Does not own
  // `io`, `clock`, `bitgen` or `options.network`; all must outlive it.
  static std::unique_ptr<CandidateGatherer> Start(boost::asio::io_context& io,
                                                  Clock& clock,
                                                  absl::BitGenRef bitgen,
                                                  GatherOptions options,
                                                  Done done);
  ~CandidateGatherer();

 private:
  struct Impl;
  explicit CandidateGatherer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_CANDIDATE_GATHERER_H_
