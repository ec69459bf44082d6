// GiceChannel's own connectivity checks on libjingle 0.4's schedule, the
// responses to them, writability and the best pair (PROTOCOL.md §4.3).
#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "media_sim/gice_channel.h"
#include "media_sim/gice_channel_impl.h"

namespace talkcheck::media_sim {

namespace asio = boost::asio;
using udp = asio::ip::udp;
using gice_internal::IsRetryableError;
using gice_internal::kMaximumRtt;
using gice_internal::kMinimumRtt;
using gice_internal::kResponseTimeout;
using gice_internal::kRttRatio;
using gice_internal::kWriteConnectFailures;
using gice_internal::kWriteConnectTimeout;
using gice_internal::WriteState;
void GiceChannel::Impl::OnResponse(size_t port, const StunMessage& response,
                                   const udp::endpoint& from) {
  GiceStats& stats = *judged;
  ++stats.responses_received;
  ++PairOf(stats, port, from).responses_received;
  const auto it = pings.find(response.transaction_id);
  if (it == pings.end()) return;  // unknown or timed-out transaction
  Ping& ping = it->second;
  Connection& connection = *ping.connection;
  if (connection.port != port ||
      !SameEndpoint(connection.remote_endpoint, from))
    return;
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
  if (Connection* connection = FindNextPingable(now);
      connection != nullptr &&
      !(options.fault_no_keepalive && best != nullptr)) {
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
  while (!pings_by_age.empty() &&
         now - pings_by_age.front().first > kResponseTimeout) {
    const auto& [sent_at, transaction_id] = pings_by_age.front();
    // Unless answered already (and the id, at worst, drawn again since).
    if (const auto it = pings.find(transaction_id);
        it != pings.end() && it->second.sent_at == sent_at) {
      pings.erase(it);
    }
    pings_by_age.pop_front();
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
  if (options.fault_abandon_timed_out_pairs) return false;
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
  // Serialized first, so that the request's strings can move into the books.
  const std::string datagram = request.Serialize();
  pings_by_age.emplace_back(now, request.transaction_id);
  pings.insert_or_assign(std::move(request.transaction_id),
                         Ping{&connection, *std::move(request.username), now});
  Send(connection.port, datagram, connection.remote_endpoint);
  ++owner.stats_.requests_sent;
  ++PairOf(owner.stats_, connection.port, connection.remote_endpoint)
        .requests_sent;
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

}  // namespace talkcheck::media_sim
