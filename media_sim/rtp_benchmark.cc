// The RTP check path in packets per second on one core, next to two baselines
// from the same run: copying the same bytes (the floor any receiver pays to
// look at a packet) and ParseRtpPacket alone (the part of the check that is
// parsing).
//
//   bazel run -c opt //media_sim:rtp_benchmark
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "media_sim/rtp.h"

namespace talkcheck::media_sim {
namespace {

// One whole cycle of sequence numbers, pre-serialised: replaying it continues
// the sequence space (only the timestamp jumps, once per replay).
constexpr int kPackets = 1 << 16;

// A PCMU stream with a loss every 100 packets and a swapped pair every 250, so
// the gap and reorder branches are on the path too.
std::vector<std::string> Stream() {
  RtpSender sender(*CodecByName("PCMU", 0), 0x1234, 100, 0);
  std::vector<std::string> packets;
  for (int i = 0; i < kPackets; ++i) {
    const std::string packet = sender.Next().Serialize();
    if (i % 100 == 99) continue;
    packets.push_back(packet);
    if (i % 250 == 249)
      std::swap(packets[packets.size() - 1], packets[packets.size() - 2]);
  }
  return packets;
}

void BM_Memcpy(benchmark::State& state) {
  const std::vector<std::string> packets = Stream();
  char buffer[1500];
  size_t i = 0;
  for (auto _ : state) {
    const std::string& packet = packets[i];
    std::memcpy(buffer, packet.data(), packet.size());
    benchmark::DoNotOptimize(buffer);
    benchmark::ClobberMemory();
    if (++i == packets.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * 172);
}
BENCHMARK(BM_Memcpy);

void BM_ParseRtpPacket(benchmark::State& state) {
  const std::vector<std::string> packets = Stream();
  size_t i = 0;
  for (auto _ : state) {
    absl::StatusOr<RtpPacket> parsed = ParseRtpPacket(packets[i]);
    benchmark::DoNotOptimize(parsed);
    if (++i == packets.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRtpPacket);

// The check path: parse, sequence/loss/duplicate/reorder tracking, timestamp
// step check, jitter and rate, and the parsed packet for echo.
void BM_RtpReceiverOnPacket(benchmark::State& state) {
  const std::vector<std::string> packets = Stream();
  RtpReceiver receiver(*CodecByName("PCMU", 0));
  absl::Duration arrival;
  size_t i = 0;
  for (auto _ : state) {
    const RtpPacket* packet = receiver.OnPacket(packets[i], arrival);
    benchmark::DoNotOptimize(packet);
    arrival += absl::Milliseconds(20);
    if (++i == packets.size()) i = 0;
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["lost"] = static_cast<double>(receiver.stats().lost);
  state.counters["reordered"] = static_cast<double>(receiver.stats().reordered);
}
BENCHMARK(BM_RtpReceiverOnPacket);

}  // namespace
}  // namespace talkcheck::media_sim
