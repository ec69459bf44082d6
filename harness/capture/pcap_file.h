// A capture file that Wireshark and tshark open: packets synthesised from what
// talkcheck saw (datagrams, TCP byte streams), written through libpcap as
// Ethernet frames with IPv4 or IPv6 and UDP or TCP headers, checksums right.
//
// TCP streams are given a handshake, sequence and acknowledgement numbers,
// segments of at most kMaxSegment bytes and a FIN exchange, so that the
// dissectors reassemble them as they would a live capture.
//
// Thread-safe: scenarios running at once share one file.
//
// Example:
//   absl::StatusOr<std::unique_ptr<PcapFile>> file = PcapFile::Create(path);
//   (*file)->WriteUdp(absl::Now(), from, to, datagram);
//   PcapFile::TcpFlow flow = (*file)->OpenTcp(absl::Now(), client, server);
//   (*file)->WriteTcp(absl::Now(), flow, /*from_client=*/true, "<stream...");
//   (*file)->CloseTcp(absl::Now(), flow);
#ifndef TALKCHECK_HARNESS_CAPTURE_PCAP_FILE_H_
#define TALKCHECK_HARNESS_CAPTURE_PCAP_FILE_H_

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

struct pcap;
struct pcap_dumper;

namespace talkcheck::harness {

// An IP address and port, of either family.
struct IpEndpoint {
  boost::asio::ip::address address;
  uint16_t port = 0;
};

class PcapFile {
 public:
  // TCP payload bytes per segment.
  static constexpr size_t kMaxSegment = 16384;

  // kUnavailable when the file cannot be written.
  static absl::StatusOr<std::unique_ptr<PcapFile>> Create(
      const std::string& path);
  ~PcapFile();

  void WriteUdp(absl::Time time, const IpEndpoint& from, const IpEndpoint& to,
                absl::string_view payload);

  // One TCP connection; its handshake is written when it is opened.
  using TcpFlow = uint64_t;
  TcpFlow OpenTcp(absl::Time time, const IpEndpoint& client,
                  const IpEndpoint& server);
  void WriteTcp(absl::Time time, TcpFlow flow, bool from_client,
                absl::string_view payload);
  // FIN from the client, FIN+ACK from the server, ACK. Unknown or closed
  // flows are ignored.
  void CloseTcp(absl::Time time, TcpFlow flow);

  // Packets written so far.
  uint64_t packets() const;

 private:
  struct Flow {
    IpEndpoint client;
    IpEndpoint server;
    uint32_t client_next = 0;  // next sequence number each side sends
    uint32_t server_next = 0;
  };

  PcapFile(pcap* handle, pcap_dumper* dumper);
  void WriteTcpSegment(absl::Time time, const Flow& flow, bool from_client,
                       uint8_t flags, absl::string_view payload);
  void WriteIp(absl::Time time, const IpEndpoint& from, const IpEndpoint& to,
               uint8_t protocol, std::string transport);

  mutable std::mutex mu_;
  pcap* handle_;
  pcap_dumper* dumper_;
  std::map<TcpFlow, Flow> flows_;
  TcpFlow next_flow_ = 1;
  uint64_t packets_ = 0;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_CAPTURE_PCAP_FILE_H_
