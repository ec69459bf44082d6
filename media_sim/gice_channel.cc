#include "media_sim/gice_channel.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "media_sim/gice_channel_impl.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using gice_internal::kFloodWindow;
using gice_internal::kMessageIntegritySize;
using gice_internal::kReasonBadRequest;
using gice_internal::kReasonStaleCredentials;
using gice_internal::kUfragLength;
using gice_internal::WriteState;

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
    port->socket->AnswerUfrag(ufrag);

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
  // Announced, so whatever comes from it is the remote side's, even from a
  // generation we no longer pair with.
  remote_sources.emplace(address, candidate.port);
  remote_ufrags.insert(candidate.username);
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
  ports[port]->socket->ExpectFrom(endpoint);
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
  const bool remote_side = FromRemoteSide(port, data, from);
  judged = remote_side ? &owner.stats_ : &owner.environment_stats_;
  GiceStats& stats = *judged;
  ++stats.datagrams_received;
  CountRate(remote_side);
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

bool GiceChannel::Impl::FromRemoteSide(size_t port, absl::string_view data,
                                       const udp::endpoint& from) const {
  if (options.judge_every_datagram) return true;
  if (last_remote_source && SameEndpoint(*last_remote_source, from)) {
    return true;
  }
  if (remote_sources.count(from) != 0) {
    last_remote_source = from;
    return true;
  }
  if (data.empty() || data.size() > options.max_datagram_bytes ||
      (static_cast<uint8_t>(data[0]) & 0xC0) != 0) {
    return false;
  }
  absl::StatusOr<StunMessage> message = ParseStunMessage(data);
  if (!message.ok() || message->type != kStunBindingRequest ||
      !message->username) {
    return false;
  }
  const std::string& ufrag = ports[port]->candidate.username;
  return absl::StartsWith(*message->username, ufrag) &&
         remote_ufrags.count(message->username->substr(ufrag.size())) != 0;
}

// Fixed windows of kFloodWindow on the channel's clock, one per attribution:
// a foreign flood does not make the remote side's own datagrams count.
void GiceChannel::Impl::CountRate(bool remote_side) {
  if (options.max_datagrams_per_second == 0) return;
  const int i = remote_side ? 0 : 1;
  const absl::Duration now = clock.Now();
  if (now >= rate_window_end[i]) {
    rate_window_end[i] = now + kFloodWindow;
    rate_window_count[i] = 0;
  }
  if (++rate_window_count[i] > options.max_datagrams_per_second) {
    ++judged->flood_datagrams;
  }
}

void GiceChannel::Impl::CountParseError(StunParseError error) {
  GiceStats& stats = *judged;
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
  GiceStats& stats = *judged;
  if (integrity_or_fingerprint) ++stats.integrity_or_fingerprint;
  if (unknown) ++stats.unknown_stun_attributes;
  return !drop;
}

void GiceChannel::Impl::OnRequest(size_t port, const StunMessage& request,
                                  const udp::endpoint& from) {
  GiceStats& stats = *judged;
  ++stats.requests_received;
  ++PairOf(stats, port, from).requests_received;
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
    if (connection->port != port ||
        !SameEndpoint(connection->remote_endpoint, from)) {
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
      // Normal when pings beat the candidates message; the peer retries
      // (§4.2, §8.13): counted, never a finding.
      ++stats.stale_credentials_requests;
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
  remote_sources.insert(from);  // learnt in its checks
  matched->readable_until = clock.Now() + options.read_timeout;
  if (matched->write_state == WriteState::kTimedOut && !matched->failed &&
      !options.fault_abandon_timed_out_pairs) {
    matched->write_state = WriteState::kConnecting;  // start checking again
  }
  SendSuccess(port, request, from);
}

void GiceChannel::Impl::OnMedia(size_t port, absl::string_view data,
                                const udp::endpoint& from) {
  const absl::Duration now = clock.Now();
  CountMediaFindings(port, from, now);
  bool readable = false;
  for (const std::unique_ptr<Connection>& connection : connections) {
    if (connection->port != port ||
        !SameEndpoint(connection->remote_endpoint, from) ||
        !IsReadable(*connection, now)) {
      continue;
    }
    readable = true;
    if (connection->write_state == WriteState::kTimedOut &&
        !connection->failed && !options.fault_abandon_timed_out_pairs) {
      connection->write_state = WriteState::kConnecting;
    }
  }
  if (!readable) {
    ++judged->media_from_unreadable;
    return;
  }
  ++judged->media_received;
  // Held, so that a handler destroying the channel does not destroy itself.
  if (const LocalRef<PacketHandler> handler = owner.on_packet_) {
    (*handler)(data, from);
  }
}

// The sender can only be writable on a pair we answered (§4.3), and should
// have left an older generation of ours once a newer one answered it (§3.3).
void GiceChannel::Impl::CountMediaFindings(size_t port,
                                           const udp::endpoint& from,
                                           absl::Duration now) {
  std::optional<MediaFindingsMemo>& memoised = media_findings_memo;
  if (!memoised || memoised->port != port ||
      !SameEndpoint(memoised->from, from)) {
    MediaFindingsMemo& memo = memoised.emplace();
    memo.port = port;
    memo.from = from;
    const auto it = answered.find(from);
    memo.before_writable = it == answered.end() || it->second.count(port) == 0;
    if (it != answered.end()) {
      const int generation = ports[port]->candidate.generation;
      for (const auto& [answering_port, first] : it->second) {
        if (ports[answering_port]->candidate.generation > generation) {
          memo.stale_from =
              std::min(memo.stale_from, first + options.stale_generation_grace);
        }
      }
    }
  }
  GiceStats& stats = *judged;
  if (memoised->before_writable) ++stats.media_before_writable;
  if (now >= memoised->stale_from) ++stats.media_to_stale_generation;
}

void GiceChannel::Impl::SendSuccess(size_t port, const StunMessage& request,
                                    const udp::endpoint& to) {
  StunMessage response;
  response.type = kStunBindingResponse;
  response.transaction_id = request.transaction_id;
  response.username = request.username;  // verbatim
  response.mapped_address = to;
  ++judged->responses_sent;
  ++PairOf(*judged, port, to).responses_sent;
  // Only a response that left can make the client's pair writable: one that
  // our own simulated loss dropped (a fuzz schedule's) must not count as
  // answered, or a correct client that never got it would be judged.
  if (Send(port, response.Serialize(), to)) {
    answered[to].emplace(port, clock.Now());  // keeps the first
    media_findings_memo.reset();
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
  Send(port, response.Serialize(), to);
  ++judged->error_responses_sent;
}

bool GiceChannel::Impl::Send(size_t port, absl::string_view data,
                             const udp::endpoint& to) {
  return ports[port]->socket->SendTo(data, to);
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

std::optional<GiceChannel::CandidatePair> GiceChannel::best_pair() const {
  if (impl_->best == nullptr) return std::nullopt;
  return CandidatePair{impl_->ports[impl_->best->port]->candidate,
                       impl_->best->remote};
}

bool GiceChannel::SendPacket(absl::string_view packet) {
  Impl::Connection* connection = impl_->MediaConnection();
  if (connection == nullptr) return false;
  // Sent, whatever the network then does with it: loss is the receiver's
  // to count.
  impl_->Send(connection->port, packet, connection->remote_endpoint);
  ++stats_.media_sent;
  return true;
}

const std::vector<Candidate>& GiceChannel::local_candidates() const {
  return impl_->local_candidates;
}

}  // namespace talkcheck::media_sim
