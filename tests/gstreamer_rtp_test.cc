// media_sim's RTP against a real RTP implementation from Debian: GStreamer's
// PCMU payloader and depayloader (gstreamer1.0-plugins-good), driven with
// gst-launch-1.0 over UDP on 127.0.0.1.
//
// GStreamer -> RtpReceiver: N buffers of 20 ms become N packets, checked for
// loss, payload type, SSRC and timestamp steps.
// RtpSender -> GStreamer: a 20 ms paced PCMU stream that rtppcmudepay and
// mulawdec decode to exactly N * 160 samples, with no error or warning.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/asio_clock.h"
#include "media_sim/rtp.h"
#include "tests/subprocess.h"

namespace talkcheck::integration {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using media_sim::CodecByName;
using media_sim::RtpCodec;
using media_sim::RtpPacket;
using media_sim::RtpReceiver;
using media_sim::RtpSender;
using media_sim::RtpStats;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kBuffers = 100;  // 20 ms each: 2 s of audio per direction
constexpr absl::Duration kProcessTimeout = absl::Seconds(20);
constexpr absl::Duration kFrame = absl::Milliseconds(20);
constexpr char kPcmuCaps[] =
    "application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMU,"
    "payload=0";

// Whether something listens on UDP `port` on 127.0.0.1 (or any address), from
// /proc/net/udp: the way to know udpsrc is ready without parsing its output.
bool UdpPortBound(uint16_t port) {
  std::ifstream table("/proc/net/udp");
  const std::string loopback = absl::StrFormat("0100007F:%04X", port);
  const std::string any = absl::StrFormat("00000000:%04X", port);
  std::string line;
  while (std::getline(table, line)) {
    if (absl::StrContains(line, loopback) || absl::StrContains(line, any)) {
      return true;
    }
  }
  return false;
}

// A UDP port that was free a moment ago (for a process that binds it itself).
uint16_t FreeUdpPort() {
  asio::io_context io;
  udp::socket socket(io, udp::endpoint(asio::ip::address_v4::loopback(), 0));
  return socket.local_endpoint().port();
}

class GStreamerRtpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gst_launch_ = FindProgram("gst-launch-1.0");
    if (gst_launch_.empty()) {
      GTEST_SKIP() << "gst-launch-1.0 not found: install gstreamer1.0-tools "
                      "and gstreamer1.0-plugins-good (tools/setup.sh)";
    }
  }

  static void ExpectCleanRun(const absl::StatusOr<ProcessResult>& run) {
    ASSERT_TRUE(run.ok()) << run.status();
    std::cout << "gst-launch-1.0 output:\n" << run->output << std::flush;
    ASSERT_FALSE(run->timed_out) << "killed after " << kProcessTimeout;
    EXPECT_EQ(run->exit_code, 0) << run->output;
    EXPECT_THAT(run->output, Not(HasSubstr("ERROR"))) << run->output;
    EXPECT_THAT(run->output, Not(HasSubstr("WARNING"))) << run->output;
  }

  std::string gst_launch_;
  asio::io_context io_;
  AsioClock clock_{io_};
};

// Verifies that GStreamer's PCMU payloader, fed kBuffers buffers of 20 ms,
// sends kBuffers packets that RtpReceiver finds clean: payload type 0, one
// SSRC, no loss, duplicates or reordering, timestamps stepping by 160.
TEST_F(GStreamerRtpTest, ReceiverChecksGStreamerPcmuStream) {
  udp::socket socket(io_, udp::endpoint(asio::ip::address_v4::loopback(), 0));
  const uint16_t port = socket.local_endpoint().port();

  BackgroundProcess gst({gst_launch_,
                         "audiotestsrc",
                         absl::StrCat("num-buffers=", kBuffers),
                         "samplesperbuffer=160",
                         "!",
                         "audioconvert",
                         "!",
                         "audioresample",
                         "!",
                         "audio/x-raw,rate=8000,channels=1",
                         "!",
                         "mulawenc",
                         "!",
                         "rtppcmupay",
                         "min-ptime=20000000",
                         "max-ptime=20000000",
                         "!",
                         "udpsink",
                         "host=127.0.0.1",
                         absl::StrCat("port=", port)},
                        kProcessTimeout);

  RtpReceiver receiver(*CodecByName("PCMU", 0));
  std::vector<RtpPacket> packets;
  std::array<char, 2048> buffer;
  udp::endpoint from;
  std::function<void()> receive = [&] {
    socket.async_receive_from(
        asio::buffer(buffer), from,
        [&](const boost::system::error_code& ec, size_t size) {
          if (ec) return;
          const RtpPacket* packet = receiver.OnPacket(
              absl::string_view(buffer.data(), size), clock_.Now());
          if (packet != nullptr) packets.push_back(*packet);
          receive();
        });
  };
  receive();
  // Until every packet is in, or GStreamer has exited and nothing came for a
  // second, or the overall limit.
  const absl::Duration deadline = clock_.Now() + kProcessTimeout;
  absl::Duration quiet_since = clock_.Now();
  uint64_t seen = 0;
  while (packets.size() < kBuffers && clock_.Now() < deadline) {
    io_.run_for(std::chrono::milliseconds(100));
    if (receiver.stats().packets + receiver.stats().malformed != seen) {
      seen = receiver.stats().packets + receiver.stats().malformed;
      quiet_since = clock_.Now();
    }
    if (gst.done() && clock_.Now() - quiet_since > absl::Seconds(1)) break;
  }
  socket.close();
  io_.restart();
  io_.run();
  ExpectCleanRun(gst.Wait());

  const RtpStats& stats = receiver.stats();
  EXPECT_EQ(stats.packets, static_cast<uint64_t>(kBuffers));
  EXPECT_EQ(stats.malformed, 0u);
  EXPECT_EQ(stats.lost, 0u);
  EXPECT_EQ(stats.duplicates, 0u);
  EXPECT_EQ(stats.reordered, 0u);
  EXPECT_EQ(stats.wrong_payload_type, 0u);
  EXPECT_EQ(stats.ssrc_changes, 0u);
  EXPECT_EQ(stats.stalled_timestamps, 0u);
  EXPECT_EQ(stats.partial_frame_steps, 0u);
  EXPECT_EQ(stats.bytes, 160u * kBuffers);
  // udpsink syncs to the pipeline clock: about 50 packets a second (loose, for
  // a loaded machine).
  EXPECT_GT(stats.packets_per_second(), 30);
  EXPECT_LT(stats.packets_per_second(), 80);
  std::cout << absl::StrFormat("received %d packets, %.1f/s, jitter %.3f ms\n",
                               stats.packets, stats.packets_per_second(),
                               stats.jitter_ms);
  ASSERT_FALSE(packets.empty());
  for (size_t i = 1; i < packets.size(); ++i) {
    EXPECT_EQ(packets[i].payload_type, 0);
    EXPECT_EQ(packets[i].ssrc, packets[0].ssrc);
    EXPECT_EQ(
        static_cast<uint16_t>(packets[i].sequence - packets[i - 1].sequence), 1)
        << "packet " << i;
    EXPECT_EQ(packets[i].timestamp - packets[i - 1].timestamp, 160u)
        << "packet " << i;
    EXPECT_EQ(packets[i].payload.size(), 160u);
  }
}

// Verifies that GStreamer's PCMU depayloader and decoder accept RtpSender's
// stream: exit 0 after kBuffers packets (udpsrc num-buffers), no error or
// warning, and kBuffers * 160 samples of 16 bits decoded.
TEST_F(GStreamerRtpTest, GStreamerDecodesSenderStream) {
  const char* tmpdir = std::getenv("TEST_TMPDIR");
  const std::string decoded =
      absl::StrCat(tmpdir != nullptr ? tmpdir : "/tmp", "/gst_decoded.raw");
  std::remove(decoded.c_str());
  const uint16_t port = FreeUdpPort();

  BackgroundProcess gst(
      {gst_launch_, "udpsrc", "address=127.0.0.1", absl::StrCat("port=", port),
       absl::StrCat("num-buffers=", kBuffers), absl::StrCat("caps=", kPcmuCaps),
       "!", "rtppcmudepay", "!", "mulawdec", "!", "filesink",
       absl::StrCat("location=", decoded)},
      kProcessTimeout);
  // udpsrc binds while the pipeline starts; wait for the port (bounded), not a
  // fixed time.
  const absl::Time ready_by = absl::Now() + absl::Seconds(10);
  while (!UdpPortBound(port) && !gst.done() && absl::Now() < ready_by) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  ASSERT_TRUE(UdpPortBound(port)) << "udpsrc never bound port " << port;

  udp::socket socket(io_, udp::endpoint(asio::ip::address_v4::loopback(), 0));
  const udp::endpoint to(asio::ip::address_v4::loopback(), port);
  RtpSender sender(*CodecByName("PCMU", 0), 0x7A1C0001, 40000, 123456);
  // Paced on the real clock: packet i at start + i * 20 ms.
  int sent = 0;
  std::unique_ptr<Timer> timer;
  const absl::Duration start = clock_.Now();
  std::function<void()> send_next = [&] {
    socket.send_to(asio::buffer(sender.Next().Serialize()), to);
    if (++sent == kBuffers) return;
    timer = clock_.CallAfter(start + kFrame * sent - clock_.Now(), send_next);
  };
  send_next();
  io_.run_for(absl::ToChronoNanoseconds(kFrame * kBuffers + absl::Seconds(5)));
  EXPECT_EQ(sent, kBuffers);

  ExpectCleanRun(gst.Wait());
  std::ifstream file(decoded, std::ios::binary | std::ios::ate);
  ASSERT_TRUE(file.good()) << "no decoded output at " << decoded;
  // mulawdec: one S16 sample per PCMU byte.
  EXPECT_EQ(static_cast<int64_t>(file.tellg()), int64_t{kBuffers} * 160 * 2);
}

}  // namespace
}  // namespace talkcheck::integration
