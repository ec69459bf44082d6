// RtpReceiver's figures against Wireshark's RTP analysis (tshark -z
// rtp,streams) of the same packets.
//
// RtpSender sends a 20 ms paced PCMU stream over 127.0.0.1 to RtpReceiver with
// faults injected in the sender: three sequence numbers never sent and four
// packets held back by 3 to 12 ms (less than a frame, so nothing is reordered).
// tshark captures it live on `lo`. The receiver reads kernel receive timestamps
// (SO_TIMESTAMPNS), taken in the same softirq pass over the loopback as the
// capture's, so both see nearly the same arrival times.
//
// Fallback: where live capture is impossible (no capture rights in a sandbox),
// the test writes the pcap itself from the packets received (Ethernet + IPv4 +
// UDP, kernel timestamps) and says so in the log and the `capture` property.
// The written pcap is also checked when live capture works, as a self-test of
// the writer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/asio_clock.h"
#include "harness/capture/pcap_file.h"
#include "media_sim/rtp.h"
#include "tests/subprocess.h"

namespace talkcheck::integration {
namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using media_sim::CodecByName;
using media_sim::RtpReceiver;
using media_sim::RtpSender;
using media_sim::RtpStats;

constexpr int kSequenceNumbers = 100;  // 2 s at 20 ms
constexpr absl::Duration kFrame = absl::Milliseconds(20);
constexpr uint32_t kSsrc = 0x7C0FFEE5;
// Indices the sender skips (consumed, never sent): lost for both analyses.
const std::set<int> kSkipped = {25, 50, 51};
// Indices the sender holds back, and by how much.
const std::vector<std::pair<int, absl::Duration>> kDelayed = {
    {10, absl::Milliseconds(6)},
    {40, absl::Milliseconds(12)},
    {70, absl::Milliseconds(9)},
    {80, absl::Milliseconds(3)}};
constexpr int kSent = kSequenceNumbers - 3;
constexpr absl::Duration kProcessTimeout = absl::Seconds(25);

// Agreement with tshark. Counts must be exact. Jitter: within 0.1 ms or 10%,
// whichever is larger. Both sides use kernel timestamps of the same packets
// (observed differences are a few microseconds); tshark prints 3 decimals.
constexpr double kJitterToleranceMs = 0.1;
constexpr double kJitterToleranceRatio = 0.10;

std::string TempPath(absl::string_view name) {
  const char* tmpdir = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmpdir != nullptr ? tmpdir : "/tmp", "/", name);
}

// One datagram as the receiver saw it.
struct Received {
  absl::Time time;  // kernel receive time
  std::string data;
};

// Writes `packets` as a capture of IPv4/UDP datagrams from
// 127.0.0.1:`source_port` to 127.0.0.1:`dest_port`.
bool WritePcap(const std::string& path, const std::vector<Received>& packets,
               uint16_t source_port, uint16_t dest_port) {
  absl::StatusOr<std::unique_ptr<talkcheck::harness::PcapFile>> file =
      talkcheck::harness::PcapFile::Create(path);
  if (!file.ok()) return false;
  const auto loopback = boost::asio::ip::make_address("127.0.0.1");
  for (const Received& packet : packets) {
    (*file)->WriteUdp(
        packet.time, talkcheck::harness::IpEndpoint{loopback, source_port},
        talkcheck::harness::IpEndpoint{loopback, dest_port}, packet.data);
  }
  return true;
}

// One row of `tshark -z rtp,streams`.
struct TsharkStream {
  int64_t packets = -1;
  int64_t lost = -1;
  double max_jitter_ms = -1;
  double mean_jitter_ms = -1;
};

// Finds the row of stream `ssrc`. Wireshark 4.0 prints
//   Start time  End time  Src IP addr  Port  Dest IP addr  Port  SSRC  Payload
//   Pkts  Lost  Min Delta(ms) ... Max Jitter(ms)  Problems?
// with Lost as "3 (3.0%)". The (ms) columns are taken by name from the header,
// so a reordering of them in another version still reads right.
absl::StatusOr<TsharkStream> ParseRtpStreams(absl::string_view output,
                                             uint32_t ssrc) {
  std::vector<std::string> ms_columns;
  const std::string ssrc_text = absl::StrFormat("0x%08X", ssrc);
  for (absl::string_view line : absl::StrSplit(output, '\n')) {
    if (absl::StrContains(line, "Max Jitter(ms)")) {
      // Each "(ms)" column name is the two words before it.
      std::vector<absl::string_view> words =
          absl::StrSplit(line, ' ', absl::SkipEmpty());
      for (size_t i = 1; i < words.size(); ++i) {
        if (absl::EndsWith(words[i], "(ms)")) {
          ms_columns.push_back(absl::StrCat(words[i - 1], " ", words[i]));
        }
      }
      continue;
    }
    if (!absl::StrContains(line, ssrc_text)) continue;
    if (ms_columns.empty()) return absl::NotFoundError("no header before row");
    std::vector<absl::string_view> tokens =
        absl::StrSplit(line, ' ', absl::SkipEmpty());
    size_t percent = 0;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (absl::StartsWith(tokens[i], "(") && absl::EndsWith(tokens[i], "%)")) {
        percent = i;
        break;
      }
    }
    if (percent < 2 || percent + ms_columns.size() >= tokens.size()) {
      return absl::InvalidArgumentError(absl::StrCat("bad row: ", line));
    }
    TsharkStream stream;
    if (!absl::SimpleAtoi(tokens[percent - 2], &stream.packets) ||
        !absl::SimpleAtoi(tokens[percent - 1], &stream.lost)) {
      return absl::InvalidArgumentError(absl::StrCat("bad counts: ", line));
    }
    for (size_t i = 0; i < ms_columns.size(); ++i) {
      double value = 0;
      if (!absl::SimpleAtod(tokens[percent + 1 + i], &value)) {
        return absl::InvalidArgumentError(absl::StrCat("bad number: ", line));
      }
      if (ms_columns[i] == "Max Jitter(ms)") stream.max_jitter_ms = value;
      if (ms_columns[i] == "Mean Jitter(ms)") stream.mean_jitter_ms = value;
    }
    if (stream.max_jitter_ms < 0 || stream.mean_jitter_ms < 0) {
      return absl::NotFoundError("no Max/Mean Jitter(ms) columns");
    }
    return stream;
  }
  return absl::NotFoundError(absl::StrCat("no row for SSRC ", ssrc_text));
}

class TsharkRtpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tshark_ = FindProgram("tshark");
    if (tshark_.empty()) {
      GTEST_SKIP() << "tshark not found: install tshark (tools/setup.sh)";
    }
  }

  // Runs tshark's RTP stream analysis on `pcap`, decoding `port` as RTP.
  absl::StatusOr<TsharkStream> Analyse(const std::string& pcap, uint16_t port) {
    absl::StatusOr<ProcessResult> run = RunProcess(
        {tshark_, "-n", "-r", pcap, "-d",
         absl::StrCat("udp.port==", port, ",rtp"), "-q", "-z", "rtp,streams"},
        kProcessTimeout);
    if (!run.ok()) return run.status();
    std::cout << "tshark -z rtp,streams on " << pcap << ":\n"
              << run->output << std::flush;
    if (run->exit_code != 0) {
      return absl::InternalError(absl::StrCat("tshark exit ", run->exit_code));
    }
    return ParseRtpStreams(run->output, kSsrc);
  }

  std::string tshark_;
  asio::io_context io_;
  AsioClock clock_{io_};
};

// Verifies that tshark's packet and loss counts equal RtpReceiver's exactly and
// its jitter agrees within the tolerance above.
//
// Which jitter: RtpStats::jitter_ms is the RFC 3550 A.8 estimate J after the
// last packet (what an RTCP report carries). tshark prints no such column: "Max
// Jitter" is the largest J over the stream and "Mean Jitter" the mean of J over
// every packet but the first (Wireshark's ui/tap-rtp-analysis.c, which also
// leaves out packets with the marker bit: here only the first has it). So the
// test samples RtpReceiver's J after each packet and compares the maximum with
// Max Jitter and the mean over packets 2..N with Mean Jitter. Both use the same
// A.8 recurrence, Wireshark in milliseconds, ours in timestamp units.
TEST_F(TsharkRtpTest, CountsAndJitterAgreeWithTshark) {
  udp::socket receive_socket(
      io_, udp::endpoint(asio::ip::address_v4::loopback(), 0));
  udp::socket send_socket(io_,
                          udp::endpoint(asio::ip::address_v4::loopback(), 0));
  const uint16_t port = receive_socket.local_endpoint().port();
  const uint16_t source_port = send_socket.local_endpoint().port();
  const int on = 1;
  ASSERT_EQ(setsockopt(receive_socket.native_handle(), SOL_SOCKET,
                       SO_TIMESTAMPNS, &on, sizeof(on)),
            0)
      << "SO_TIMESTAMPNS: " << errno;
  receive_socket.non_blocking(true);

  // Live capture of exactly our packets, bounded by count and duration.
  const std::string live_pcap = TempPath("live.pcap");
  std::remove(live_pcap.c_str());
  BackgroundProcess capture(
      {tshark_, "-n", "-i", "lo", "-f",
       absl::StrFormat("udp and src port %d and dst port %d", source_port,
                       port),
       "-c", absl::StrCat(kSent), "-a", "duration:20", "-F", "pcap", "-w",
       live_pcap},
      kProcessTimeout);
  // dumpcap writes the file header once the interface is open and filtering:
  // from then on our packets are captured. Bounded wait on an external process.
  const absl::Time ready_by = absl::Now() + absl::Seconds(10);
  auto capture_ready = [&] {
    std::ifstream file(live_pcap, std::ios::binary | std::ios::ate);
    return file.good() && file.tellg() > 0;
  };
  while (!capture_ready() && !capture.done() && absl::Now() < ready_by) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  const bool live = capture_ready();
  if (!live) {
    std::cout << "live capture on lo is not possible here; falling back to a "
                 "pcap written from the received packets\n";
  }
  RecordProperty("capture", live ? "live" : "written");

  RtpReceiver receiver(*CodecByName("PCMU", 0));
  std::vector<Received> received;
  std::vector<double> jitter_after;  // J after each packet, in ms
  std::function<void()> receive = [&] {
    receive_socket.async_wait(
        udp::socket::wait_read, [&](const boost::system::error_code& ec) {
          if (ec) return;
          for (;;) {
            char data[2048];
            char control[CMSG_SPACE(sizeof(timespec))];
            iovec iov{data, sizeof(data)};
            msghdr message{};
            message.msg_iov = &iov;
            message.msg_iovlen = 1;
            message.msg_control = control;
            message.msg_controllen = sizeof(control);
            const ssize_t size =
                recvmsg(receive_socket.native_handle(), &message, 0);
            if (size < 0) break;  // EAGAIN: drained
            absl::Time time = absl::Now();
            for (cmsghdr* c = CMSG_FIRSTHDR(&message); c != nullptr;
                 c = CMSG_NXTHDR(&message, c)) {
              if (c->cmsg_level == SOL_SOCKET &&
                  c->cmsg_type == SCM_TIMESTAMPNS) {
                timespec stamp;
                std::memcpy(&stamp, CMSG_DATA(c), sizeof(stamp));
                time = absl::TimeFromTimespec(stamp);
              }
            }
            received.push_back(
                {time, std::string(data, static_cast<size_t>(size))});
            receiver.OnPacket(received.back().data, time - absl::UnixEpoch());
            jitter_after.push_back(receiver.stats().jitter_ms);
          }
          receive();
        });
  };
  receive();

  // The sender: slot i at start + i * 20 ms (+ its delay); skipped slots stay
  // empty but still consume a sequence number and a timestamp step.
  RtpSender sender(*CodecByName("PCMU", 0), kSsrc, 65500, 4000000000u);
  const udp::endpoint to(asio::ip::address_v4::loopback(), port);
  int index = 0;
  std::unique_ptr<Timer> timer;
  const absl::Duration start = clock_.Now() + absl::Milliseconds(20);
  auto delay_of = [](int i) {
    for (const auto& [delayed, by] : kDelayed) {
      if (delayed == i) return by;
    }
    return absl::ZeroDuration();
  };
  std::function<void()> send_next = [&] {
    const std::string packet = sender.Next().Serialize();
    if (kSkipped.count(index) == 0) {
      send_socket.send_to(asio::buffer(packet), to);
    }
    if (++index == kSequenceNumbers) return;
    timer = clock_.CallAfter(
        start + kFrame * index + delay_of(index) - clock_.Now(), send_next);
  };
  timer = clock_.CallAfter(start - clock_.Now(), send_next);
  const absl::Duration deadline =
      clock_.Now() + kFrame * kSequenceNumbers + absl::Seconds(5);
  while (received.size() < static_cast<size_t>(kSent) &&
         clock_.Now() < deadline) {
    io_.run_for(std::chrono::milliseconds(50));
  }
  receive_socket.close();
  io_.restart();
  io_.run();

  const RtpStats& stats = receiver.stats();
  ASSERT_EQ(stats.packets, static_cast<uint64_t>(kSent));
  EXPECT_EQ(stats.lost, kSkipped.size());
  EXPECT_EQ(stats.reordered, 0u);
  EXPECT_EQ(stats.stalled_timestamps, 0u);
  EXPECT_EQ(stats.partial_frame_steps, 0u);
  ASSERT_GE(jitter_after.size(), 2u);
  const double our_max =
      *std::max_element(jitter_after.begin() + 1, jitter_after.end());
  double our_mean = 0;
  for (size_t i = 1; i < jitter_after.size(); ++i) our_mean += jitter_after[i];
  our_mean /= static_cast<double>(jitter_after.size() - 1);
  std::cout << absl::StrFormat(
      "RtpReceiver: %d packets, %d lost, final jitter %.4f ms, max %.4f ms, "
      "mean %.4f ms\n",
      stats.packets, stats.lost, stats.jitter_ms, our_max, our_mean);
  // The injected delays must show, or the comparison proves nothing: a 12 ms
  // hold-back alone lifts J by 12/16 ms.
  EXPECT_GT(our_max, 0.5);

  auto expect_agreement = [&](const TsharkStream& tshark,
                              absl::string_view which) {
    SCOPED_TRACE(which);
    EXPECT_EQ(tshark.packets, static_cast<int64_t>(stats.packets));
    EXPECT_EQ(tshark.lost, static_cast<int64_t>(stats.lost));
    auto tolerance = [](double reference) {
      return std::max(kJitterToleranceMs, kJitterToleranceRatio * reference);
    };
    EXPECT_NEAR(our_max, tshark.max_jitter_ms, tolerance(tshark.max_jitter_ms));
    EXPECT_NEAR(our_mean, tshark.mean_jitter_ms,
                tolerance(tshark.mean_jitter_ms));
    std::cout << absl::StrFormat(
        "%s: tshark %d packets, %d lost, max jitter %.3f ms (ours %.4f), mean "
        "jitter %.3f ms (ours %.4f)\n",
        which, tshark.packets, tshark.lost, tshark.max_jitter_ms, our_max,
        tshark.mean_jitter_ms, our_mean);
  };

  if (live) {
    const absl::StatusOr<ProcessResult>& run = capture.Wait();
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_FALSE(run->timed_out) << run->output;
    EXPECT_EQ(run->exit_code, 0) << run->output;
    const absl::StatusOr<TsharkStream> tshark = Analyse(live_pcap, port);
    ASSERT_TRUE(tshark.ok()) << tshark.status();
    expect_agreement(*tshark, "live capture");
  } else {
    std::cout << "tshark capture output:\n"
              << (capture.Wait().ok() ? capture.Wait()->output : "") << "\n";
  }
  const std::string written_pcap = TempPath("written.pcap");
  ASSERT_TRUE(WritePcap(written_pcap, received, source_port, port));
  const absl::StatusOr<TsharkStream> tshark = Analyse(written_pcap, port);
  ASSERT_TRUE(tshark.ok()) << tshark.status();
  expect_agreement(*tshark, "written pcap");
}

}  // namespace
}  // namespace talkcheck::integration
