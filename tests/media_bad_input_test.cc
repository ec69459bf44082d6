// Bad input on the media path: whatever a client under test sends at the
// peer's GICE socket is counted as a named finding, never crashes or stalls
// media_sim, and never stops another call.
//
// Each test sets up two calls in one io_context on 127.0.0.1, each a pair of
// GiceChannels that exchanged candidates and became writable: the peer side
// runs a MediaLoopback (paced PCMU), the client side echoes every packet back,
// as the reference client does. A raw UDP socket (the "injector") then sends
// bad datagrams at the peer socket of the first call (the target); the test
// asserts the named counter and the MediaReport finding, and that the target
// still answers the client's pings and both calls still carry media. Real
// time, bounded with io_context::run_for; nothing sleeps.
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "base/asio_clock.h"
#include "gtest/gtest.h"
#include "harness/peer/media_loopback.h"
#include "harness/report/report.pb.h"
#include "media_sim/gice_channel.h"
#include "media_sim/recording_udp_socket.h"
#include "media_sim/rtp.h"
#include "media_sim/stun_message.h"

namespace talkcheck::integration {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using harness::MediaLoopback;
using harness::MediaReport;
using media_sim::GiceChannel;
using media_sim::GiceStats;
using media_sim::StunAttribute;
using media_sim::StunMessage;

constexpr char kLoopbackAddress[] = "127.0.0.1";
constexpr char kInjectorTid[] = "InjectorTransact";  // 16 bytes
constexpr int kFloodDatagrams = 20000;
// The bystander call may lose at most this share of its echoed packets while
// the target is flooded; its own sockets are not flooded, so only a stall of
// the io_context long enough to overflow them (seconds) could cost packets.
constexpr double kMaxBystanderLossPercent = 1.0;
constexpr std::chrono::milliseconds kSlice(10);
constexpr std::chrono::seconds kLimit(10);

std::string Bytes(const char* data, size_t size) {
  return std::string(data, size);
}

// A well-formed PCMU packet, as a client that never pinged might send it.
std::string ValidRtp(uint16_t sequence) {
  media_sim::RtpPacket packet;
  packet.sequence = sequence;
  packet.timestamp = 160u * sequence;
  packet.ssrc = 0x0BADF00D;
  packet.payload = std::string(160, '\xff');
  return packet.Serialize();
}

// The "drops" column of this network namespace's /proc/net/udp for the IPv4
// socket bound to 127.0.0.1:`port`: datagrams the kernel threw away because
// the socket's receive buffer was full. nullopt when it cannot be read.
std::optional<uint64_t> KernelDrops(uint16_t port) {
  std::ifstream in("/proc/net/udp");
  if (!in) return std::nullopt;
  const std::string local = absl::StrFormat("0100007F:%04X", port);
  std::string line;
  std::getline(in, line);  // the column titles
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string slot, address, field;
    fields >> slot >> address;
    if (address != local) continue;
    uint64_t drops = 0;
    while (fields >> field) {
      drops = std::strtoull(field.c_str(), nullptr, 10);  // the last column
    }
    return drops;
  }
  return std::nullopt;
}

// One call: the peer's channel with its loopback, and the client's channel,
// which echoes every packet back.
struct Call {
  std::unique_ptr<GiceChannel> peer;
  std::unique_ptr<GiceChannel> client;
  std::unique_ptr<MediaLoopback> loopback;

  udp::endpoint peer_endpoint() const {
    const media_sim::Candidate& local = peer->local_candidates().front();
    return udp::endpoint(asio::ip::make_address(local.address), local.port);
  }
  // USERNAME of a valid check of the peer from any address: the peer's ufrag,
  // then the client's, which the peer knows (a peer-reflexive connection).
  std::string ValidUsername() const {
    return peer->local_candidates().front().username +
           client->local_candidates().front().username;
  }
};

// The junk counters of one channel, for before/after differences.
struct Junk {
  uint64_t truncated_stun = 0;
  uint64_t oversized_stun = 0;
  uint64_t stun_attribute_overrun = 0;
  uint64_t unknown_stun_attributes = 0;
  uint64_t media_from_unreadable = 0;
  uint64_t total() const {
    return truncated_stun + oversized_stun + stun_attribute_overrun +
           unknown_stun_attributes + media_from_unreadable;
  }
};

Junk JunkOf(const GiceStats& stats) {
  Junk junk;
  junk.truncated_stun = stats.truncated_stun;
  junk.oversized_stun = stats.oversized_stun;
  junk.stun_attribute_overrun = stats.stun_attribute_overrun;
  junk.unknown_stun_attributes = stats.unknown_stun_attributes;
  junk.media_from_unreadable = stats.media_from_unreadable;
  return junk;
}

class MediaBadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StartCall(target_);
    StartCall(bystander_);
    ASSERT_TRUE(RunUntil([&] {
      return target_.loopback->received().packets >= 5 &&
             bystander_.loopback->received().packets >= 5;
    })) << "the two calls never carried media";
  }

  void StartCall(Call& call) {
    // The injector plays the client from a socket no candidate named: judge
    // everything it sends as the client's.
    media_sim::GiceOptions peer_options;
    peer_options.judge_every_datagram = true;
    call.peer =
        std::make_unique<GiceChannel>(io_, clock_, bitgen_, peer_options);
    call.client = std::make_unique<GiceChannel>(io_, clock_, bitgen_,
                                                media_sim::GiceOptions{});
    ASSERT_TRUE(call.peer->AllocateGeneration().ok());
    ASSERT_TRUE(call.client->AllocateGeneration().ok());
    ASSERT_TRUE(
        call.peer->AddRemoteCandidate(call.client->local_candidates().front()));
    ASSERT_TRUE(
        call.client->AddRemoteCandidate(call.peer->local_candidates().front()));
    GiceChannel* client = call.client.get();
    client->set_packet_handler(
        [client](absl::string_view packet, const udp::endpoint&) {
          client->SendPacket(packet);
        });
    call.peer->Start();
    call.client->Start();
    // Both writable means both readable too: each answered the other's check.
    ASSERT_TRUE(RunUntil(
        [&] { return call.peer->writable() && call.client->writable(); }));
    absl::StatusOr<media_sim::RtpCodec> pcmu =
        media_sim::CodecByName("PCMU", 0);
    ASSERT_TRUE(pcmu.ok());
    call.loopback = std::make_unique<MediaLoopback>(
        clock_, *call.peer, *pcmu, static_cast<uint32_t>(bitgen_()));
    call.loopback->Start();
  }

  // Runs the io_context in slices until `done`, at most `limit` of real time.
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds limit = kLimit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      io_.run_for(kSlice);
    }
    return true;
  }

  // Sends each datagram from the injector, then runs until the target's
  // `counter` went up by the number sent (or the limit passed).
  void InjectAndCount(const std::vector<std::string>& datagrams,
                      uint64_t GiceStats::*counter) {
    const GiceStats& stats = target_.peer->stats();
    const uint64_t before = stats.*counter;
    for (const std::string& datagram : datagrams) {
      injector_.SendTo(datagram, target_.peer_endpoint());
    }
    EXPECT_TRUE(
        RunUntil([&] { return stats.*counter >= before + datagrams.size(); }));
    EXPECT_EQ(stats.*counter, before + datagrams.size());
  }

  // A valid check from the injector gets a success response echoing USERNAME
  // with the injector's address as MAPPED-ADDRESS.
  void ExpectValidPingAnswered() {
    StunMessage request;
    request.type = media_sim::kStunBindingRequest;
    request.transaction_id = "ValidPingFromInj";
    request.username = target_.ValidUsername();
    const size_t before = injector_.received.size();
    injector_.SendTo(request.Serialize(), target_.peer_endpoint());
    ASSERT_TRUE(RunUntil([&] {
      for (size_t i = before; i < injector_.received.size(); ++i) {
        absl::StatusOr<StunMessage> reply =
            media_sim::ParseStunMessage(injector_.received[i].bytes);
        if (reply.ok() && reply->transaction_id == request.transaction_id) {
          return true;
        }
      }
      return false;
    })) << "the target peer no longer answers a valid ping";
    for (size_t i = before; i < injector_.received.size(); ++i) {
      absl::StatusOr<StunMessage> reply =
          media_sim::ParseStunMessage(injector_.received[i].bytes);
      if (!reply.ok() || reply->transaction_id != request.transaction_id) {
        continue;
      }
      EXPECT_EQ(reply->type, media_sim::kStunBindingResponse);
      EXPECT_EQ(reply->username, request.username);
      EXPECT_EQ(reply->mapped_address, injector_.endpoint());
    }
  }

  // After the bad input: the target still answers its client's pings, and
  // both calls still carry media both ways.
  void ExpectCallsStillWork() {
    const uint64_t answered = target_.client->stats().responses_received;
    const uint64_t target_media = target_.loopback->received().packets;
    const uint64_t bystander_media = bystander_.loopback->received().packets;
    EXPECT_TRUE(RunUntil([&] {
      return target_.client->stats().responses_received >= answered + 2 &&
             target_.loopback->received().packets >= target_media + 10 &&
             bystander_.loopback->received().packets >= bystander_media + 10;
    })) << "responses "
        << target_.client->stats().responses_received - answered
        << ", target media "
        << target_.loopback->received().packets - target_media
        << ", bystander media "
        << bystander_.loopback->received().packets - bystander_media;
    EXPECT_TRUE(target_.client->writable());
    EXPECT_TRUE(target_.peer->writable());
    EXPECT_LE(bystander_.loopback->received().loss_percent(),
              kMaxBystanderLossPercent);
    for (const Call* call : {&target_, &bystander_}) {
      EXPECT_EQ(call->loopback->received().ssrc_changes, 0u);
      EXPECT_EQ(call->loopback->received().wrong_payload_type, 0u);
    }
    // Nothing the injector sent reached the bystander.
    const MediaReport bystander = bystander_.loopback->Report();
    for (const auto& [name, count] : bystander.findings()) {
      EXPECT_EQ(count, 0u) << name;
    }
    EXPECT_EQ(bystander.malformed(), 0u);
  }

  uint64_t Finding(const std::string& name) const {
    const MediaReport report = target_.loopback->Report();
    const auto it = report.findings().find(name);
    EXPECT_NE(it, report.findings().end()) << name << " is not reported";
    return it == report.findings().end() ? 0 : it->second;
  }

  asio::io_context io_;
  AsioClock clock_{io_};
  std::mt19937_64 bitgen_{20050824};
  Call target_;
  Call bystander_;
  media_sim::RecordingUdpSocket injector_{io_, kLoopbackAddress};
};

// A Binding request from the injector: USERNAME valid for the target peer,
// then `extra` attributes.
std::string RequestWith(const Call& call,
                        const std::vector<StunAttribute>& extra) {
  std::vector<StunAttribute> attributes = {
      {media_sim::kStunAttrUsername, call.ValidUsername()}};
  attributes.insert(attributes.end(), extra.begin(), extra.end());
  return media_sim::SerializeStunAttributes(media_sim::kStunBindingRequest,
                                            kInjectorTid, attributes);
}

// Verifies truncated_stun: shorter than the header, or a length field that
// promises more than the datagram holds.
TEST_F(MediaBadInputTest, TruncatedStunIsCountedAndDropped) {
  StunMessage request;
  request.type = media_sim::kStunBindingRequest;
  request.transaction_id = kInjectorTid;
  request.username = target_.ValidUsername();
  const std::string whole = request.Serialize();
  InjectAndCount({Bytes("\x00\x01", 2), whole.substr(0, 19),
                  whole.substr(0, 20), whole.substr(0, whole.size() - 4)},
                 &GiceStats::truncated_stun);
  EXPECT_TRUE(injector_.received.empty());
  EXPECT_EQ(Finding("truncated_stun"), 4u);
  ExpectCallsStillWork();
  ExpectValidPingAnswered();
}

// Verifies oversized_datagrams (over GiceOptions::max_datagram_bytes, STUN or
// RTP, dropped unread) and oversized_stun (bytes after the message its length
// field describes).
TEST_F(MediaBadInputTest, OversizedStunIsCountedAndDropped) {
  ASSERT_EQ(media_sim::GiceOptions{}.max_datagram_bytes, 1500u);
  const std::string big_request =
      RequestWith(target_, {{0x0007, std::string(1600, 'p')}});  // PASSWORD
  ASSERT_GT(big_request.size(), 1500u);
  InjectAndCount({big_request, ValidRtp(1) + std::string(1500, 'x')},
                 &GiceStats::oversized_datagrams);

  StunMessage request;
  request.type = media_sim::kStunBindingRequest;
  request.transaction_id = kInjectorTid;
  request.username = target_.ValidUsername();
  InjectAndCount({request.Serialize() + std::string(4, '\0'),
                  request.Serialize() + std::string(1000, '\0')},
                 &GiceStats::oversized_stun);
  EXPECT_TRUE(injector_.received.empty());
  EXPECT_EQ(Finding("oversized_datagrams"), 2u);
  EXPECT_EQ(Finding("oversized_stun"), 2u);
  EXPECT_EQ(target_.peer->stats().media_from_unreadable, 0u);
  ExpectCallsStillWork();
  ExpectValidPingAnswered();
}

// Verifies stun_attribute_overrun: an attribute length past the end of the
// packet, and an attribute header cut short.
TEST_F(MediaBadInputTest, AttributeOverrunIsCountedAndDropped) {
  std::string long_value = RequestWith(target_, {});
  long_value[media_sim::kStunHeaderSize + 2] = '\x7f';  // USERNAME of 32 Ki
  std::string cut_header =
      RequestWith(target_, {}) + Bytes("\x00\x06\x00\x10", 4);
  cut_header.resize(cut_header.size() - 2);  // an attribute header of 2 bytes
  cut_header[3] = static_cast<char>(cut_header.size() - 20);
  // USERNAME claims 36 bytes where 32 follow.
  std::string past_end = RequestWith(target_, {});
  past_end[media_sim::kStunHeaderSize + 3] = 36;
  InjectAndCount({long_value, cut_header, past_end},
                 &GiceStats::stun_attribute_overrun);
  EXPECT_TRUE(injector_.received.empty());
  EXPECT_EQ(Finding("stun_attribute_overrun"), 3u);
  ExpectCallsStillWork();
  ExpectValidPingAnswered();
}

// Verifies unknown_stun_attributes: requests and responses with attribute
// types libjingle 0.4 does not know are dropped unanswered, so the injector
// does not become readable either; without them the same request is answered.
TEST_F(MediaBadInputTest, UnknownAttributesDropTheMessage) {
  const StunAttribute priority{0x0024, Bytes("\x6e\x00\x01\xff", 4)};
  const StunAttribute use_candidate{0x0025, ""};
  const StunAttribute controlling{0x802A, std::string(8, 'c')};
  // Responses as an RFC 5389 stack or a chatty client would send them.
  const std::string username = target_.ValidUsername();
  const std::string xor_mapped_response = media_sim::SerializeStunAttributes(
      media_sim::kStunBindingResponse, kInjectorTid,
      {{media_sim::kStunAttrUsername, username},
       {media_sim::kStunAttrXorMappedAddress,
        media_sim::EncodeStunXorAddress(injector_.endpoint(), kInjectorTid)}});
  const std::string software_response = media_sim::SerializeStunAttributes(
      media_sim::kStunBindingResponse, kInjectorTid,
      {{media_sim::kStunAttrUsername, username}, {0x8022, "talk"}});
  InjectAndCount({RequestWith(target_, {priority, use_candidate, controlling}),
                  RequestWith(target_, {priority}), xor_mapped_response,
                  software_response},
                 &GiceStats::unknown_stun_attributes);
  EXPECT_EQ(Finding("unknown_stun_attributes"), 4u);
  EXPECT_EQ(Finding("integrity_or_fingerprint"), 0u);
  EXPECT_TRUE(injector_.received.empty());
  // Dropped before USERNAME was looked at: the injector is still unreadable.
  InjectAndCount({ValidRtp(1)}, &GiceStats::media_from_unreadable);
  ExpectCallsStillWork();
  ExpectValidPingAnswered();
}

// Verifies integrity_or_fingerprint: FINGERPRINT drops the message (LJ04
// cannot parse it); a 20-byte MESSAGE-INTEGRITY is counted but answered.
TEST_F(MediaBadInputTest, IntegrityAndFingerprintAreCounted) {
  InjectAndCount({RequestWith(target_, {{media_sim::kStunAttrFingerprint,
                                         Bytes("\x12\x34\x56\x78", 4)}})},
                 &GiceStats::integrity_or_fingerprint);
  EXPECT_TRUE(injector_.received.empty());
  InjectAndCount({RequestWith(target_, {{media_sim::kStunAttrMessageIntegrity,
                                         std::string(20, 'i')}})},
                 &GiceStats::integrity_or_fingerprint);
  EXPECT_TRUE(RunUntil([&] { return !injector_.received.empty(); }));
  EXPECT_EQ(Finding("integrity_or_fingerprint"), 2u);
  EXPECT_EQ(Finding("unknown_stun_attributes"), 0u);
  ExpectCallsStillWork();
  ExpectValidPingAnswered();
}

// Verifies RtpStats::malformed (MediaReport.malformed) for RTP from a readable
// address: shorter than the fixed header, a CSRC count past the end, a header
// extension past the end.
TEST_F(MediaBadInputTest, MalformedRtpFromReadableAddressIsCounted) {
  ExpectValidPingAnswered();  // the injector is now readable (peer-reflexive)
  const uint64_t malformed = target_.loopback->received().malformed;
  const uint64_t delivered = target_.peer->stats().media_received;
  std::string csrcs_past_end = ValidRtp(1).substr(0, 12) + std::string(8, 'c');
  csrcs_past_end[0] = static_cast<char>(0x8F);  // 15 CSRCs = 60 bytes
  std::string extension_past_end =
      ValidRtp(2).substr(0, 12) + Bytes("\xbe\xde\x00\x40", 4) + "xxxx";
  extension_past_end[0] = static_cast<char>(0x90);  // X: 64 words follow
  const std::vector<std::string> bad = {ValidRtp(3).substr(0, 8),
                                        csrcs_past_end, extension_past_end};
  for (const std::string& packet : bad) {
    injector_.SendTo(packet, target_.peer_endpoint());
  }
  EXPECT_TRUE(RunUntil([&] {
    return target_.loopback->received().malformed >= malformed + bad.size();
  }));
  EXPECT_EQ(target_.loopback->received().malformed, malformed + bad.size());
  EXPECT_GE(target_.peer->stats().media_received, delivered + bad.size());
  EXPECT_EQ(target_.loopback->Report().malformed(), malformed + bad.size());
  ExpectCallsStillWork();
}

// Verifies media_from_unreadable: RTP from an address that never completed a
// check is counted and never reaches the loopback.
TEST_F(MediaBadInputTest, MediaFromUnreadableAddressIsCountedAndDropped) {
  const uint64_t delivered = target_.peer->stats().media_received;
  const uint64_t echoed = target_.loopback->received().packets;
  InjectAndCount(
      {ValidRtp(1), ValidRtp(2), ValidRtp(3), ValidRtp(4), ValidRtp(5)},
      &GiceStats::media_from_unreadable);
  EXPECT_EQ(Finding("media_from_unreadable"), 5u);
  // Only the client's echoes arrived meanwhile, none with the injector's SSRC.
  EXPECT_EQ(target_.peer->stats().media_received - delivered,
            target_.loopback->received().packets - echoed);
  ExpectCallsStillWork();
}

// Verifies a flood: 20,000 junk datagrams of five kinds as fast as one socket
// sends them. Each is counted under its kind or dropped by the kernel (the
// socket's "drops" in /proc/net/udp), flood_datagrams counts what exceeds the
// rate, the target keeps answering valid pings, and the bystander call keeps
// its media flowing meanwhile with loss within kMaxBystanderLossPercent.
TEST_F(MediaBadInputTest, FloodIsCountedAndOtherCallsKeepFlowing) {
  StunMessage request;
  request.type = media_sim::kStunBindingRequest;
  request.transaction_id = kInjectorTid;
  request.username = target_.ValidUsername();
  std::string overrun = RequestWith(target_, {});
  overrun[media_sim::kStunHeaderSize + 2] = '\x7f';
  const std::vector<std::string> kinds = {
      request.Serialize().substr(0, 10),           // truncated_stun
      request.Serialize() + std::string(4, '\0'),  // oversized_stun
      overrun,                                     // stun_attribute_overrun
      RequestWith(target_, {{0x0024, std::string(4, 'p')}}),  // unknown
      ValidRtp(7),  // media_from_unreadable
  };
  const udp::endpoint to = target_.peer_endpoint();
  const uint16_t port = to.port();
  const std::optional<uint64_t> drops_before = KernelDrops(port);
  const GiceStats& stats = target_.peer->stats();
  const Junk before = JunkOf(stats);
  const uint64_t received_before = stats.datagrams_received;
  const uint64_t flood_before = stats.flood_datagrams;
  const uint64_t bystander_before = bystander_.loopback->received().packets;
  const auto start = std::chrono::steady_clock::now();

  asio::io_context flood_io;
  udp::socket flood(flood_io,
                    udp::endpoint(asio::ip::make_address(kLoopbackAddress), 0));
  std::vector<uint64_t> sent(kinds.size(), 0);
  std::atomic<bool> done{false};
  std::thread sender([&] {
    for (int i = 0; i < kFloodDatagrams; ++i) {
      const std::string& datagram = kinds[i % kinds.size()];
      boost::system::error_code ec;
      flood.send_to(asio::buffer(datagram), to, 0, ec);
      if (!ec) ++sent[i % kinds.size()];
    }
    done = true;
  });
  EXPECT_TRUE(RunUntil([&] { return done.load(); }));
  sender.join();
  uint64_t flood_sent = 0;
  for (uint64_t n : sent) flood_sent += n;
  EXPECT_EQ(flood_sent, static_cast<uint64_t>(kFloodDatagrams));

  // A marker behind the junk (an oversized datagram, a kind the junk does not
  // use): once it is counted, every junk datagram was read or dropped. Resent
  // while the kernel drops it.
  const std::string marker = ValidRtp(9) + std::string(2000, 'm');
  const uint64_t markers = stats.oversized_datagrams;
  EXPECT_TRUE(RunUntil([&] {
    if (stats.oversized_datagrams > markers) return true;
    boost::system::error_code ec;
    flood.send_to(asio::buffer(marker), to, 0, ec);
    io_.run_for(std::chrono::milliseconds(50));
    return stats.oversized_datagrams > markers;
  }));
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  const uint64_t bystander_during =
      bystander_.loopback->received().packets - bystander_before;

  const Junk after = JunkOf(stats);
  const uint64_t counted = after.total() - before.total();
  std::optional<uint64_t> drops_after = KernelDrops(port);
  ASSERT_TRUE(drops_before && drops_after) << "no /proc/net/udp entry";
  const uint64_t dropped = *drops_after - *drops_before;
  // Every junk datagram was counted once under its kind or dropped by the
  // kernel; the drops may include some of the client's traffic.
  EXPECT_LE(counted, flood_sent);
  EXPECT_GE(counted + dropped, flood_sent);
  const uint64_t per_kind[] = {
      after.truncated_stun - before.truncated_stun,
      after.oversized_stun - before.oversized_stun,
      after.stun_attribute_overrun - before.stun_attribute_overrun,
      after.unknown_stun_attributes - before.unknown_stun_attributes,
      after.media_from_unreadable - before.media_from_unreadable};
  for (size_t kind = 0; kind < kinds.size(); ++kind) {
    EXPECT_LE(per_kind[kind], sent[kind]) << kind;
    EXPECT_GE(per_kind[kind] + dropped, sent[kind]) << kind;
  }
  // Over the rate: all but max_datagrams_per_second per one-second window, at
  // most ceil(elapsed) + 1 windows (one may have begun before the flood).
  const uint64_t received = stats.datagrams_received - received_before;
  const uint64_t allowed = media_sim::GiceOptions{}.max_datagrams_per_second *
                           (static_cast<uint64_t>(elapsed_s) + 2);
  const uint64_t flooded = stats.flood_datagrams - flood_before;
  EXPECT_LE(flooded, received);
  EXPECT_GE(flooded + allowed, received);
  EXPECT_EQ(Finding("flood_datagrams"), stats.flood_datagrams);
  // The bystander kept flowing: at least a quarter of its 50 packets per
  // second came back while the flood was handled.
  EXPECT_GE(static_cast<double>(bystander_during), elapsed_s * 50 / 4 - 2)
      << "in " << elapsed_s << " s";
  RecordProperty("flood_counted", static_cast<int>(counted));
  RecordProperty("flood_kernel_drops", static_cast<int>(dropped));
  RecordProperty("flood_seconds_ms", static_cast<int>(elapsed_s * 1000));
  RecordProperty("bystander_packets", static_cast<int>(bystander_during));

  ExpectCallsStillWork();
  ExpectValidPingAnswered();
}

}  // namespace
}  // namespace talkcheck::integration
