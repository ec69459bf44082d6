#include "media_sim/gice_channel.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

// libjingle 0.4 constants (PROTOCOL.md §4.3; LJ04 port.cc). Each ping is sent
// once and waits kResponseTimeout for its response.
constexpr absl::Duration kResponseTimeout = absl::Seconds(5);
constexpr int kWriteConnectFailures = 5;
constexpr absl::Duration kWriteConnectTimeout = absl::Seconds(5);
constexpr absl::Duration kMinimumRtt = absl::Milliseconds(100);
constexpr absl::Duration kMaximumRtt = absl::Seconds(3);
constexpr int kRttRatio = 3;  // rtt = (3 * rtt + sample) / 4
constexpr size_t kUfragLength = 16;
constexpr size_t kMessageIntegritySize = 20;
constexpr absl::Duration kFloodWindow = absl::Seconds(1);
// LJ04's reason phrases; the codec pads them with spaces to a multiple of 4.
constexpr char kReasonBadRequest[] = "BAD REQUEST";
constexpr char kReasonStaleCredentials[] = "STALE CREDENTIALS";

// Ordered best first, as libjingle compares them.
enum class WriteState { kWritable, kConnecting, kTimedOut };

bool IsRetryableError(int code) {
  return code == kStunErrorUnauthorized || code == kStunErrorUnknownAttribute ||
         code == kStunErrorStaleCredentials || code == kStunErrorServerError;
}

}  // namespace

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
    udp::endpoint remote_endpoint;
    WriteState write_state = WriteState::kConnecting;
    bool ever_writable = false;
    bool failed = false;  // a non-retryable error response: never pinged again
    std::optional<absl::Duration> last_request_received;
    absl::Duration last_ping_sent = -absl::InfiniteDuration();
    // Pings since the last response: how many, the first and the fifth.
    int unanswered = 0;
    absl::Duration first_unanswered;
    absl::Duration fifth_unanswered;
    absl::Duration rtt = kMaximumRtt;
  };

  // An outstanding Binding request, by transaction id.
  struct Ping {
    Connection* connection;
    std::string username;
    absl::Duration sent_at;
  };

  Impl(GiceChannel& owner, asio::io_context& io, Clock& clock,
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
                               const udp::endpoint& endpoint);

  void OnDatagram(size_t port, absl::string_view data,
                  const udp::endpoint& from);
  void CountRate();
  void CountParseError(StunParseError error);
  // Counts GICE's forbidden attributes; false when libjingle 0.4 would not
  // have parsed the message, which is then dropped.
  bool AcceptAttributes(const StunMessage& message);
  void OnRequest(size_t port, const StunMessage& request,
                 const udp::endpoint& from);
  void OnResponse(size_t port, const StunMessage& response,
                  const udp::endpoint& from);
  void OnMedia(size_t port, absl::string_view data, const udp::endpoint& from);
  void CountMediaFindings(size_t port, const udp::endpoint& from,
                          absl::Duration now);
  void SendSuccess(size_t port, const StunMessage& request,
                   const udp::endpoint& to);
  void SendError(size_t port, const StunMessage& request,
                 const udp::endpoint& to, int code, const char* reason);
  bool Send(size_t port, absl::string_view data, const udp::endpoint& to);

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
    return connection.last_request_received.has_value() &&
           now - *connection.last_request_received < options.read_timeout;
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
  // By remote address, the ports that sent it a success response, with the
  // time of the first: the pairs the remote side may consider writable.
  std::map<udp::endpoint, std::map<size_t, absl::Duration>> answered;

  bool started = false;
  std::unique_ptr<Timer> ping_timer;
  Connection* best = nullptr;  // the best writable connection
  bool was_writable = false;
  // The current flood-count window: its start and the datagrams in it.
  absl::Duration rate_window_start = -absl::InfiniteDuration();
  uint64_t rate_window_count = 0;
};

absl::StatusOr<Candidate> GiceChannel::Impl::AllocateGeneration() {
  boost::system::error_code ec;
  asio::ip::make_address(options.bind_address, ec);
  if (ec) {
    return absl::InvalidArgumentError(absl::StrCat(
        "bind_address \"", options.bind_address, "\": ", ec.message()));
  }
  absl::StatusOr<std::unique_ptr<DatagramSocket>> socket =
      network.Bind(options.bind_address);
  if (!socket.ok()) return socket.status();
  PreparedPort port;
  port.socket = *std::move(socket);
  const udp::endpoint local = port.socket->local_endpoint();
  Candidate candidate;
  candidate.address = local.address().to_string();
  candidate.port = local.port();
  port.candidates.push_back(std::move(candidate));
  std::vector<PreparedPort> ports;
  ports.push_back(std::move(port));
  absl::StatusOr<std::vector<Candidate>> added =
      AddGeneration(std::move(ports));
  if (!added.ok()) return added.status();
  return added->front();
}

absl::StatusOr<std::vector<Candidate>> GiceChannel::Impl::AddGeneration(
    std::vector<PreparedPort> prepared) {
  for (const PreparedPort& port : prepared) {
    if (port.socket == nullptr || port.candidates.empty()) {
      return absl::InvalidArgumentError(
          "a prepared port without a socket or "
          "a candidate");
    }
  }
  const int generation = generations++;
  std::vector<Candidate> added;
  for (PreparedPort& prepared_port : prepared) {
    auto port = std::make_unique<Port>();
    port->socket = std::move(prepared_port.socket);
    port->is_v4 = port->socket->local_endpoint().address().is_v4();
    // The first candidate's ufrag answers for all of the port's candidates.
    std::string ufrag = prepared_port.candidates.front().username;
    std::string password = prepared_port.candidates.front().password;
    if (ufrag.empty()) {
      ufrag = RandomBase64(bitgen, kUfragLength);
      password = RandomBase64(bitgen, kUfragLength);
    }
    for (Candidate& candidate : prepared_port.candidates) {
      candidate.name = options.channel_name;
      candidate.username = ufrag;
      candidate.password = password;
      candidate.protocol = "udp";
      candidate.network = "0";
      candidate.generation = generation;
      local_candidates.push_back(candidate);
      added.push_back(candidate);
    }
    port->candidate = prepared_port.candidates.front();

    const size_t index = ports.size();
    ports.push_back(std::move(port));
    ports[index]->socket->SetReceiveHandler(
        [this, index, alive = alive](absl::string_view data,
                                     const udp::endpoint& from) {
          if (*alive) OnDatagram(index, data, from);
        });
    for (const Candidate& remote : remote_candidates) {
      boost::system::error_code parse_ec;
      const udp::endpoint endpoint(
          asio::ip::make_address(remote.address, parse_ec), remote.port);
      if (!parse_ec) CreateConnection(index, remote, endpoint);
    }
  }
  MaybeSchedulePing();
  return added;
}

// Returns false for every candidate it ignores: another channel, not UDP, an
// address that does not parse or is zero, a generation older than the newest
// seen (PROTOCOL.md §3.3), or a duplicate.
bool GiceChannel::Impl::AddRemoteCandidate(const Candidate& candidate) {
  if (candidate.name != options.channel_name || candidate.protocol != "udp") {
    return false;
  }
  boost::system::error_code ec;
  const asio::ip::address address =
      asio::ip::make_address(candidate.address, ec);
  if (ec || address.is_unspecified() || candidate.port == 0) return false;
  if (candidate.generation < remote_generation) return false;
  if (candidate.generation > remote_generation) {
    // Older candidates stay only inside the connections already made with them.
    remote_candidates.clear();
    remote_generation = candidate.generation;
  }
  for (const Candidate& known : remote_candidates) {
    if (known.IsEquivalent(candidate)) return false;
  }
  remote_candidates.push_back(candidate);
  const udp::endpoint endpoint(address, candidate.port);
  for (size_t port = 0; port < ports.size(); ++port) {
    CreateConnection(port, candidate, endpoint);
  }
  MaybeSchedulePing();
  return true;
}

GiceChannel::Impl::Connection* GiceChannel::Impl::CreateConnection(
    size_t port, const Candidate& remote, const udp::endpoint& endpoint) {
  if (ports[port]->is_v4 != endpoint.address().is_v4()) return nullptr;
  for (const std::unique_ptr<Connection>& existing : connections) {
    if (existing->port == port && existing->remote_endpoint == endpoint &&
        existing->remote.username == remote.username) {
      return existing.get();
    }
  }
  auto connection = std::make_unique<Connection>();
  connection->port = port;
  connection->remote = remote;
  connection->remote_endpoint = endpoint;
  connections.push_back(std::move(connection));
  return connections.back().get();
}

// Whatever the client sends lands here: every kind of damage is counted under
// its own name and dropped, and nothing a datagram holds can make the channel
// do more than answer it once.
void GiceChannel::Impl::OnDatagram(size_t port, absl::string_view data,
                                   const udp::endpoint& from) {
  GiceStats& stats = owner.stats_;
  ++stats.datagrams_received;
  CountRate();
  if (data.size() > options.max_datagram_bytes) {
    ++stats.oversized_datagrams;
    return;
  }
  // STUN and RTP share the 5-tuple: STUN types have the two top bits clear, RTP
  // and RTCP have version 2 there (the LJ05+ check; LJ04 only tried to parse).
  if (data.empty() || (static_cast<uint8_t>(data[0]) & 0xC0) != 0) {
    OnMedia(port, data, from);
    return;
  }
  StunParseError error = StunParseError::kNone;
  absl::StatusOr<StunMessage> message = ParseStunMessage(data, &error);
  if (!message.ok()) {
    CountParseError(error);
    return;
  }
  if (!AcceptAttributes(*message)) return;
  switch (message->type) {
    case kStunBindingRequest:
      OnRequest(port, *message, from);
      break;
    case kStunBindingResponse:
    case kStunBindingErrorResponse:
      OnResponse(port, *message, from);
      break;
    default:
      break;  // Allocate, Send, ...: not for a GICE channel
  }
}

// Fixed windows of kFloodWindow on the channel's clock.
void GiceChannel::Impl::CountRate() {
  if (options.max_datagrams_per_second == 0) return;
  const absl::Duration now = clock.Now();
  if (now - rate_window_start >= kFloodWindow) {
    rate_window_start = now;
    rate_window_count = 0;
  }
  if (++rate_window_count > options.max_datagrams_per_second) {
    ++owner.stats_.flood_datagrams;
  }
}

void GiceChannel::Impl::CountParseError(StunParseError error) {
  GiceStats& stats = owner.stats_;
  switch (error) {
    case StunParseError::kTruncated:
      ++stats.truncated_stun;
      return;
    case StunParseError::kTrailingBytes:
      ++stats.oversized_stun;
      return;
    case StunParseError::kAttributeOverrun:
      ++stats.stun_attribute_overrun;
      return;
    case StunParseError::kNone:
    case StunParseError::kBadAttributeValue:
      break;
  }
  ++stats.malformed_stun;
}

// libjingle 0.4 parses strictly (PROTOCOL.md §4.1): an attribute type outside
// its table fails the whole message, and MESSAGE-INTEGRITY must be 20 bytes.
// The codec is liberal and keeps such attributes, so the strictness is here.
bool GiceChannel::Impl::AcceptAttributes(const StunMessage& message) {
  bool integrity_or_fingerprint = false;
  bool unknown = message.xor_mapped_address.has_value() ||
                 message.retransmit_count.has_value();
  bool drop = unknown;
  for (const StunAttribute& attribute : message.unknown_attributes) {
    if (attribute.type == kStunAttrMessageIntegrity) {
      integrity_or_fingerprint = true;
      drop |= attribute.value.size() != kMessageIntegritySize;
    } else if (attribute.type == kStunAttrFingerprint) {
      integrity_or_fingerprint = true;
      drop = true;
    } else if (!IsLibjingle04Attribute(attribute.type)) {
      unknown = true;
      drop = true;
    }
  }
  GiceStats& stats = owner.stats_;
  if (integrity_or_fingerprint) ++stats.integrity_or_fingerprint;
  if (unknown) ++stats.unknown_stun_attributes;
  return !drop;
}

void GiceChannel::Impl::OnRequest(size_t port, const StunMessage& request,
                                  const udp::endpoint& from) {
  GiceStats& stats = owner.stats_;
  ++stats.requests_received;
  if (options.fault_no_ping_responses) return;
  if (owner.answer_pings_ && !owner.answer_pings_()) return;

  const std::string& ufrag = ports[port]->candidate.username;
  if (!request.username || !absl::StartsWith(*request.username, ufrag)) {
    ++stats.bad_username_requests;
    SendError(port, request, from, kStunErrorBadRequest, kReasonBadRequest);
    return;
  }
  const absl::string_view remote_ufrag =
      absl::string_view(*request.username).substr(ufrag.size());

  Connection* matched = nullptr;
  bool address_known = false;
  for (const std::unique_ptr<Connection>& connection : connections) {
    if (connection->port != port || connection->remote_endpoint != from) {
      continue;
    }
    address_known = true;
    if (connection->remote.username == remote_ufrag) matched = connection.get();
  }
  if (matched == nullptr && address_known) {
    // A known connection whose peer uses another ufrag: 400, as libjingle does.
    ++stats.bad_username_requests;
    SendError(port, request, from, kStunErrorBadRequest, kReasonBadRequest);
    return;
  }
  if (matched == nullptr) {
    const auto known =
        std::find_if(remote_candidates.begin(), remote_candidates.end(),
                     [&](const Candidate& candidate) {
                       return candidate.username == remote_ufrag;
                     });
    if (known == remote_candidates.end()) {
      // Normal when pings beat the candidates message; the peer retries (§4.2).
      ++stats.bad_username_requests;
      SendError(port, request, from, kStunErrorStaleCredentials,
                kReasonStaleCredentials);
      return;
    }
    // Peer-reflexive: the known candidate's credentials at the source address.
    Candidate reflexive = *known;
    reflexive.address = from.address().to_string();
    reflexive.port = from.port();
    // Never null: `from` reached this socket, so the families match.
    matched = CreateConnection(port, reflexive, from);
    if (matched == nullptr) return;
    MaybeSchedulePing();
  }
  matched->last_request_received = clock.Now();
  if (matched->write_state == WriteState::kTimedOut && !matched->failed) {
    matched->write_state = WriteState::kConnecting;  // start checking again
  }
  SendSuccess(port, request, from);
}

void GiceChannel::Impl::OnResponse(size_t port, const StunMessage& response,
                                   const udp::endpoint& from) {
  GiceStats& stats = owner.stats_;
  ++stats.responses_received;
  const auto it = pings.find(response.transaction_id);
  if (it == pings.end()) return;  // unknown or timed-out transaction
  Ping& ping = it->second;
  Connection& connection = *ping.connection;
  if (connection.port != port || connection.remote_endpoint != from) return;
  const absl::Duration now = clock.Now();
  if (now - ping.sent_at > kResponseTimeout) {
    pings.erase(it);
    return;
  }
  const std::string& ufrag = ports[port]->candidate.username;
  if (!response.username || !absl::EndsWith(*response.username, ufrag) ||
      *response.username != ping.username) {
    // Dropped before matching, as libjingle does: the ping stays outstanding.
    ++stats.responses_with_wrong_username;
    return;
  }
  if (response.type == kStunBindingErrorResponse && !response.error_code) {
    // libjingle drops an error response without ERROR-CODE as corrupt.
    ++stats.malformed_stun;
    return;
  }
  const absl::Duration rtt = now - ping.sent_at;
  pings.erase(it);

  if (response.type == kStunBindingResponse) {
    if (!response.mapped_address) {
      ++stats.responses_without_mapped_address;
      return;
    }
    connection.write_state = WriteState::kWritable;
    connection.ever_writable = true;
    connection.unanswered = 0;
    connection.rtt = (kRttRatio * connection.rtt + rtt) / (kRttRatio + 1);
  } else if (!IsRetryableError(response.error_code->GiceCode())) {
    connection.write_state = WriteState::kTimedOut;
    connection.failed = true;
  }
  UpdateBest();  // a destroyed channel is not touched after this
}

void GiceChannel::Impl::OnMedia(size_t port, absl::string_view data,
                                const udp::endpoint& from) {
  const absl::Duration now = clock.Now();
  CountMediaFindings(port, from, now);
  bool readable = false;
  for (const std::unique_ptr<Connection>& connection : connections) {
    if (connection->port != port || connection->remote_endpoint != from ||
        !IsReadable(*connection, now)) {
      continue;
    }
    readable = true;
    if (connection->write_state == WriteState::kTimedOut &&
        !connection->failed) {
      connection->write_state = WriteState::kConnecting;
    }
  }
  if (!readable) {
    ++owner.stats_.media_from_unreadable;
    return;
  }
  ++owner.stats_.media_received;
  // A copy, so that a handler destroying the channel does not destroy itself.
  if (PacketHandler handler = owner.on_packet_) handler(data, from);
}

// The sender can only be writable on a pair we answered (§4.3), and should
// have left an older generation of ours once a newer one answered it (§3.3).
void GiceChannel::Impl::CountMediaFindings(size_t port,
                                           const udp::endpoint& from,
                                           absl::Duration now) {
  GiceStats& stats = owner.stats_;
  const auto it = answered.find(from);
  if (it == answered.end() || it->second.count(port) == 0) {
    ++stats.media_before_writable;
  }
  if (it == answered.end()) return;
  const int generation = ports[port]->candidate.generation;
  for (const auto& [answering_port, first] : it->second) {
    if (ports[answering_port]->candidate.generation > generation &&
        now - first >= options.stale_generation_grace) {
      ++stats.media_to_stale_generation;
      return;  // once per datagram
    }
  }
}

void GiceChannel::Impl::SendSuccess(size_t port, const StunMessage& request,
                                    const udp::endpoint& to) {
  StunMessage response;
  response.type = kStunBindingResponse;
  response.transaction_id = request.transaction_id;
  response.username = request.username;  // verbatim
  response.mapped_address = to;
  if (Send(port, response.Serialize(), to)) {
    ++owner.stats_.responses_sent;
    answered[to].emplace(port, clock.Now());  // keeps the first
  }
}

void GiceChannel::Impl::SendError(size_t port, const StunMessage& request,
                                  const udp::endpoint& to, int code,
                                  const char* reason) {
  StunMessage response;
  response.type = kStunBindingErrorResponse;
  response.transaction_id = request.transaction_id;
  response.username = request.username;
  response.error_code = StunErrorCode::FromGiceCode(code, reason);
  if (Send(port, response.Serialize(), to)) ++owner.stats_.error_responses_sent;
}

bool GiceChannel::Impl::Send(size_t port, absl::string_view data,
                             const udp::endpoint& to) {
  ports[port]->socket->SendTo(data, to);
  return true;
}

void GiceChannel::Impl::MaybeSchedulePing() {
  if (!started || ping_timer != nullptr || connections.empty()) return;
  ping_timer = clock.CallAfter(absl::ZeroDuration(), [this] { OnPingTick(); });
}

void GiceChannel::Impl::OnPingTick() {
  ping_timer.reset();  // it has fired
  const absl::Duration now = clock.Now();
  UpdateConnectionStates(now);
  // The writable handler may have destroyed or stopped the channel.
  if (!UpdateBest() || !started) return;
  if (Connection* connection = FindNextPingable(now)) {
    SendPing(*connection, now);
  }
  if (started && ping_timer == nullptr) {
    const absl::Duration delay = best != nullptr
                                     ? options.writable_ping_interval
                                     : options.unwritable_ping_interval;
    ping_timer = clock.CallAfter(delay, [this] { OnPingTick(); });
  }
}

// libjingle's Connection::UpdateState for writability; readability is computed
// on demand from the time of the last valid request.
void GiceChannel::Impl::UpdateConnectionStates(absl::Duration now) {
  for (auto it = pings.begin(); it != pings.end();) {
    it = now - it->second.sent_at > kResponseTimeout ? pings.erase(it)
                                                     : std::next(it);
  }
  for (const std::unique_ptr<Connection>& connection : connections) {
    Connection& c = *connection;
    if (c.unanswered == 0) continue;
    const absl::Duration rtt_estimate =
        std::max(kMinimumRtt, std::min(kMaximumRtt, 2 * c.rtt));
    if (c.write_state == WriteState::kWritable &&
        c.unanswered >= kWriteConnectFailures &&
        now > c.fifth_unanswered + rtt_estimate &&
        now > c.first_unanswered + kWriteConnectTimeout) {
      c.write_state = WriteState::kConnecting;
    }
    if (c.write_state == WriteState::kConnecting &&
        now > c.first_unanswered + options.write_timeout) {
      c.write_state = WriteState::kTimedOut;
    }
  }
}

GiceChannel::Impl::Connection* GiceChannel::Impl::FindNextPingable(
    absl::Duration now) {
  if (best != nullptr &&
      best->last_ping_sent + options.best_ping_interval <= now) {
    return best;
  }
  Connection* oldest = nullptr;
  for (const std::unique_ptr<Connection>& connection : connections) {
    if (!IsPingable(*connection, now)) continue;
    if (oldest == nullptr ||
        connection->last_ping_sent < oldest->last_ping_sent) {
      oldest = connection.get();
    }
  }
  return oldest;
}

// libjingle's P2PTransportChannel::IsPingable, without its pruning of pairs
// that are no better than a writable best one: every pair stays checked, so a
// new generation can take over (libjingle 0.4 would prune it while the old pair
// works).
bool GiceChannel::Impl::IsPingable(const Connection& connection,
                                   absl::Duration now) const {
  if (connection.failed) return false;
  if (connection.write_state != WriteState::kTimedOut) return true;
  // While unwritable, a timed-out connection the peer still pings may yet work.
  return best == nullptr && IsReadable(connection, now);
}

void GiceChannel::Impl::SendPing(Connection& connection, absl::Duration now) {
  const Port& port = *ports[connection.port];
  StunMessage request;
  request.type = kStunBindingRequest;
  do {
    request.transaction_id =
        MakeTransactionId(bitgen, options.use_magic_cookie);
  } while (pings.count(request.transaction_id) != 0);
  // USERNAME = remote ufrag ‖ local ufrag (§4.2); the fault sends only ours.
  request.username = options.fault_username_without_remote
                         ? port.candidate.username
                         : connection.remote.username + port.candidate.username;
  connection.last_ping_sent = now;
  if (connection.unanswered == 0) connection.first_unanswered = now;
  if (connection.unanswered == kWriteConnectFailures - 1) {
    connection.fifth_unanswered = now;
  }
  ++connection.unanswered;
  pings[request.transaction_id] = Ping{&connection, *request.username, now};
  if (Send(connection.port, request.Serialize(), connection.remote_endpoint)) {
    ++owner.stats_.requests_sent;
  }
}

// Both writable: the higher preference product, then the younger generation
// (LJ13's tie-break, so a new round takes over once it works), then the lower
// RTT.
bool GiceChannel::Impl::Better(const Connection& a, const Connection& b) const {
  const double a_preference =
      ports[a.port]->candidate.preference * a.remote.preference;
  const double b_preference =
      ports[b.port]->candidate.preference * b.remote.preference;
  if (a_preference != b_preference) return a_preference > b_preference;
  const int a_generation =
      ports[a.port]->candidate.generation + a.remote.generation;
  const int b_generation =
      ports[b.port]->candidate.generation + b.remote.generation;
  if (a_generation != b_generation) return a_generation > b_generation;
  return a.rtt < b.rtt;
}

bool GiceChannel::Impl::UpdateBest() {
  best = nullptr;
  for (const std::unique_ptr<Connection>& connection : connections) {
    if (connection->write_state != WriteState::kWritable) continue;
    if (best == nullptr || Better(*connection, *best)) best = connection.get();
  }
  const bool writable = best != nullptr;
  if (writable == was_writable) return true;
  was_writable = writable;
  std::function<void(bool)> handler = owner.on_writable_;
  if (!handler) return true;
  const std::shared_ptr<bool> still_alive = alive;
  handler(writable);
  return *still_alive;
}

GiceChannel::Impl::Connection* GiceChannel::Impl::MediaConnection() {
  Connection* chosen = best;
  if (options.fault_media_to_stale_generation) {
    // Stay on the oldest remote generation that ever worked.
    for (const std::unique_ptr<Connection>& connection : connections) {
      if (connection->ever_writable &&
          (chosen == nullptr ||
           connection->remote.generation < chosen->remote.generation)) {
        chosen = connection.get();
      }
    }
  }
  if (chosen == nullptr && options.fault_media_before_writable) {
    // The first pairing with the newest remote generation, writable or not.
    for (const std::unique_ptr<Connection>& connection : connections) {
      if (connection->remote.generation == remote_generation) {
        return connection.get();
      }
    }
  }
  return chosen;
}

GiceChannel::GiceChannel(boost::asio::io_context& io, Clock& clock,
                         absl::BitGenRef bitgen, GiceOptions options)
    : impl_(std::make_unique<Impl>(*this, io, clock, bitgen,
                                   std::move(options))) {}

GiceChannel::~GiceChannel() = default;

absl::StatusOr<Candidate> GiceChannel::AllocateGeneration() {
  return impl_->AllocateGeneration();
}

absl::StatusOr<std::vector<Candidate>> GiceChannel::AddGeneration(
    std::vector<PreparedPort> ports) {
  return impl_->AddGeneration(std::move(ports));
}

int GiceChannel::generation() const { return impl_->generations - 1; }

bool GiceChannel::AddRemoteCandidate(const Candidate& candidate) {
  return impl_->AddRemoteCandidate(candidate);
}

void GiceChannel::Start() {
  impl_->started = true;
  impl_->MaybeSchedulePing();
}

// Stops pinging only: requests are still answered and media still flows, but
// writability no longer changes (its timeouts are evaluated on ping ticks).
void GiceChannel::Stop() {
  impl_->started = false;
  impl_->ping_timer.reset();
}

bool GiceChannel::writable() const { return impl_->best != nullptr; }

bool GiceChannel::readable() const {
  const absl::Duration now = impl_->clock.Now();
  for (const std::unique_ptr<Impl::Connection>& connection :
       impl_->connections) {
    if (impl_->IsReadable(*connection, now)) return true;
  }
  return false;
}

const boost::asio::ip::udp::endpoint* GiceChannel::best_remote() const {
  return impl_->best != nullptr ? &impl_->best->remote_endpoint : nullptr;
}

bool GiceChannel::SendPacket(absl::string_view packet) {
  Impl::Connection* connection = impl_->MediaConnection();
  if (connection == nullptr) return false;
  if (!impl_->Send(connection->port, packet, connection->remote_endpoint))
    return false;
  ++stats_.media_sent;
  return true;
}

const std::vector<Candidate>& GiceChannel::local_candidates() const {
  return impl_->local_candidates;
}

}  // namespace talkcheck::media_sim
