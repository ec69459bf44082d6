#include "harness/capture/pcap_file.h"

#include <pcap/pcap.h>

#include <utility>

#include "absl/strings/str_cat.h"

namespace talkcheck::harness {
namespace {

constexpr uint8_t kTcp = 6;
constexpr uint8_t kUdp = 17;
constexpr uint8_t kFin = 0x01;
constexpr uint8_t kSyn = 0x02;
constexpr uint8_t kPsh = 0x08;
constexpr uint8_t kAck = 0x10;

void Put16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v & 0xFF));
}

void Put32(std::string& out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v & 0xFFFF));
}

// The one's complement sum of RFC 1071, over `data` and an initial `sum`.
uint32_t Sum(absl::string_view data, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < data.size(); i += 2) {
    sum += (static_cast<uint8_t>(data[i]) << 8) |
           static_cast<uint8_t>(data[i + 1]);
  }
  if (data.size() % 2 == 1) sum += static_cast<uint8_t>(data.back()) << 8;
  return sum;
}

uint16_t Fold(uint32_t sum) {
  while (sum > 0xFFFF) sum = (sum & 0xFFFF) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

std::string AddressBytes(const boost::asio::ip::address& address) {
  if (address.is_v4()) {
    const auto bytes = address.to_v4().to_bytes();
    return std::string(bytes.begin(), bytes.end());
  }
  const auto bytes = address.to_v6().to_bytes();
  return std::string(bytes.begin(), bytes.end());
}

// Deterministic initial sequence numbers, different per flow.
uint32_t InitialSequence(uint64_t flow, bool client) {
  return static_cast<uint32_t>(flow * 0x9E3779B1u + (client ? 1000 : 500000));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PcapFile>> PcapFile::Create(
    const std::string& path) {
  pcap_t* handle = pcap_open_dead(DLT_EN10MB, 65535);
  if (handle == nullptr) return absl::InternalError("pcap_open_dead failed");
  pcap_dumper_t* dumper = pcap_dump_open(handle, path.c_str());
  if (dumper == nullptr) {
    std::string error = pcap_geterr(handle);
    pcap_close(handle);
    return absl::UnavailableError(
        absl::StrCat("cannot write the capture ", path, ": ", error));
  }
  return std::unique_ptr<PcapFile>(new PcapFile(handle, dumper));
}

PcapFile::PcapFile(pcap* handle, pcap_dumper* dumper)
    : handle_(handle), dumper_(dumper) {}

PcapFile::~PcapFile() {
  pcap_dump_close(dumper_);
  pcap_close(handle_);
}

uint64_t PcapFile::packets() const {
  std::lock_guard<std::mutex> lock(mu_);
  return packets_;
}

void PcapFile::WriteUdp(absl::Time time, const IpEndpoint& from,
                        const IpEndpoint& to, absl::string_view payload) {
  std::string udp;
  Put16(udp, from.port);
  Put16(udp, to.port);
  Put16(udp, static_cast<uint16_t>(8 + payload.size()));
  Put16(udp, 0);  // checksum, filled in by WriteIp
  absl::StrAppend(&udp, payload);
  std::lock_guard<std::mutex> lock(mu_);
  WriteIp(time, from, to, kUdp, std::move(udp));
}

PcapFile::TcpFlow PcapFile::OpenTcp(absl::Time time, const IpEndpoint& client,
                                    const IpEndpoint& server) {
  std::lock_guard<std::mutex> lock(mu_);
  const TcpFlow id = next_flow_++;
  Flow& flow = flows_[id];
  flow.client = client;
  flow.server = server;
  flow.client_next = InitialSequence(id, true);
  flow.server_next = InitialSequence(id, false);
  WriteTcpSegment(time, flow, true, kSyn, "");
  ++flow.client_next;
  WriteTcpSegment(time, flow, false, kSyn | kAck, "");
  ++flow.server_next;
  WriteTcpSegment(time, flow, true, kAck, "");
  return id;
}

void PcapFile::WriteTcp(absl::Time time, TcpFlow id, bool from_client,
                        absl::string_view payload) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = flows_.find(id);
  if (it == flows_.end()) return;
  Flow& flow = it->second;
  while (!payload.empty()) {
    const absl::string_view segment = payload.substr(0, kMaxSegment);
    payload.remove_prefix(segment.size());
    WriteTcpSegment(time, flow, from_client, kAck | kPsh, segment);
    (from_client ? flow.client_next : flow.server_next) +=
        static_cast<uint32_t>(segment.size());
  }
}

void PcapFile::CloseTcp(absl::Time time, TcpFlow id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = flows_.find(id);
  if (it == flows_.end()) return;
  Flow& flow = it->second;
  WriteTcpSegment(time, flow, true, kFin | kAck, "");
  ++flow.client_next;
  WriteTcpSegment(time, flow, false, kFin | kAck, "");
  ++flow.server_next;
  WriteTcpSegment(time, flow, true, kAck, "");
  flows_.erase(it);
}

void PcapFile::WriteTcpSegment(absl::Time time, const Flow& flow,
                               bool from_client, uint8_t flags,
                               absl::string_view payload) {
  const IpEndpoint& from = from_client ? flow.client : flow.server;
  const IpEndpoint& to = from_client ? flow.server : flow.client;
  std::string tcp;
  Put16(tcp, from.port);
  Put16(tcp, to.port);
  Put32(tcp, from_client ? flow.client_next : flow.server_next);
  Put32(tcp, (flags & kAck) != 0
                 ? (from_client ? flow.server_next : flow.client_next)
                 : 0);
  tcp.push_back(static_cast<char>(5 << 4));  // 20-byte header, no options
  tcp.push_back(static_cast<char>(flags));
  Put16(tcp, 65535);  // window
  Put16(tcp, 0);      // checksum, filled in by WriteIp
  Put16(tcp, 0);      // urgent pointer
  absl::StrAppend(&tcp, payload);
  WriteIp(time, from, to, kTcp, std::move(tcp));
}

void PcapFile::WriteIp(absl::Time time, const IpEndpoint& from,
                       const IpEndpoint& to, uint8_t protocol,
                       std::string transport) {
  const bool v4 = from.address.is_v4();
  const std::string source = AddressBytes(from.address);
  const std::string destination = AddressBytes(to.address);
  // The transport checksum covers a pseudo-header of the addresses, the
  // protocol and the length (RFC 768, RFC 793, RFC 8200 §8.1).
  std::string pseudo = source + destination;
  if (v4) {
    pseudo.push_back(0);
    pseudo.push_back(static_cast<char>(protocol));
    Put16(pseudo, static_cast<uint16_t>(transport.size()));
  } else {
    Put32(pseudo, static_cast<uint32_t>(transport.size()));
    pseudo.append(3, '\0');
    pseudo.push_back(static_cast<char>(protocol));
  }
  uint16_t checksum = Fold(Sum(transport, Sum(pseudo)));
  if (protocol == kUdp && checksum == 0) checksum = 0xFFFF;
  const size_t checksum_at = protocol == kUdp ? 6 : 16;
  transport[checksum_at] = static_cast<char>(checksum >> 8);
  transport[checksum_at + 1] = static_cast<char>(checksum & 0xFF);

  std::string frame(12, '\0');  // destination and source MAC
  Put16(frame, v4 ? 0x0800 : 0x86DD);
  if (v4) {
    std::string ip;
    Put16(ip, 0x4500);
    Put16(ip, static_cast<uint16_t>(20 + transport.size()));
    Put16(ip, static_cast<uint16_t>(packets_));  // identification
    Put16(ip, 0x4000);                           // don't fragment
    ip.push_back(64);                            // TTL
    ip.push_back(static_cast<char>(protocol));
    Put16(ip, 0);
    absl::StrAppend(&ip, source, destination);
    const uint16_t header_checksum = Fold(Sum(ip));
    ip[10] = static_cast<char>(header_checksum >> 8);
    ip[11] = static_cast<char>(header_checksum & 0xFF);
    absl::StrAppend(&frame, ip);
  } else {
    Put32(frame, 0x60000000);
    Put16(frame, static_cast<uint16_t>(transport.size()));
    frame.push_back(static_cast<char>(protocol));
    frame.push_back(64);  // hop limit
    absl::StrAppend(&frame, source, destination);
  }
  absl::StrAppend(&frame, transport);

  pcap_pkthdr header{};
  const int64_t micros = absl::ToUnixMicros(time);
  header.ts.tv_sec = static_cast<time_t>(micros / 1000000);
  header.ts.tv_usec = static_cast<suseconds_t>(micros % 1000000);
  header.caplen = static_cast<bpf_u_int32>(frame.size());
  header.len = header.caplen;
  pcap_dump(reinterpret_cast<u_char*>(dumper_), &header,
            reinterpret_cast<const u_char*>(frame.data()));
  ++packets_;
}

}  // namespace talkcheck::harness
