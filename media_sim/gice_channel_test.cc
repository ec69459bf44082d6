#include "media_sim/gice_channel.h"

#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/asio_clock.h"
#include "base/virtual_clock.h"
#include "gtest/gtest.h"
#include "media_sim/recording_udp_socket.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {
namespace {

namespace asio = boost::asio;
using udp = asio::ip::udp;

constexpr char kRawUfrag[] = "RawPeerUfrag0000";  // 16 base64 characters
constexpr char kRawTid[] = "RawTransactionId";

// An RTP header (version 2, PT 0) and a little payload.
std::string Rtp() {
  return std::string("\x80\x00\x00\x01\x00\x00\x00\xa0\x12\x34\x56\x78", 12) +
         std::string(20, 'x');
}

udp::endpoint Endpoint(const Candidate& candidate) {
  return udp::endpoint(asio::ip::make_address(candidate.address),
                       candidate.port);
}

// A recording socket that plays a client under test: the candidate it would
// announce, and the STUN it got back.
class RawPeer : public RecordingUdpSocket {
 public:
  using RecordingUdpSocket::RecordingUdpSocket;

  Candidate candidate(int generation = 0, std::string ufrag = kRawUfrag) const {
    Candidate candidate;
    candidate.address = "127.0.0.1";
    candidate.port = endpoint().port();
    candidate.username = std::move(ufrag);
    candidate.password = "RawPeerPassword0";
    candidate.generation = generation;
    return candidate;
  }

  // Every datagram received that parses as STUN.
  std::vector<StunMessage> Stun() const {
    std::vector<StunMessage> out;
    for (const Datagram& datagram : received) {
      absl::StatusOr<StunMessage> message = ParseStunMessage(datagram.bytes);
      if (message.ok()) out.push_back(*std::move(message));
    }
    return out;
  }
};

// Two GiceChannels and raw sockets on 127.0.0.1, driven by a VirtualClock:
// socket I/O is polled to idle between timer steps, so pacing is exact and no
// test waits in real time.
class GiceChannelTest : public ::testing::Test {
 protected:
  std::unique_ptr<GiceChannel> MakeChannel(GiceOptions options = {}) {
    auto channel =
        std::make_unique<GiceChannel>(io_, clock_, bitgen_, std::move(options));
    EXPECT_TRUE(channel->AllocateGeneration().ok());
    return channel;
  }

  // Each learns the other's candidates of the newest local generation.
  static void Exchange(GiceChannel& a, GiceChannel& b) {
    EXPECT_TRUE(a.AddRemoteCandidate(b.local_candidates().back()));
    EXPECT_TRUE(b.AddRemoteCandidate(a.local_candidates().back()));
  }

  void Poll() {
    io_.restart();
    while (io_.poll() > 0) {
    }
  }

  // Alternates socket I/O with virtual-time steps until `done` or `limit` has
  // passed.
  bool RunUntil(const std::function<bool()>& done, absl::Duration limit) {
    const absl::Duration end = clock_.Now() + limit;
    for (;;) {
      Poll();
      if (done()) return true;
      if (clock_.NextDeadline() > end) break;
      clock_.RunNext();
    }
    clock_.AdvanceBy(end - clock_.Now());
    Poll();
    return done();
  }

  void RunFor(absl::Duration duration) {
    RunUntil([] { return false; }, duration);
  }

  StunMessage RawRequest(const std::string& username) {
    StunMessage request;
    request.type = kStunBindingRequest;
    request.transaction_id = kRawTid;
    request.username = username;
    return request;
  }

  // Sends `message` from `raw` to `to` and returns the one reply.
  std::optional<StunMessage> RoundTrip(RawPeer& raw, const StunMessage& message,
                                       const udp::endpoint& to) {
    const size_t before = raw.received.size();
    raw.SendTo(message.Serialize(), to);
    if (!RunUntil([&] { return raw.received.size() > before; },
                  absl::Seconds(1))) {
      return std::nullopt;
    }
    absl::StatusOr<StunMessage> reply =
        ParseStunMessage(raw.received.back().bytes);
    if (!reply.ok()) return std::nullopt;
    return *reply;
  }

  // Answers the newest request `raw` received with `reply` filled in from it.
  void Answer(RawPeer& raw, const udp::endpoint& to,
              const std::function<void(StunMessage&)>& fill) {
    std::vector<StunMessage> requests = raw.Stun();
    ASSERT_FALSE(requests.empty());
    StunMessage reply;
    reply.transaction_id = requests.back().transaction_id;
    reply.username = requests.back().username;
    fill(reply);
    raw.SendTo(reply.Serialize(), to);
    Poll();
  }

  asio::io_context io_;
  VirtualClock clock_;
  std::mt19937_64 bitgen_{20050824};
};

// Verifies the real-clock path: two channels become writable and carry media
// both ways.
TEST_F(GiceChannelTest, TwoChannelsOnRealClockBecomeWritableAndExchangeMedia) {
  AsioClock clock(io_);
  GiceChannel a(io_, clock, bitgen_, {});
  GiceChannel b(io_, clock, bitgen_, {});
  ASSERT_TRUE(a.AllocateGeneration().ok());
  ASSERT_TRUE(b.AllocateGeneration().ok());
  Exchange(a, b);
  std::vector<std::pair<std::string, udp::endpoint>> at_a, at_b;
  a.set_packet_handler([&](absl::string_view p, const udp::endpoint& from) {
    at_a.emplace_back(std::string(p), from);
  });
  b.set_packet_handler([&](absl::string_view p, const udp::endpoint& from) {
    at_b.emplace_back(std::string(p), from);
  });
  int writable_events = 0;
  a.set_writable_handler([&](bool writable) { writable_events += writable; });
  a.Start();
  b.Start();
  for (int i = 0; i < 300 && !(a.writable() && b.writable()); ++i) {
    io_.run_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(a.writable());
  ASSERT_TRUE(b.writable());
  EXPECT_EQ(writable_events, 1);
  EXPECT_TRUE(a.readable());
  ASSERT_NE(a.best_remote(), nullptr);
  EXPECT_EQ(*a.best_remote(), Endpoint(b.local_candidates()[0]));

  ASSERT_TRUE(a.SendPacket(Rtp()));
  ASSERT_TRUE(b.SendPacket(Rtp() + "back"));
  for (int i = 0; i < 100 && (at_a.empty() || at_b.empty()); ++i) {
    io_.run_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(at_b.size(), 1u);
  EXPECT_EQ(at_b[0].first, Rtp());
  EXPECT_EQ(at_b[0].second, Endpoint(a.local_candidates()[0]));
  ASSERT_EQ(at_a.size(), 1u);
  EXPECT_EQ(at_a[0].first, Rtp() + "back");
  for (const GiceChannel* channel : {&a, &b}) {
    EXPECT_EQ(channel->stats().malformed_stun, 0u);
    EXPECT_EQ(channel->stats().responses_with_wrong_username, 0u);
    EXPECT_EQ(channel->stats().responses_without_mapped_address, 0u);
    EXPECT_EQ(channel->stats().media_from_unreadable, 0u);
    EXPECT_EQ(channel->stats().media_sent, 1u);
    EXPECT_EQ(channel->stats().media_received, 1u);
  }
}

// Verifies the local candidate: 16 base64 characters of ufrag and password,
// generation.
TEST_F(GiceChannelTest, AllocatesCandidatesPerGeneration) {
  GiceChannel channel(io_, clock_, bitgen_, {});
  EXPECT_EQ(channel.generation(), -1);
  absl::StatusOr<Candidate> first = channel.AllocateGeneration();
  absl::StatusOr<Candidate> second = channel.AllocateGeneration();
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(channel.generation(), 1);
  EXPECT_EQ(first->generation, 0);
  EXPECT_EQ(second->generation, 1);
  EXPECT_EQ(first->address, "127.0.0.1");
  EXPECT_NE(first->port, second->port);
  EXPECT_NE(first->username, second->username);
  for (const std::string& s : {first->username, first->password}) {
    EXPECT_EQ(s.size(), 16u);
    EXPECT_EQ(s.find_first_not_of(
                  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                  "0123456789+/"),
              std::string::npos);
  }
  GiceOptions bad;
  bad.bind_address = "not-an-address";
  GiceChannel broken(io_, clock_, bitgen_, bad);
  EXPECT_EQ(broken.AllocateGeneration().status().code(),
            absl::StatusCode::kInvalidArgument);
}

// Verifies what AddRemoteCandidate ignores.
TEST_F(GiceChannelTest, FiltersRemoteCandidates) {
  auto channel = MakeChannel();
  RawPeer raw(io_);
  Candidate rtcp = raw.candidate();
  rtcp.name = "rtcp";
  EXPECT_FALSE(channel->AddRemoteCandidate(rtcp));
  Candidate tcp = raw.candidate();
  tcp.protocol = "tcp";
  EXPECT_FALSE(channel->AddRemoteCandidate(tcp));
  Candidate zero = raw.candidate();
  zero.address = "0.0.0.0";
  EXPECT_FALSE(channel->AddRemoteCandidate(zero));
  EXPECT_TRUE(channel->AddRemoteCandidate(raw.candidate(1)));
  Candidate same = raw.candidate(1);
  same.preference = 0.5;  // IsEquivalent ignores preference
  EXPECT_FALSE(channel->AddRemoteCandidate(same));
  EXPECT_FALSE(
      channel->AddRemoteCandidate(raw.candidate(0, "OlderGeneration0")));
  EXPECT_TRUE(
      channel->AddRemoteCandidate(raw.candidate(1, "SameGeneration00")));
}

// Verifies 400 for a USERNAME that does not begin with our ufrag, in GICE
// encoding.
TEST_F(GiceChannelTest, AnswersBadUsernameWith400) {
  auto channel = MakeChannel();
  RawPeer raw(io_);
  const Candidate local = channel->local_candidates()[0];
  std::optional<StunMessage> reply =
      RoundTrip(raw, RawRequest("NotOurUfrag00000" + std::string(kRawUfrag)),
                Endpoint(local));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, kStunBindingErrorResponse);
  EXPECT_EQ(reply->transaction_id, kRawTid);
  EXPECT_EQ(reply->username, "NotOurUfrag00000" + std::string(kRawUfrag));
  ASSERT_TRUE(reply->error_code.has_value());
  EXPECT_EQ(reply->error_code->error_class, 1);
  EXPECT_EQ(reply->error_code->number, 144);
  EXPECT_NE(raw.received.back().bytes.find(
                std::string("\x00\x09\x00\x10\x00\x00\x01\x90", 8)),
            std::string::npos);
  EXPECT_EQ(channel->environment_stats().requests_received, 1u);
  EXPECT_EQ(channel->environment_stats().bad_username_requests, 1u);
  EXPECT_EQ(channel->environment_stats().error_responses_sent, 1u);
  EXPECT_EQ(channel->environment_stats().responses_sent, 0u);
  // Nobody announced the sender: the environment's, not the remote side's.
  EXPECT_EQ(channel->stats().datagrams_received, 0u);
  EXPECT_FALSE(channel->readable());
}

// Verifies 430 Stale Credentials for our ufrag followed by an unknown remote
// ufrag.
TEST_F(GiceChannelTest, AnswersUnknownRemoteUfragWith430) {
  auto channel = MakeChannel();
  RawPeer raw(io_);
  const Candidate local = channel->local_candidates()[0];
  std::optional<StunMessage> reply =
      RoundTrip(raw, RawRequest(local.username + kRawUfrag), Endpoint(local));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, kStunBindingErrorResponse);
  EXPECT_EQ(reply->error_code->GiceCode(), 430);
  EXPECT_EQ(reply->username, local.username + kRawUfrag);
  // Before the candidate, nothing ties the request to the remote side.
  EXPECT_EQ(channel->environment_stats().stale_credentials_requests, 1u);
  EXPECT_EQ(channel->stats().stale_credentials_requests, 0u);
  // The race is normal (PROTOCOL.md §8.13): never a finding.
  EXPECT_EQ(channel->environment_stats().bad_username_requests, 0u);
  EXPECT_EQ(channel->stats().bad_username_requests, 0u);

  // Once the candidate is known, the retry succeeds (PROTOCOL.md §8.13).
  ASSERT_TRUE(channel->AddRemoteCandidate(raw.candidate()));
  reply =
      RoundTrip(raw, RawRequest(local.username + kRawUfrag), Endpoint(local));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, kStunBindingResponse);
  EXPECT_EQ(reply->transaction_id, kRawTid);
  EXPECT_EQ(reply->mapped_address, raw.endpoint());
  EXPECT_EQ(channel->stats().responses_sent, 1u);
  EXPECT_TRUE(channel->readable());
}

// Verifies peer-reflexive learning and the 30 s readability window for media.
TEST_F(GiceChannelTest, PeerReflexiveRequestMakesMediaAcceptableFor30s) {
  auto channel = MakeChannel();
  std::vector<std::string> delivered;
  channel->set_packet_handler([&](absl::string_view p, const udp::endpoint&) {
    delivered.emplace_back(p);
  });
  RawPeer signalled(io_);  // the address the candidate names
  RawPeer actual(io_);     // where the pings really come from
  ASSERT_TRUE(channel->AddRemoteCandidate(signalled.candidate()));
  const Candidate local = channel->local_candidates()[0];

  // Media before any ping: counted and dropped.
  actual.SendTo(Rtp(), Endpoint(local));
  Poll();
  // From an address nobody announced yet: the environment's.
  EXPECT_EQ(channel->environment_stats().media_from_unreadable, 1u);
  EXPECT_TRUE(delivered.empty());

  std::optional<StunMessage> reply = RoundTrip(
      actual, RawRequest(local.username + kRawUfrag), Endpoint(local));
  ASSERT_TRUE(reply.has_value());
  EXPECT_EQ(reply->type, kStunBindingResponse);
  EXPECT_EQ(reply->username, local.username + kRawUfrag);
  EXPECT_EQ(reply->mapped_address, actual.endpoint());
  EXPECT_TRUE(reply->unknown_attributes.empty());

  actual.SendTo(Rtp(), Endpoint(local));
  RunFor(absl::Seconds(29));
  EXPECT_EQ(delivered.size(), 1u);
  actual.SendTo(Rtp(), Endpoint(local));
  Poll();
  EXPECT_EQ(delivered.size(), 2u);
  RunFor(absl::Seconds(2));
  EXPECT_FALSE(channel->readable());
  actual.SendTo(Rtp(), Endpoint(local));
  Poll();
  EXPECT_EQ(delivered.size(), 2u);
  EXPECT_EQ(channel->stats().media_received, 2u);
  // Learnt in its check, the address is the remote side's from then on.
  EXPECT_EQ(channel->stats().media_from_unreadable, 1u);
  // And only that address: a stranger's media after the remote side's is
  // still the environment's.
  RawPeer stranger(io_);
  stranger.SendTo(Rtp(), Endpoint(local));
  Poll();
  EXPECT_EQ(channel->environment_stats().media_from_unreadable, 2u);
  EXPECT_EQ(channel->stats().media_from_unreadable, 1u);
}

// Verifies that broken STUN is counted under the name of its damage, and
// nothing else happens.
TEST_F(GiceChannelTest, CountsMalformedStunByKind) {
  auto channel = MakeChannel();
  RawPeer raw(io_);
  const udp::endpoint to = Endpoint(channel->local_candidates()[0]);
  const std::string request = RawRequest(std::string(32, 'A')).Serialize();
  // Truncated: the length field says 36 bytes follow the header.
  raw.SendTo(request.substr(0, 30), to);
  raw.SendTo(std::string("\x00\x01", 2), to);
  raw.SendTo(request.substr(0, 19), to);
  // Trailing bytes: the length field says fewer bytes than follow.
  raw.SendTo(request + std::string(8, '\0'), to);
  // Attribute overruns: USERNAME claims 200 bytes; a 2-byte attribute header.
  std::string overrun = request;
  overrun[kStunHeaderSize + 3] = static_cast<char>(200);
  raw.SendTo(overrun, to);
  std::string short_header =
      request.substr(0, kStunHeaderSize) + std::string("\x00\x06", 2);
  short_header[3] = 2;
  raw.SendTo(short_header, to);
  // Other damage: a 4-byte MAPPED-ADDRESS.
  raw.SendTo(SerializeStunAttributes(
                 kStunBindingRequest, kRawTid,
                 {{kStunAttrMappedAddress, std::string("\0\x01\0\x01", 4)}}),
             to);
  Poll();
  // Nobody announced the sender: the environment's, not the remote side's.
  EXPECT_EQ(channel->stats().datagrams_received, 0u);
  const GiceStats& stats = channel->environment_stats();
  EXPECT_EQ(stats.datagrams_received, 7u);
  EXPECT_EQ(stats.truncated_stun, 3u);
  EXPECT_EQ(stats.oversized_stun, 1u);
  EXPECT_EQ(stats.stun_attribute_overrun, 2u);
  EXPECT_EQ(stats.malformed_stun, 1u);
  EXPECT_EQ(stats.requests_received, 0u);
  EXPECT_TRUE(raw.received.empty());
}

// Verifies GiceOptions::max_datagram_bytes: a request of exactly the limit is
// answered, one a word longer is counted and dropped unread.
TEST_F(GiceChannelTest, DropsDatagramsOverMaxDatagramBytes) {
  EXPECT_EQ(GiceOptions{}.max_datagram_bytes, 1500u);
  GiceOptions options;
  options.max_datagram_bytes = 1000;
  auto channel = MakeChannel(options);
  RawPeer raw(io_);
  const udp::endpoint to = Endpoint(channel->local_candidates()[0]);
  const std::string at_limit = RawRequest(std::string(976, 'A')).Serialize();
  const std::string over_limit = RawRequest(std::string(980, 'A')).Serialize();
  ASSERT_EQ(at_limit.size(), 1000u);
  ASSERT_EQ(over_limit.size(), 1004u);
  raw.SendTo(over_limit, to);
  raw.SendTo(Rtp() + std::string(1000, 'x'), to);
  Poll();
  EXPECT_EQ(channel->environment_stats().oversized_datagrams, 2u);
  EXPECT_EQ(channel->environment_stats().media_from_unreadable, 0u);
  EXPECT_TRUE(raw.received.empty());
  raw.SendTo(at_limit, to);
  Poll();
  EXPECT_EQ(channel->environment_stats().oversized_datagrams, 2u);
  EXPECT_EQ(channel->environment_stats().bad_username_requests,
            1u);  // answered with 400
  EXPECT_EQ(raw.received.size(), 1u);
}

// Verifies libjingle 0.4's strictness: a request with an attribute LJ04 does
// not know is dropped unanswered and counted; FINGERPRINT and a badly sized
// MESSAGE-INTEGRITY are dropped as integrity_or_fingerprint; a 20-byte
// MESSAGE-INTEGRITY and LJ04-known types such as PASSWORD are answered.
TEST_F(GiceChannelTest, DropsUnknownAttributesAndCountsIntegrity) {
  auto channel = MakeChannel();
  RawPeer raw(io_);
  ASSERT_TRUE(channel->AddRemoteCandidate(raw.candidate()));
  const Candidate local = channel->local_candidates()[0];
  const udp::endpoint to = Endpoint(local);
  const StunAttribute username{kStunAttrUsername, local.username + kRawUfrag};
  auto with = [&](const StunAttribute& extra) {
    return SerializeStunAttributes(kStunBindingRequest, kRawTid,
                                   {username, extra});
  };
  const StunAttribute priority{0x0024, std::string("\x6e\x00\x01\xff", 4)};
  const StunAttribute software{0x8022, "talk"};
  const StunAttribute retransmit{kStunAttrRetransmitCount,
                                 std::string("\0\0\0\x01", 4)};
  const StunAttribute xor_mapped{kStunAttrXorMappedAddress,
                                 EncodeStunXorAddress(raw.endpoint(), kRawTid)};
  for (const StunAttribute& extra :
       {priority, software, retransmit, xor_mapped}) {
    raw.SendTo(with(extra), to);
  }
  Poll();
  EXPECT_EQ(channel->stats().unknown_stun_attributes, 4u);
  EXPECT_EQ(channel->stats().integrity_or_fingerprint, 0u);
  EXPECT_EQ(channel->stats().requests_received, 0u);
  EXPECT_TRUE(raw.received.empty());
  EXPECT_FALSE(channel->readable());

  raw.SendTo(with({kStunAttrFingerprint, "\x12\x34\x56\x78"}), to);
  raw.SendTo(with({kStunAttrMessageIntegrity, std::string(16, 'm')}), to);
  Poll();
  EXPECT_EQ(channel->stats().integrity_or_fingerprint, 2u);
  EXPECT_EQ(channel->stats().unknown_stun_attributes, 4u);
  EXPECT_TRUE(raw.received.empty());

  raw.SendTo(with({kStunAttrMessageIntegrity, std::string(20, 'm')}), to);
  raw.SendTo(with({0x0007, "PASSWORD"}), to);  // LJ04 knows PASSWORD
  Poll();
  EXPECT_EQ(channel->stats().integrity_or_fingerprint, 3u);
  EXPECT_EQ(channel->stats().unknown_stun_attributes, 4u);
  EXPECT_EQ(channel->stats().responses_sent, 2u);
  EXPECT_EQ(raw.received.size(), 2u);
  EXPECT_TRUE(channel->readable());
  EXPECT_EQ(channel->stats().datagrams_received, 8u);
}

// Verifies flood_datagrams: datagrams beyond max_datagrams_per_second in one
// second of the channel's clock, still handled; 0 turns the count off.
TEST_F(GiceChannelTest, CountsDatagramsOverTheRateAsFlood) {
  for (const uint64_t limit : {uint64_t{10}, uint64_t{0}}) {
    SCOPED_TRACE(limit);
    GiceOptions options;
    options.max_datagrams_per_second = limit;
    auto channel = MakeChannel(options);
    RawPeer raw(io_);
    const udp::endpoint to = Endpoint(channel->local_candidates()[0]);
    for (int i = 0; i < 15; ++i) raw.SendTo(Rtp(), to);
    Poll();
    EXPECT_EQ(channel->environment_stats().flood_datagrams,
              limit == 0 ? 0u : 5u);
    EXPECT_EQ(channel->environment_stats().media_from_unreadable,
              15u);  // all handled
    clock_.AdvanceBy(absl::Milliseconds(999));
    raw.SendTo(Rtp(), to);
    Poll();
    EXPECT_EQ(channel->environment_stats().flood_datagrams,
              limit == 0 ? 0u : 6u);
    clock_.AdvanceBy(absl::Milliseconds(1));  // a new window
    for (int i = 0; i < 10; ++i) raw.SendTo(Rtp(), to);
    Poll();
    EXPECT_EQ(channel->environment_stats().flood_datagrams,
              limit == 0 ? 0u : 6u);
  }
  EXPECT_EQ(GiceOptions{}.max_datagrams_per_second, 1000u);
}

// Verifies libjingle's pacing while unwritable: one request per 50 ms, each a
// single transmission of USERNAME = remote ‖ local, until the 15 s write
// timeout.
TEST_F(GiceChannelTest, PingsEvery50msWhileUnwritableUntilWriteTimeout) {
  auto channel = MakeChannel();
  RawPeer raw(io_);  // never answers
  ASSERT_TRUE(channel->AddRemoteCandidate(raw.candidate()));
  channel->Start();
  channel->Start();  // idempotent
  RunFor(absl::Seconds(1));
  EXPECT_EQ(channel->stats().requests_sent, 21u);  // t = 0, 50, ..., 1000 ms
  const std::vector<StunMessage> requests = raw.Stun();
  ASSERT_EQ(requests.size(), 21u);
  for (const StunMessage& request : requests) {
    EXPECT_EQ(request.type, kStunBindingRequest);
    EXPECT_EQ(request.username,
              std::string(kRawUfrag) + channel->local_candidates()[0].username);
    EXPECT_FALSE(request.has_magic_cookie());
    EXPECT_TRUE(request.unknown_attributes.empty());
  }
  EXPECT_NE(requests[0].transaction_id, requests[1].transaction_id);
  EXPECT_EQ(raw.received[0].bytes.size(), 56u);  // Appendix A.4

  RunFor(absl::Seconds(19));
  EXPECT_EQ(channel->stats().requests_sent, 301u);  // the last at t = 15.0 s
  EXPECT_FALSE(channel->writable());
  channel->Stop();
  EXPECT_EQ(clock_.pending_count(), 0u);
}

// Verifies 480 ms pacing once writable, with the best pair pinged at least
// every 900 ms (here, within two 480 ms ticks) although two dead pairs share
// the ticks.
TEST_F(GiceChannelTest, PingsEvery480msOnceWritableAndBestEvery900ms) {
  auto a = MakeChannel();
  auto b = MakeChannel();
  RawPeer dead1(io_), dead2(io_);
  ASSERT_TRUE(a->AddRemoteCandidate(dead1.candidate(0, "DeadPeerUfrag001")));
  Exchange(*a, *b);
  ASSERT_TRUE(a->AddRemoteCandidate(dead2.candidate(0, "DeadPeerUfrag002")));
  a->Start();
  b->Start();
  ASSERT_TRUE(RunUntil([&] { return a->writable() && b->writable(); },
                       absl::Seconds(1)));

  const uint64_t sent_before = a->stats().requests_sent;
  uint64_t seen = b->stats().requests_received;
  std::vector<absl::Duration> at_b;
  RunUntil(
      [&] {
        if (b->stats().requests_received != seen) {
          seen = b->stats().requests_received;
          at_b.push_back(clock_.Now());
        }
        return false;
      },
      absl::Milliseconds(9600));
  // 9.6 s / 480 ms = 20 ticks, one request each.
  EXPECT_EQ(a->stats().requests_sent - sent_before, 20u);
  ASSERT_EQ(at_b.size(), 9u);  // at 1060 ms, then every 960 ms
  // Round robin over three pairs alone would reach b only every 1440 ms. After
  // the first gap (the tick grid shifts when the channel becomes writable), the
  // 900 ms rule puts b on every second tick.
  for (size_t i = 1; i < at_b.size(); ++i) {
    EXPECT_LT(at_b[i] - at_b[i - 1], absl::Milliseconds(900 + 480)) << i;
    EXPECT_GE(at_b[i] - at_b[i - 1], absl::Milliseconds(480)) << i;
    if (i >= 2) {
      EXPECT_LE(at_b[i] - at_b[i - 1], absl::Milliseconds(960)) << i;
    }
  }
  EXPECT_GT(dead1.received.size(), 1u);
  EXPECT_GT(dead2.received.size(), 1u);
}

// Verifies that a peer that never answers never makes us writable.
TEST_F(GiceChannelTest, PeerWithoutPingResponsesNeverMakesUsWritable) {
  auto a = MakeChannel();
  GiceOptions silent;
  silent.fault_no_ping_responses = true;
  auto b = MakeChannel(silent);
  Exchange(*a, *b);
  a->Start();
  b->Start();
  RunFor(absl::Seconds(20));
  EXPECT_FALSE(a->writable());
  EXPECT_EQ(a->best_remote(), nullptr);
  EXPECT_FALSE(a->SendPacket(Rtp()));
  EXPECT_GT(a->stats().requests_sent, 100u);
  EXPECT_GT(b->stats().requests_received, 100u);
  EXPECT_EQ(b->stats().responses_sent, 0u);
  EXPECT_EQ(b->stats().error_responses_sent, 0u);
  EXPECT_EQ(a->stats().responses_received, 0u);
  EXPECT_TRUE(b->writable());  // a answers b's pings
}

// Verifies that a newer remote generation is paired and takes over as best.
TEST_F(GiceChannelTest, NewerRemoteGenerationTakesOver) {
  auto a = MakeChannel();
  auto b = MakeChannel();
  Exchange(*a, *b);
  a->Start();
  b->Start();
  ASSERT_TRUE(RunUntil([&] { return a->writable() && b->writable(); },
                       absl::Seconds(1)));
  const Candidate old_candidate = b->local_candidates()[0];
  EXPECT_EQ(*a->best_remote(), Endpoint(old_candidate));

  absl::StatusOr<Candidate> fresh = b->AllocateGeneration();
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(fresh->generation, 1);
  ASSERT_TRUE(a->AddRemoteCandidate(*fresh));
  EXPECT_FALSE(a->AddRemoteCandidate(old_candidate));  // older: not paired anew
  ASSERT_TRUE(RunUntil([&] { return *a->best_remote() == Endpoint(*fresh); },
                       absl::Seconds(5)));
  std::vector<udp::endpoint> from;
  b->set_packet_handler([&](absl::string_view, const udp::endpoint& sender) {
    from.push_back(sender);
  });
  ASSERT_TRUE(a->SendPacket(Rtp()));
  Poll();
  ASSERT_EQ(from.size(), 1u);
  EXPECT_EQ(from[0], Endpoint(a->local_candidates()[0]));
}

// Verifies fault_media_to_stale_generation: media stays on the old pair (b0)
// after the new generation (b1) works; the correct channel moves to b1.
TEST_F(GiceChannelTest, StaleGenerationFaultKeepsOldPair) {
  for (const bool fault : {false, true}) {
    SCOPED_TRACE(fault ? "fault" : "correct");
    GiceOptions options;
    options.fault_media_to_stale_generation = fault;
    auto a = MakeChannel(options);
    auto b0 = MakeChannel();
    auto b1 = MakeChannel();
    ASSERT_TRUE(b1->AllocateGeneration().ok());
    int at_b0 = 0, at_b1 = 0;
    b0->set_packet_handler(
        [&](absl::string_view, const udp::endpoint&) { ++at_b0; });
    b1->set_packet_handler(
        [&](absl::string_view, const udp::endpoint&) { ++at_b1; });
    Exchange(*a, *b0);
    a->Start();
    b0->Start();
    b1->Start();
    ASSERT_TRUE(RunUntil([&] { return a->writable(); }, absl::Seconds(1)));
    const Candidate newer = b1->local_candidates()[1];
    ASSERT_EQ(newer.generation, 1);
    ASSERT_TRUE(a->AddRemoteCandidate(newer));
    ASSERT_TRUE(b1->AddRemoteCandidate(a->local_candidates()[0]));
    ASSERT_TRUE(RunUntil([&] { return *a->best_remote() == Endpoint(newer); },
                         absl::Seconds(5)));
    ASSERT_TRUE(a->SendPacket(Rtp()));
    Poll();
    EXPECT_EQ(at_b0, fault ? 1 : 0);
    EXPECT_EQ(at_b1, fault ? 0 : 1);
  }
}

// Verifies the reactions to error responses: 430 retries, 400 gives the pair
// up.
TEST_F(GiceChannelTest, RetriesOn430AndGivesUpOn400) {
  auto channel = MakeChannel();
  RawPeer raw(io_);
  ASSERT_TRUE(channel->AddRemoteCandidate(raw.candidate()));
  const udp::endpoint to = Endpoint(channel->local_candidates()[0]);
  channel->Start();
  ASSERT_TRUE(
      RunUntil([&] { return !raw.received.empty(); }, absl::Seconds(1)));
  Answer(raw, to, [](StunMessage& reply) {
    reply.type = kStunBindingErrorResponse;
    reply.error_code = StunErrorCode::FromGiceCode(430, "STALE CREDENTIALS");
  });
  EXPECT_EQ(channel->stats().responses_received, 1u);
  const uint64_t sent = channel->stats().requests_sent;
  RunFor(absl::Milliseconds(200));
  EXPECT_EQ(channel->stats().requests_sent, sent + 4);

  Answer(raw, to, [](StunMessage& reply) {
    reply.type = kStunBindingErrorResponse;
    reply.error_code = StunErrorCode::FromGiceCode(400, "BAD REQUEST");
  });
  const uint64_t given_up = channel->stats().requests_sent;
  RunFor(absl::Seconds(1));
  EXPECT_EQ(channel->stats().requests_sent, given_up);
  EXPECT_FALSE(channel->writable());
}

// Verifies that only a response echoing our USERNAME with MAPPED-ADDRESS makes
// us writable, and that the others are counted.
TEST_F(GiceChannelTest, RequiresEchoedUsernameAndMappedAddress) {
  auto channel = MakeChannel();
  RawPeer raw(io_);
  ASSERT_TRUE(channel->AddRemoteCandidate(raw.candidate()));
  const udp::endpoint to = Endpoint(channel->local_candidates()[0]);
  channel->Start();
  ASSERT_TRUE(
      RunUntil([&] { return !raw.received.empty(); }, absl::Seconds(1)));
  Answer(raw, to,
         [](StunMessage& reply) { reply.type = kStunBindingResponse; });
  EXPECT_EQ(channel->stats().responses_without_mapped_address, 1u);
  EXPECT_FALSE(channel->writable());

  const udp::endpoint mapped = to;
  RunFor(absl::Milliseconds(50));  // the next ping
  Answer(raw, to, [&](StunMessage& reply) {
    reply.type = kStunBindingResponse;
    reply.mapped_address = mapped;
    reply.username = "SomethingElse000" + *reply.username;
  });
  EXPECT_EQ(channel->stats().responses_with_wrong_username, 1u);
  EXPECT_FALSE(channel->writable());

  RunFor(absl::Milliseconds(50));
  Answer(raw, to, [&](StunMessage& reply) {
    reply.type = kStunBindingResponse;
    reply.mapped_address = mapped;
  });
  EXPECT_TRUE(channel->writable());
  EXPECT_EQ(channel->stats().responses_received, 3u);
}

// Verifies the mid-2011 variant: the cookie in the id, GICE otherwise, and a
// GICE peer without the cookie still answering it.
TEST_F(GiceChannelTest, MagicCookieVariantInteroperates) {
  GiceOptions cookie;
  cookie.use_magic_cookie = true;
  auto a = MakeChannel(cookie);
  auto b = MakeChannel();
  RawPeer raw(io_);
  ASSERT_TRUE(a->AddRemoteCandidate(raw.candidate()));
  Exchange(*a, *b);
  a->Start();
  b->Start();
  ASSERT_TRUE(RunUntil([&] { return a->writable() && b->writable(); },
                       absl::Seconds(1)));
  std::vector<StunMessage> requests = raw.Stun();
  ASSERT_FALSE(requests.empty());
  EXPECT_TRUE(requests[0].has_magic_cookie());
  EXPECT_EQ(requests[0].username,
            std::string(kRawUfrag) + a->local_candidates()[0].username);
}

// Verifies fault_username_without_remote: requests carry only the local ufrag,
// which a correct peer answers with 400.
TEST_F(GiceChannelTest, UsernameWithoutRemoteFaultIsRejected) {
  GiceOptions fault;
  fault.fault_username_without_remote = true;
  auto a = MakeChannel(fault);
  auto b = MakeChannel();
  RawPeer raw(io_);
  ASSERT_TRUE(a->AddRemoteCandidate(raw.candidate()));
  Exchange(*a, *b);
  a->Start();
  RunFor(absl::Seconds(1));
  std::vector<StunMessage> requests = raw.Stun();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].username, a->local_candidates()[0].username);
  EXPECT_FALSE(a->writable());
  EXPECT_GT(b->stats().bad_username_requests, 0u);
  EXPECT_EQ(b->stats().responses_sent, 0u);
}

// Verifies fault_media_before_writable: media goes out although nothing
// answered.
TEST_F(GiceChannelTest, MediaBeforeWritableOnlyWithFault) {
  for (const bool fault : {false, true}) {
    SCOPED_TRACE(fault ? "fault" : "correct");
    GiceOptions options;
    options.fault_media_before_writable = fault;
    auto channel = MakeChannel(options);
    RawPeer raw(io_);
    ASSERT_TRUE(channel->AddRemoteCandidate(raw.candidate()));
    EXPECT_EQ(channel->SendPacket(Rtp()), fault);
    Poll();
    EXPECT_EQ(raw.received.size(), fault ? 1u : 0u);
    EXPECT_EQ(channel->stats().media_sent, fault ? 1u : 0u);
  }
}

// Verifies that destroying a channel with reads and timers pending, or from
// inside its own writable handler, is safe (meaningful under asan).
TEST_F(GiceChannelTest, DestructionWithWorkPendingIsSafe) {
  AsioClock real(io_);
  auto a = std::make_unique<GiceChannel>(io_, real, bitgen_, GiceOptions{});
  auto b = MakeChannel();
  ASSERT_TRUE(a->AllocateGeneration().ok());
  Exchange(*a, *b);
  a->Start();
  b->Start();
  io_.run_for(std::chrono::milliseconds(20));
  a.reset();
  io_.run_for(std::chrono::milliseconds(20));

  auto c = MakeChannel();
  Exchange(*b, *c);
  c->set_writable_handler([&](bool) { c.reset(); });
  c->Start();
  EXPECT_TRUE(RunUntil([&] { return c == nullptr; }, absl::Seconds(1)));
  RunFor(absl::Seconds(1));
  b.reset();
  RunFor(absl::Seconds(1));
}

}  // namespace
}  // namespace talkcheck::media_sim
