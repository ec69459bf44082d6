#include "harness/bench/concurrent_calls.h"

#include <algorithm>
#include <atomic>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "fake_server/config.pb.h"
#include "harness/peer/peer.h"
#include "harness/scenario/scenario.pb.h"
#include "media_sim/gice_channel.h"
#include "media_sim/rtp.h"
#include "reference_client/call_media.h"
#include "reference_client/client_stream.h"
#include "reference_client/voice_client.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness::bench {

namespace asio = boost::asio;
namespace ns = xmpp::ns;
using reference_client::CallMedia;
using reference_client::CallMediaStats;

namespace {

constexpr int kLoginBatch = 100;
constexpr int kCallBatch = 4;  // every 20 ms: about 200 calls/s
constexpr absl::Duration kSetupStall = absl::Seconds(30);
constexpr char kDomain[] = "localhost";
constexpr char kPassword[] = "benchpass";

std::string Sid(int index) { return absl::StrCat("bench", index); }

void Add(Direction& sum, const Direction& one) {
  sum.sent += one.sent;
  sum.received += one.received;
  sum.gaps += one.gaps;
  sum.refused += one.refused;
}

Direction FromStats(const CallMediaStats& sender,
                    const CallMediaStats& receiver) {
  return {sender.packets_sent,
          receiver.received.packets - receiver.received.duplicates,
          receiver.received.lost, sender.send_refused};
}

}  // namespace

// One call's peer side, on the peer thread: a SimulatedPeer of its own that
// places the call, and the peer's RTP on the peer's GICE channel.
class PeerCall {
 public:
  // `network`: where the peer's sockets come from (null: its own UDP).
  // `common_frame_clock`: frames on the grid of `clock`'s 20 ms from zero.
  PeerCall(asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
           fake_server::FakeServer& server, media_sim::DatagramNetwork* network,
           bool common_frame_clock, int index)
      : clock_(clock),
        bitgen_(bitgen),
        index_(index),
        common_frame_clock_(common_frame_clock),
        peer_(io, clock, bitgen, server, Spec(index), nullptr) {
    peer_.set_network(network);
  }

  // Logs the peer in and sends the initiate (PCMU only) and its candidates.
  absl::Status Place(fake_server::Router& router, const xmpp::Jid& callee) {
    // Each client and its own peer are contacts, nobody else: presence costs
    // O(N), not O(N²) (issue 13).
    absl::StatusOr<xmpp::Jid> me =
        xmpp::Jid::Create(Spec(index_).user(), kDomain, "");
    if (!me.ok()) return me.status();
    if (absl::Status linked = router.AddContacts(*me, callee); !linked.ok())
      return linked;
    if (absl::Status attached = peer_.Attach(); !attached.ok()) return attached;
    absl::StatusOr<std::string> candidates = peer_.CandidatesXml("rtp", false);
    if (!candidates.ok()) return candidates.status();
    media_sim::GiceChannel& channel = *peer_.channel("rtp");
    const media_sim::RtpCodec pcmu = *media_sim::CodecByName("PCMU", 0);
    reference_client::CallMediaOptions options;
    options.echo = false;
    media_ = std::make_unique<CallMedia>(clock_, bitgen_, pcmu, pcmu, options,
                                         [&channel](absl::string_view packet) {
                                           return channel.SendPacket(packet);
                                         });
    channel.set_packet_handler(
        [this](absl::string_view packet, const asio::ip::udp::endpoint&) {
          media_->OnPacket(packet);
        });
    channel.set_writable_handler([this](bool writable) {
      if (!writable || !common_frame_clock_) {
        grid_wait_.reset();
        media_->SetSending(writable);
        return;
      }
      // CallMedia's frames follow its first tick: start it on the grid.
      grid_wait_ = clock_.CallAfter(kFrame - clock_.Now() % kFrame, [this] {
        grid_wait_.reset();
        media_->SetSending(true);
      });
    });

    const std::string session = absl::StrCat(
        "<session xmlns='", ns::kGoogleSession, "' id='", Sid(index_),
        "' initiator='", peer_.jid().ToString(), "' type='");
    for (const std::string& body :
         {absl::StrCat(session, "initiate'><description xmlns='",
                       ns::kGooglePhone,
                       "'><payload-type id='0' name='PCMU'/></description>"),
          absl::StrCat(session, "candidates'>", *candidates)}) {
      absl::StatusOr<xmpp::Element> iq = xmpp::ParseElement(
          absl::StrCat("<iq type='set' to='", callee.ToString(), "'>", body,
                       "</session></iq>"));
      if (!iq.ok()) return iq.status();
      iq->SetAttr("id", absl::StrCat(Sid(index_), "-", ++iq_ids_));
      peer_.Send(*std::move(iq));
    }
    return absl::OkStatus();
  }

  // Writable, sending, and RTP has come from the client.
  bool flowing() const {
    return media_ != nullptr && media_->sending() &&
           media_->stats().received.packets > 0;
  }
  CallMediaStats stats() const {
    return media_ != nullptr ? media_->stats() : CallMediaStats();
  }

 private:
  static PeerSpec Spec(int index) {
    PeerSpec spec;
    spec.set_user(absl::StrCat("peer", index));
    return spec;
  }

  Clock& clock_;
  absl::BitGenRef bitgen_;
  int index_;
  bool common_frame_clock_;
  int iq_ids_ = 0;
  SimulatedPeer peer_;
  // Sends on peer_'s channel, so declared after it: destroyed first.
  std::unique_ptr<CallMedia> media_;
  std::unique_ptr<Timer> grid_wait_;  // uses media_: destroyed first
};

// One reference client, on the client thread: its stream and voice client,
// answering the call automatically and echoing its media.
class ClientCall {
 public:
  ClientCall(asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
             uint16_t port, int index)
      : io_(io),
        clock_(clock),
        bitgen_(bitgen),
        jid_(*xmpp::Jid::Create(absl::StrCat("cut", index), kDomain, "bench")),
        sid_(Sid(index)),
        stream_(io, clock, bitgen, Options(port, jid_)) {}

  const xmpp::Jid& jid() const { return jid_; }

  // Logs in, then starts the voice client; `done` gets the login's status.
  void Connect(std::function<void(absl::Status)> done) {
    stream_.Connect([this, done = std::move(done)](absl::Status ready) {
      if (ready.ok()) {
        voice_ = std::make_unique<reference_client::VoiceClient>(
            io_, clock_, bitgen_, stream_,
            reference_client::VoiceClientOptions());
        voice_->set_event_handler(
            [this](const reference_client::CallEvent& event) {
              using Type = reference_client::CallEvent::Type;
              if (event.type == Type::kTerminated ||
                  event.type == Type::kRejected) {
                ended_ = event.reason;
              }
            });
        voice_->Start();
      }
      done(ready);
    });
  }

  // Why the call ended, if it did.
  const std::optional<std::string>& ended() const { return ended_; }
  bool flowing() const {
    std::optional<CallMediaStats> stats = this->stats();
    return stats.has_value() && stats->sending && stats->received.packets > 0;
  }
  std::optional<CallMediaStats> stats() const {
    return voice_ != nullptr ? voice_->media_stats(sid_) : std::nullopt;
  }

 private:
  static reference_client::ClientStreamOptions Options(uint16_t port,
                                                       const xmpp::Jid& jid) {
    reference_client::ClientStreamOptions options;
    options.port = port;
    options.jid = jid;
    options.password = kPassword;
    options.require_tls = false;
    options.sasl_mechanism = "PLAIN";
    options.login_timeout = absl::Seconds(60);
    return options;
  }

  asio::io_context& io_;
  Clock& clock_;
  absl::BitGenRef bitgen_;
  xmpp::Jid jid_;
  std::string sid_;
  reference_client::ClientStream stream_;
  // Uses stream_, so declared after it: destroyed first.
  std::unique_ptr<reference_client::VoiceClient> voice_;
  std::optional<std::string> ended_;
};

ConcurrentCalls::ConcurrentCalls(IoThreads& threads, int n,
                                 PeerMedia peer_media)
    : threads_(threads),
      n_(n),
      peer_media_(peer_media),
      peer_clock_(threads.peer()),
      client_clock_(threads.client(), threads.client_timer_quantum()) {}

ConcurrentCalls::~ConcurrentCalls() {
  IoThreads::RunOn(threads_.client(), [this] { clients_.clear(); });
  IoThreads::RunOn(threads_.peer(), [this] {
    peers_.clear();
    peer_network_.reset();
    if (server_ != nullptr) server_->Stop();
    server_.reset();
  });
}

absl::Status ConcurrentCalls::SetUp() {
  if (absl::Status s = StartServer(); !s.ok()) return s;
  if (absl::Status s = LogIn(); !s.ok()) return s;
  if (absl::Status s = PlaceCalls(); !s.ok()) return s;
  return WaitUntilFlowing();
}

Counts ConcurrentCalls::counts() const {
  Counts total;
  for (int i = 0; i < n_; ++i) {
    const CallMediaStats peer = peers_[i]->stats();
    const CallMediaStats client =
        clients_[i]->stats().value_or(CallMediaStats());
    Add(total.to_client, FromStats(peer, client));
    Add(total.to_peer, FromStats(client, peer));
  }
  total.peer_batching = BatchingOf(peer_network_.get());
  return total;
}

void ConcurrentCalls::FlushPeer() {
  if (peer_network_ != nullptr) peer_network_->Flush();
}

absl::Status ConcurrentCalls::StartServer() {
  fake_server::ServerConfig config;
  config.set_domain(kDomain);
  config.set_tls(fake_server::ServerConfig::TLS_OFF);
  config.mutable_limits()->set_max_connections(n_ + 16);
  config.mutable_limits()->set_auth_timeout_ms(120000);
  for (int i = 0; i < n_; ++i) {
    fake_server::Account* account = config.add_accounts();
    account->set_username(absl::StrCat("cut", i));
    account->set_password(kPassword);
  }
  return IoThreads::RunOn(threads_.peer(), [&]() -> absl::Status {
    auto server = fake_server::FakeServer::Create(config, threads_.peer(),
                                                  peer_clock_, 7);
    if (!server.ok()) return server.status();
    server_ = *std::move(server);
    port_ = server_->port();
    if (peer_media_.sockets > 0) {
      peer_network_ = std::make_unique<media_sim::SharedUdpNetwork>(
          threads_.peer(), peer_media_.sockets, peer_media_.send_delay);
    }
    return absl::OkStatus();
  });
}

// In batches of kLoginBatch outstanding logins.
absl::Status ConcurrentCalls::LogIn() {
  const uint16_t port = port_;
  auto done = std::make_shared<std::atomic<int>>(0);
  auto failure = std::make_shared<std::optional<absl::Status>>();
  for (int first = 0; first < n_; first += kLoginBatch) {
    const int last = std::min(n_, first + kLoginBatch);
    IoThreads::RunOn(threads_.client(), [&] {
      for (int i = first; i < last; ++i) {
        clients_.push_back(std::make_unique<ClientCall>(
            threads_.client(), client_clock_, client_bitgen_, port, i));
        clients_.back()->Connect([done, failure](absl::Status status) {
          if (!status.ok() && !failure->has_value()) *failure = status;
          ++*done;
        });
      }
    });
    while (*done < last) absl::SleepFor(absl::Milliseconds(2));
    std::optional<absl::Status> failed =
        IoThreads::RunOn(threads_.client(), [&] { return *failure; });
    if (failed.has_value()) {
      return absl::Status(failed->code(),
                          absl::StrCat("login: ", failed->message()));
    }
  }
  return absl::OkStatus();
}

absl::Status ConcurrentCalls::PlaceCalls() {
  for (int first = 0; first < n_; first += kCallBatch) {
    const int last = std::min(n_, first + kCallBatch);
    absl::Status placed = IoThreads::RunOn(threads_.peer(), [&] {
      for (int i = first; i < last; ++i) {
        peers_.push_back(std::make_unique<PeerCall>(
            threads_.peer(), peer_clock_, peer_bitgen_, *server_,
            peer_network_.get(), peer_media_.common_frame_clock, i));
        absl::Status s =
            peers_.back()->Place(server_->router(), clients_[i]->jid());
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    });
    if (!placed.ok()) {
      return absl::Status(placed.code(),
                          absl::StrCat("placing calls: ", placed.message()));
    }
    absl::SleepFor(kFrame);
  }
  return absl::OkStatus();
}

// Fails when a call ends, or when no call starts flowing for kSetupStall.
absl::Status ConcurrentCalls::WaitUntilFlowing() {
  int best = 0;
  absl::Time progress = absl::Now();
  while (true) {
    const int peers = IoThreads::RunOn(threads_.peer(), [this] {
      return static_cast<int>(
          std::count_if(peers_.begin(), peers_.end(),
                        [](const auto& p) { return p->flowing(); }));
    });
    auto [clients, ended] = IoThreads::RunOn(threads_.client(), [this] {
      std::pair<int, std::optional<std::string>> out{0, std::nullopt};
      for (const auto& c : clients_) {
        out.first += c->flowing() ? 1 : 0;
        if (c->ended().has_value()) out.second = c->ended();
      }
      return out;
    });
    if (ended.has_value()) {
      return absl::UnavailableError(absl::StrCat("a call ended: ", *ended));
    }
    const int both = std::min(peers, clients);
    if (both == n_) break;
    if (both > best) {
      best = both;
      progress = absl::Now();
    } else if (absl::Now() - progress > kSetupStall) {
      return absl::DeadlineExceededError(absl::StrFormat(
          "RTP both ways in %d of %d calls (peers %d, clients %d) after %s "
          "without progress",
          both, n_, peers, clients, absl::FormatDuration(kSetupStall)));
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  absl::SleepFor(kSettle);
  return absl::OkStatus();
}

}  // namespace talkcheck::harness::bench
