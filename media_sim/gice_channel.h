// One GICE channel of one endpoint: Google's pre-standard ICE (PROTOCOL.md §4).
//
// The channel owns a UDP socket per local candidate it allocates (each
// allocation round is a new `generation` with fresh ufrags), pairs every local
// candidate with every remote candidate of the newest remote generation, and
// runs libjingle's connectivity checks: RFC 3489-framed Binding requests
// (16-byte transaction id, no cookie unless asked, no MESSAGE-INTEGRITY or
// FINGERPRINT) with USERNAME = remote ufrag ‖ local ufrag, answered with
// USERNAME echoed and MAPPED-ADDRESS; 430 for unknown remote ufrags, 400 for a
// USERNAME that does not start with ours. A connection becomes readable on a
// valid request (lost after 30 s without one) and writable on a response
// (write-timeout after 15 s without one). Pings are paced one per tick: 50 ms
// while the channel is unwritable, 480 ms once writable, the best connection at
// least every 900 ms. Media goes only over the best writable connection, and is
// accepted only from readable ones.
//
// Oversized, truncated or otherwise damaged STUN, attributes libjingle 0.4
// would choke on, media from addresses that never completed a check and floods
// are counted by kind in GiceStats and dropped, costing at most one reply per
// datagram. Each datagram is attributed first: what can be the remote side's
// (from an address it announced in a candidate or that passed one of its
// checks, or a Binding request whose USERNAME is our ufrag followed by one of
// its ufrags) counts in stats(); anything else (a stray STUN with a foreign
// username, a flood from an address nobody announced) in environment_stats(),
// which describes the network, not the other side.
//
// Used by the reference client and by the simulated peer. Single-threaded on
// the io_context that runs `clock`. Sockets come from a DatagramNetwork: real
// UDP by default, or an InMemoryNetwork for runs with no socket at all.
#ifndef TALKCHECK_MEDIA_SIM_GICE_CHANNEL_H_
#define TALKCHECK_MEDIA_SIM_GICE_CHANNEL_H_

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "base/local_ref.h"
#include "media_sim/candidate.h"
#include "media_sim/datagram_network.h"

namespace talkcheck::media_sim {

struct GiceOptions {
  std::string channel_name = "rtp";
  std::string bind_address = "127.0.0.1";  // every socket binds here, port 0
  // Where the sockets come from; not owned, must outlive the channel. Null:
  // real UDP sockets on the channel's io_context.
  DatagramNetwork* network = nullptr;
  absl::Duration unwritable_ping_interval = absl::Milliseconds(50);
  absl::Duration writable_ping_interval = absl::Milliseconds(480);
  absl::Duration best_ping_interval = absl::Milliseconds(900);
  absl::Duration read_timeout = absl::Seconds(30);
  absl::Duration write_timeout = absl::Seconds(15);
  // RFC 5389 magic cookie + 12-byte id (Google from mid-2011) instead of 16
  // bytes.
  bool use_magic_cookie = false;
  // media_to_stale_generation counts RTP on an older generation's socket only
  // once this long has passed since we first answered the same client address
  // on a newer generation's socket: time for our response to reach the client
  // (one lost response and the re-ping included) and for it to switch.
  absl::Duration stale_generation_grace = absl::Seconds(2);
  // Larger datagrams (STUN or RTP) are counted as `oversized_datagrams` and
  // dropped unread. 1500: nothing GICE or voice RTP sends comes near it.
  size_t max_datagram_bytes = 1500;
  // Datagrams beyond this many in one second of `clock` (all sources, all
  // ports) are counted as `flood_datagrams`; they are still handled, so a
  // flood does not cost the valid pings inside it. 0 turns the count off.
  uint64_t max_datagrams_per_second = 1000;

  // Judge every datagram as the remote side's, whatever its source (no
  // environment_stats): for tests that play the remote side from a socket
  // nobody announced, and for a user who wants every datagram judged.
  bool judge_every_datagram = false;

  // Misbehaviours for both-ways proofs (reference client --fault=...).
  bool fault_no_ping_responses = false;        // never answer Binding requests
  bool fault_username_without_remote = false;  // USERNAME = local ufrag only
  // SendPacket works while unwritable.
  bool fault_media_before_writable = false;
  // Keep sending on an old-generation pair.
  bool fault_media_to_stale_generation = false;
  // Never ping a write-timed-out connection again, even when the other side
  // pings it (libjingle checks it again once it is pinged).
  bool fault_abandon_timed_out_pairs = false;
  // Stop pinging once writable: no keep-alive, so the other side's
  // connection loses readability after its 30 s read timeout.
  bool fault_no_keepalive = false;
};

// What one side observed about the other side's checks. Except for the
// plain traffic counts (`datagrams_received`, `requests_*`, `responses_*`,
// `error_responses_sent`, `media_*` but `media_from_unreadable`), every counter
// is a named finding against the peer that the harness asserts is zero.
//
// Every datagram counts in `datagrams_received`, then in exactly one of:
// oversized_datagrams; truncated_stun, oversized_stun, stun_attribute_overrun
// or malformed_stun (unparseable); the libjingle 0.4 drops
// (unknown_stun_attributes and/or integrity_or_fingerprint); requests_received
// or responses_received (which may add a USERNAME, MAPPED-ADDRESS or
// ERROR-CODE finding, or integrity_or_fingerprint for a 20-byte
// MESSAGE-INTEGRITY); media_received or media_from_unreadable; or nothing, for
// STUN types a GICE channel ignores (Allocate, Send, ...). `flood_datagrams`
// cuts across them, and so do `media_before_writable` and
// `media_to_stale_generation` across the two media counts.
// Connectivity checks on one pair, both ways, as a failure report shows them:
// with none at all from the other side, "0 RTP" means it never tried.
struct PairChecks {
  uint64_t requests_received = 0;   // the other side's checks
  uint64_t responses_sent = 0;      // of those, answered with success
  uint64_t requests_sent = 0;       // our checks
  uint64_t responses_received = 0;  // its answers to them
};

struct GiceStats {
  // By pair: "REMOTE -> LOCAL" (the other side's address, our socket's).
  std::map<std::string, PairChecks> pairs;
  uint64_t requests_received = 0;
  uint64_t responses_received = 0;
  uint64_t requests_sent = 0;
  uint64_t responses_sent = 0;
  uint64_t error_responses_sent = 0;  // 400 / 430
  // Requests with our ufrag followed by a ufrag we have no candidate for,
  // answered 430 Stale Credentials. Not a finding: pings that beat the
  // candidates message are normal and the sender retries (PROTOCOL.md §4.2,
  // §8.13). Counted so a report can show the race.
  uint64_t stale_credentials_requests = 0;
  // USERNAME not "our ufrag ‖ known remote".
  uint64_t bad_username_requests = 0;
  uint64_t responses_without_mapped_address = 0;
  // Not echoing our request's USERNAME.
  uint64_t responses_with_wrong_username = 0;
  // Structural damage the kinds below do not name: an address attribute of
  // the wrong size or family, ERROR-CODE shorter than 4 bytes, an error
  // response without ERROR-CODE.
  uint64_t malformed_stun = 0;
  uint64_t media_from_unreadable = 0;  // RTP from an address that never pinged
  // RTP from address R on our socket L when we never sent a success response
  // to a Binding request from R on L: the sender's pair cannot be writable
  // (PROTOCOL.md §4.3, "Media is sent only after the channel is writable").
  // Counted whether or not the address is readable.
  uint64_t media_before_writable = 0;
  // RTP from R on a socket of our generation g when, at least
  // GiceOptions::stale_generation_grace before, we had answered with success
  // a Binding request from the same R on a socket of a generation newer than
  // g: the sender has a checked pair to a newer round and still uses the older
  // (PROTOCOL.md §3.3; docs/protocol-notes.md, "GICE media findings").
  uint64_t media_to_stale_generation = 0;
  uint64_t media_received = 0;
  uint64_t media_sent = 0;

  // Every datagram read from any of the channel's sockets (not a finding).
  uint64_t datagrams_received = 0;
  // Larger than GiceOptions::max_datagram_bytes; dropped before parsing.
  uint64_t oversized_datagrams = 0;
  // STUN (two top bits clear) shorter than the 20-byte header, or whose length
  // field promises more than the datagram holds.
  uint64_t truncated_stun = 0;
  // STUN whose length field promises less than the datagram holds.
  uint64_t oversized_stun = 0;
  // STUN with an attribute header, value or padding running past the end.
  uint64_t stun_attribute_overrun = 0;
  // Messages with an attribute type libjingle 0.4 does not know (PRIORITY,
  // XOR-MAPPED-ADDRESS, SOFTWARE, RETRANSMIT-COUNT, ...; FINGERPRINT is counted
  // below instead). Dropped unanswered, as LJ04's strict parser does.
  uint64_t unknown_stun_attributes = 0;
  // Messages with MESSAGE-INTEGRITY or FINGERPRINT, which GICE never sends.
  // FINGERPRINT, or MESSAGE-INTEGRITY of other than 20 bytes, drops the
  // message (LJ04 cannot parse it); a 20-byte MESSAGE-INTEGRITY is ignored and
  // the message handled, as LJ04 does.
  uint64_t integrity_or_fingerprint = 0;
  // Datagrams beyond GiceOptions::max_datagrams_per_second.
  uint64_t flood_datagrams = 0;
};

// One local port gathered outside the channel (see CandidateGatherer): its
// socket and the candidates announced for it. The first candidate is the
// port's own: its ufrag answers the checks and its preference ranks the port's
// pairs. Further candidates share the socket and the ufrag, as a `stun`
// candidate shares its host socket. The channel sets name, protocol, network
// and generation; an empty username gets a fresh ufrag and password (a relay
// candidate brings the relay's, PROTOCOL.md §5.2).
struct PreparedPort {
  std::unique_ptr<DatagramSocket> socket;
  std::vector<Candidate> candidates;  // address, port, type, preference
};

class GiceChannel {
 public:
  using PacketHandler = std::function<void(
      absl::string_view packet, const boost::asio::ip::udp::endpoint& from)>;

  // Does not own `io`, `clock` or `bitgen`; all must outlive the channel.
  GiceChannel(boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
              GiceOptions options);
  ~GiceChannel();

  // Starts a new allocation round: one socket on bind_address with a fresh
  // 16-character ufrag and password, generation = number of rounds so far.
  absl::StatusOr<Candidate> AllocateGeneration();
  // The same from ports gathered elsewhere (stun and relay candidates): one
  // round, whose candidates it returns. kInvalidArgument for a port without
  // a socket or a candidate.
  absl::StatusOr<std::vector<Candidate>> AddGeneration(
      std::vector<PreparedPort> ports);
  int generation() const;  // of the newest local round; -1 before the first

  // Remembers a remote candidate (matching channel name only; others are
  // ignored and return false). A newer generation discards older remote
  // candidates for new pairings (PROTOCOL.md §3.3). Duplicates (IsEquivalent)
  // are ignored.
  bool AddRemoteCandidate(const Candidate& candidate);

  // Starts pinging (idempotent). Checks begin only once there is a remote
  // candidate.
  void Start();
  void Stop();

  bool writable() const;
  bool readable() const;
  // The best writable connection's remote address, if any.
  const boost::asio::ip::udp::endpoint* best_remote() const;
  // The best writable connection's local and remote candidates (the pair media
  // goes over), if any.
  struct CandidatePair {
    Candidate local;
    Candidate remote;
  };
  std::optional<CandidatePair> best_pair() const;

  // Sends a non-STUN packet (RTP/RTCP) on the best writable connection. Returns
  // false (and sends nothing) when the channel is not writable.
  bool SendPacket(absl::string_view packet);

  void set_packet_handler(PacketHandler handler) {
    on_packet_ =
        handler ? LocalRef<PacketHandler>::Make(std::move(handler)) : nullptr;
  }
  void set_writable_handler(std::function<void(bool)> handler) {
    on_writable_ = std::move(handler);
  }
  // Asked before each Binding request is handled: false drops it unanswered
  // and uncounted toward readability, as fault_no_ping_responses does. Lets a
  // scenario switch the simulated peer's answers off and on mid-call. Must not
  // destroy the channel. Default: always answer.
  void set_answer_pings(std::function<bool()> answer) {
    answer_pings_ = std::move(answer);
  }

  // Findings against the remote side: what it sent (see the class comment).
  const GiceStats& stats() const { return stats_; }
  // The same counters for datagrams that cannot be the remote side's.
  const GiceStats& environment_stats() const { return environment_stats_; }
  const std::vector<Candidate>& local_candidates() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  // Shared, so that a packet can hold it while the handler destroys the
  // channel, without copying the function (and its captures) per packet.
  LocalRef<PacketHandler> on_packet_;
  std::function<void(bool)> on_writable_;
  std::function<bool()> answer_pings_;
  GiceStats stats_;
  GiceStats environment_stats_;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_GICE_CHANNEL_H_
