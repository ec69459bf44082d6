#include "media_sim/candidate_gatherer.h"

#include <algorithm>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "media_sim/relay_client.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace {

// libjingle 0.4 preferences (PROTOCOL.md §3.1, basicportallocator.cc PREF_*).
constexpr double kStunPreference = 0.9;
constexpr double kRelayPreference = 0.5;
constexpr absl::Duration kFirstRetransmit = absl::Milliseconds(100);
constexpr absl::Duration kMaxRetransmit = absl::Milliseconds(1600);

}  // namespace

struct CandidateGatherer::Impl {
  Impl(boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
       GatherOptions options, Done done)
      : io(io),
        clock(clock),
        bitgen(bitgen),
        options(std::move(options)),
        network_source(this->options.network, io),
        network(network_source.get()),
        done(std::move(done)) {}
  ~Impl() { *alive = false; }

  void Begin();
  void SendBinding();
  void OnHostDatagram(absl::string_view data, const UdpEndpoint& from);
  void OnRelaySession(absl::StatusOr<RelaySession> session);
  void MaybeFinish();
  void Finish();

  boost::asio::io_context& io;
  Clock& clock;
  absl::BitGenRef bitgen;
  const GatherOptions options;
  const NetworkOrUdp network_source;
  DatagramNetwork& network;
  Done done;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  absl::Duration deadline;
  std::unique_ptr<Timer> deadline_timer;
  std::unique_ptr<Timer> start_timer;

  std::unique_ptr<DatagramSocket> host_socket;
  std::string binding_tid;  // empty once the stun query is over
  absl::Duration retransmit_delay = kFirstRetransmit;
  std::unique_ptr<Timer> binding_timer;
  std::optional<UdpEndpoint> mapped;

  std::unique_ptr<RelaySessionRequest> http;
  std::unique_ptr<RelayedSocket> relayed;
  bool relay_pending = false;
  GatherResult result;
};

void CandidateGatherer::Impl::Begin() {
  deadline = clock.Now() + options.timeout;
  if (options.host || options.stun_server) {
    absl::StatusOr<std::unique_ptr<DatagramSocket>> socket =
        network.Bind(options.bind_address);
    if (socket.ok()) {
      host_socket = *std::move(socket);
    } else {
      result.stun = socket.status();
    }
  }
  if (options.stun_server && host_socket != nullptr) {
    host_socket->SetReceiveHandler(
        [this, alive = alive](absl::string_view data, const UdpEndpoint& from) {
          if (*alive) OnHostDatagram(data, from);
        });
    binding_tid = MakeTransactionId(bitgen, /*magic_cookie=*/false);
    SendBinding();
  }
  if (options.relay) {
    relay_pending = true;
    http = RelaySessionRequest::Start(
        io, clock, options.relay->http, options.relay->token, options.timeout,
        [this, alive = alive](absl::StatusOr<RelaySession> session) {
          if (*alive) OnRelaySession(std::move(session));
        });
  }
  deadline_timer = clock.CallAfter(options.timeout, [this] { Finish(); });
  // Never synchronously, even when nothing was asked for.
  start_timer = clock.CallAfter(absl::ZeroDuration(), [this] {
    start_timer.reset();  // it has fired
    MaybeFinish();
  });
}

// LJ04 stunport.cc: a Binding request with no attributes.
void CandidateGatherer::Impl::SendBinding() {
  const absl::Duration now = clock.Now();
  if (now >= deadline) return;
  StunMessage request;
  request.type = kStunBindingRequest;
  request.transaction_id = binding_tid;
  host_socket->SendTo(request.Serialize(), *options.stun_server);
  const absl::Duration delay = std::min(retransmit_delay, deadline - now);
  retransmit_delay = std::min(2 * retransmit_delay, kMaxRetransmit);
  binding_timer = clock.CallAfter(delay, [this] { SendBinding(); });
}

void CandidateGatherer::Impl::OnHostDatagram(absl::string_view data,
                                             const UdpEndpoint& from) {
  if (binding_tid.empty() || from != *options.stun_server) return;
  absl::StatusOr<StunMessage> message = ParseStunMessage(data);
  if (!message.ok() || message->transaction_id != binding_tid) return;
  if (message->type == kStunBindingResponse && message->mapped_address) {
    mapped = message->mapped_address;
  } else {
    result.stun = absl::UnavailableError(
        message->type == kStunBindingErrorResponse
            ? "the STUN server answered with an error"
            : "the STUN server answered without MAPPED-ADDRESS");
  }
  binding_tid.clear();
  binding_timer.reset();
  MaybeFinish();
}

void CandidateGatherer::Impl::OnRelaySession(
    absl::StatusOr<RelaySession> session) {
  if (!session.ok()) {
    result.relay = session.status();
    relay_pending = false;
    return MaybeFinish();
  }
  absl::StatusOr<std::unique_ptr<DatagramSocket>> socket =
      network.Bind(options.bind_address);
  if (!socket.ok()) {
    result.relay = socket.status();
    relay_pending = false;
    return MaybeFinish();
  }
  relayed = std::make_unique<RelayedSocket>(clock, bitgen, *std::move(socket),
                                            *std::move(session));
  relayed->Allocate(deadline - clock.Now(),
                    [this, alive = alive](absl::Status status) {
                      if (!*alive) return;
                      if (!status.ok()) {
                        result.relay = status;
                        relayed.reset();
                      }
                      relay_pending = false;
                      MaybeFinish();
                    });
}

void CandidateGatherer::Impl::MaybeFinish() {
  if (start_timer != nullptr) return;  // still inside Begin's turn
  if (binding_tid.empty() && !relay_pending) Finish();
}

void CandidateGatherer::Impl::Finish() {
  if (!done) return;
  deadline_timer.reset();
  binding_timer.reset();
  if (!binding_tid.empty()) {
    result.stun =
        absl::DeadlineExceededError("the STUN server did not answer in time");
    binding_tid.clear();
  }
  if (relay_pending) {
    if (result.relay.ok()) {
      result.relay =
          absl::DeadlineExceededError("the relay did not answer in time");
    }
    relayed.reset();
    relay_pending = false;
  }
  http.reset();
  PreparedPort host;
  if (options.host && host_socket != nullptr) {
    const UdpEndpoint local = host_socket->local_endpoint();
    Candidate candidate;
    candidate.address = local.address().to_string();
    candidate.port = local.port();
    host.candidates.push_back(candidate);
  }
  if (mapped) {
    Candidate candidate;
    candidate.address = mapped->address().to_string();
    candidate.port = mapped->port();
    candidate.preference = kStunPreference;
    candidate.type = "stun";
    host.candidates.push_back(candidate);
  }
  if (!host.candidates.empty()) {
    host.socket = std::move(host_socket);
    result.ports.push_back(std::move(host));
  }
  if (relayed != nullptr) {
    const UdpEndpoint external = relayed->local_endpoint();
    PreparedPort relay;
    Candidate candidate;
    candidate.address = external.address().to_string();
    candidate.port = external.port();
    candidate.preference = kRelayPreference;
    candidate.type = "relay";
    candidate.username = relayed->session().username;
    candidate.password = relayed->session().password;
    relay.candidates.push_back(candidate);
    relay.socket = std::move(relayed);
    result.ports.push_back(std::move(relay));
  }
  Done call = std::move(done);
  done = nullptr;
  call(std::move(result));
}

std::unique_ptr<CandidateGatherer> CandidateGatherer::Start(
    boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
    GatherOptions options, Done done) {
  auto impl = std::make_unique<Impl>(io, clock, bitgen, std::move(options),
                                     std::move(done));
  Impl* raw = impl.get();
  std::unique_ptr<CandidateGatherer> gatherer(
      new CandidateGatherer(std::move(impl)));
  raw->Begin();
  return gatherer;
}

CandidateGatherer::CandidateGatherer(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}

CandidateGatherer::~CandidateGatherer() = default;

}  // namespace talkcheck::media_sim
