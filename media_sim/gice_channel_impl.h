// GiceChannel's implementation, shared by gice_channel.cc (candidates, the
// datagrams the channel receives and answers) and gice_channel_checks.cc (its
// own connectivity checks, writability and the best pair). Internal to
// media_sim: include gice_channel.h instead.
#ifndef TALKCHECK_MEDIA_SIM_GICE_CHANNEL_IMPL_H_
#define TALKCHECK_MEDIA_SIM_GICE_CHANNEL_IMPL_H_

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "media_sim/gice_channel.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace gice_internal {

// libjingle 0.4 constants (PROTOCOL.md §4.3; LJ04 port.cc). Each ping is sent
// once and waits kResponseTimeout for its response.
inline constexpr absl::Duration kResponseTimeout = absl::Seconds(5);
inline constexpr int kWriteConnectFailures = 5;
inline constexpr absl::Duration kWriteConnectTimeout = absl::Seconds(5);
inline constexpr absl::Duration kMinimumRtt = absl::Milliseconds(100);
inline constexpr absl::Duration kMaximumRtt = absl::Seconds(3);
inline constexpr int kRttRatio = 3;  // rtt = (3 * rtt + sample) / 4
inline constexpr size_t kUfragLength = 16;
inline constexpr size_t kMessageIntegritySize = 20;
inline constexpr absl::Duration kFloodWindow = absl::Seconds(1);
// LJ04's reason phrases; the codec pads them with spaces to a multiple of 4.
inline constexpr char kReasonBadRequest[] = "BAD REQUEST";
inline constexpr char kReasonStaleCredentials[] = "STALE CREDENTIALS";

// Ordered best first, as libjingle compares them.
enum class WriteState { kWritable, kConnecting, kTimedOut };

inline bool IsRetryableError(int code) {
  return code == kStunErrorUnauthorized || code == kStunErrorUnknownAttribute ||
         code == kStunErrorStaleCredentials || code == kStunErrorServerError;
}

}  // namespace gice_internal

struct GiceChannel::Impl {
  // One local candidate and its socket.
  struct Port {
    Candidate candidate;
    bool is_v4 = true;
    std::unique_ptr<DatagramSocket> socket;
  };

  // One local port paired with one remote candidate (libjingle's Connection).
  struct Connection {
    size_t port = 0;
    Candidate remote;
    boost::asio::ip::udp::endpoint remote_endpoint;
    gice_internal::WriteState write_state =
        gice_internal::WriteState::kConnecting;
    bool ever_writable = false;
    bool failed = false;  // a non-retryable error response: never pinged again
    // Readable (libjingle: a valid check within the read timeout) until
    // then; a deadline rather than the check's time, so that each datagram
    // compares instead of subtracting.
    absl::Duration readable_until = -absl::InfiniteDuration();
    absl::Duration last_ping_sent = -absl::InfiniteDuration();
    // Pings since the last response: how many, the first and the fifth.
    int unanswered = 0;
    absl::Duration first_unanswered;
    absl::Duration fifth_unanswered;
    absl::Duration rtt = gice_internal::kMaximumRtt;
  };

  // An outstanding Binding request, by transaction id.
  struct Ping {
    Connection* connection;
    std::string username;
    absl::Duration sent_at;
  };

  // The checks of the pair (our `port`, `remote`) in `stats` (the owner's
  // stats_ or environment_stats_), keyed by the pair's text. The text is made
  // once per pair, and the entry found once per pair and stats (std::map
  // entries stay put): formatting the remote address for every datagram was
  // 8 % of a fuzz schedule's instructions, finding the entry by text 1 %.
  PairChecks& PairOf(GiceStats& stats, size_t port,
                     const boost::asio::ip::udp::endpoint& remote) {
    auto [it, inserted] = pairs.try_emplace(PairKey{port, remote});
    Pair& pair = it->second;
    if (inserted) {
      const Candidate& local = ports[port]->candidate;
      const bool v6 = absl::StrContains(local.address, ':');
      pair.name = absl::StrCat(EndpointText(remote), " -> ", v6 ? "[" : "",
                               local.address, v6 ? "]" : "", ":", local.port);
    }
    PairChecks*& checks = pair.checks[&stats == &owner.stats_ ? 0 : 1];
    if (checks == nullptr) checks = &stats.pairs[pair.name];
    return *checks;
  }
  struct PairKey {
    size_t port;
    boost::asio::ip::udp::endpoint remote;

    bool operator==(const PairKey& other) const {
      return port == other.port && SameEndpoint(remote, other.remote);
    }
    template <typename H>
    friend H AbslHashValue(H h, const PairKey& key) {
      return H::combine(std::move(h), key.port, UdpEndpointHash()(key.remote));
    }
  };
  struct Pair {
    std::string name;
    PairChecks* checks[2] = {nullptr,
                             nullptr};  // in stats_, environment_stats_
  };
  absl::flat_hash_map<PairKey, Pair> pairs;
  static std::string EndpointText(const boost::asio::ip::udp::endpoint& e) {
    const std::string address = e.address().to_string();
    return e.address().is_v6() ? absl::StrCat("[", address, "]:", e.port())
                               : absl::StrCat(address, ":", e.port());
  }

  Impl(GiceChannel& owner, boost::asio::io_context& io, Clock& clock,
       absl::BitGenRef bitgen, GiceOptions options)
      : owner(owner),
        clock(clock),
        bitgen(bitgen),
        options(std::move(options)),
        network_source(this->options.network, io),
        network(network_source.get()) {}

  ~Impl() {
    *alive = false;
    ping_timer.reset();
    ports.clear();  // closes the sockets
  }

  absl::StatusOr<Candidate> AllocateGeneration();
  absl::StatusOr<std::vector<Candidate>> AddGeneration(
      std::vector<PreparedPort> prepared);
  bool AddRemoteCandidate(const Candidate& candidate);
  Connection* CreateConnection(size_t port, const Candidate& remote,
                               const boost::asio::ip::udp::endpoint& endpoint);

  void OnDatagram(size_t port, absl::string_view data,
                  const boost::asio::ip::udp::endpoint& from);
  // Whether the datagram can be the other side's (see GiceChannel's
  // environment_stats): it comes from an address the other side announced or
  // that completed a check, or it is a Binding request whose USERNAME is
  // our ufrag followed by one of the other side's.
  bool FromRemoteSide(size_t port, absl::string_view data,
                      const boost::asio::ip::udp::endpoint& from) const;
  void CountRate(bool remote_side);
  void CountParseError(StunParseError error);
  // Counts GICE's forbidden attributes; false when libjingle 0.4 would not
  // have parsed the message, which is then dropped.
  bool AcceptAttributes(const StunMessage& message);
  void OnRequest(size_t port, const StunMessage& request,
                 const boost::asio::ip::udp::endpoint& from);
  void OnResponse(size_t port, const StunMessage& response,
                  const boost::asio::ip::udp::endpoint& from);
  void OnMedia(size_t port, absl::string_view data,
               const boost::asio::ip::udp::endpoint& from);
  void CountMediaFindings(size_t port,
                          const boost::asio::ip::udp::endpoint& from,
                          absl::Duration now);
  void SendSuccess(size_t port, const StunMessage& request,
                   const boost::asio::ip::udp::endpoint& to);
  void SendError(size_t port, const StunMessage& request,
                 const boost::asio::ip::udp::endpoint& to, int code,
                 const char* reason);
  // False when the datagram is known lost (DatagramSocket::SendTo).
  bool Send(size_t port, absl::string_view data,
            const boost::asio::ip::udp::endpoint& to);

  void MaybeSchedulePing();
  void OnPingTick();
  void UpdateConnectionStates(absl::Duration now);
  Connection* FindNextPingable(absl::Duration now);
  bool IsPingable(const Connection& connection, absl::Duration now) const;
  void SendPing(Connection& connection, absl::Duration now);
  bool Better(const Connection& a, const Connection& b) const;
  // Recomputes the best writable connection and reports a change of
  // writability. Returns false when the handler destroyed the channel.
  bool UpdateBest();
  Connection* MediaConnection();

  bool IsReadable(const Connection& connection, absl::Duration now) const {
    return now < connection.readable_until;
  }

  GiceChannel& owner;
  Clock& clock;
  absl::BitGenRef bitgen;
  const GiceOptions options;
  // Set when options.network is null; declared before `ports`, whose sockets
  // it made.
  const NetworkOrUdp network_source;
  DatagramNetwork& network;
  // Cleared on destruction; every asynchronous handler checks it first.
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  std::vector<std::unique_ptr<Port>> ports;  // in allocation order
  int generations = 0;                       // local rounds so far
  std::vector<Candidate> local_candidates;
  // Of the newest remote generation only.
  std::vector<Candidate> remote_candidates;
  int remote_generation = -1;
  std::vector<std::unique_ptr<Connection>> connections;
  std::map<std::string, Ping> pings;
  // The pings' transaction ids in the order sent (and so of their timeouts):
  // expiring them costs a look at the oldest, not a walk over all of them.
  std::deque<std::pair<absl::Duration, std::string>> pings_by_age;
  // By remote address, the ports that sent it a success response (one that
  // left: not dropped by a simulated network), with the time of the first:
  // the pairs the remote side may consider writable.
  absl::flat_hash_map<boost::asio::ip::udp::endpoint,
                      std::map<size_t, absl::Duration>, UdpEndpointHash,
                      UdpEndpointEq>
      answered;
  // CountMediaFindings' verdict on the last (port, sender) it judged, reset
  // whenever `answered` changes: media comes from one sender for seconds,
  // and the lookup per packet was a hash, a map search and a walk.
  struct MediaFindingsMemo {
    size_t port = 0;
    boost::asio::ip::udp::endpoint from;
    bool before_writable = false;
    // From then on, media to `port` is to a stale generation.
    absl::Duration stale_from = absl::InfiniteDuration();
  };
  std::optional<MediaFindingsMemo> media_findings_memo;

  bool started = false;
  std::unique_ptr<Timer> ping_timer;
  Connection* best = nullptr;  // the best writable connection
  bool was_writable = false;
  // The current flood-count window per attribution (0: the remote side, 1:
  // the environment): its end and the datagrams in it.
  absl::Duration rate_window_end[2] = {-absl::InfiniteDuration(),
                                       -absl::InfiniteDuration()};
  uint64_t rate_window_count[2] = {0, 0};
  // What can be the remote side's: every address it announced (any generation)
  // or that passed a check, and every ufrag it announced.
  absl::flat_hash_set<boost::asio::ip::udp::endpoint, UdpEndpointHash,
                      UdpEndpointEq>
      remote_sources;
  // The last sender found in remote_sources, which only grows: a channel's
  // datagrams come from one or two senders, so most need no hash lookup.
  mutable std::optional<boost::asio::ip::udp::endpoint> last_remote_source;
  std::set<std::string> remote_ufrags;
  // Where the findings of the datagram being handled go: owner.stats_ or
  // owner.environment_stats_.
  GiceStats* judged = nullptr;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_GICE_CHANNEL_IMPL_H_
