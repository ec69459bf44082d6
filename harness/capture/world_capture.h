// Captures one world of `talkcheck run` (harness/run_command.h) into a
// PcapFile, as a packet capture on the loopback would show it:
// - the client under test's TCP connection with the fake server, from the
//   server's WireTap. Bytes after STARTTLS are written decrypted, as a second
//   TCP connection between the same addresses that starts with the client's
//   new stream header, so that the XMPP dissector reads both halves (it would
//   take the second for TLS if it followed <proceed/> on one connection);
// - each in-process peer's stanzas as if the peer had its own TCP connection
//   to the server, from a synthetic port (kFirstPeerPort down), with a stream
//   header each way;
// - the peer's GICE (STUN) and RTP datagrams, through the UdpTap() of the
//   network its sockets come from, with their real addresses and ports.
//
// Lives on the world's io thread, as the server does; the file may be shared
// by worlds on other threads.
#ifndef TALKCHECK_HARNESS_CAPTURE_WORLD_CAPTURE_H_
#define TALKCHECK_HARNESS_CAPTURE_WORLD_CAPTURE_H_

#include <cstdint>
#include <map>
#include <string>

#include "fake_server/server.h"
#include "fake_server/wire_tap.h"
#include "harness/capture/pcap_file.h"
#include "media_sim/tapped_network.h"

namespace talkcheck::harness {

class WorldCapture : public fake_server::WireTap {
 public:
  // Synthetic client ports of the peers' connections count down from here.
  static constexpr uint16_t kFirstPeerPort = 65000;

  // Observes `server` until destroyed. Stanzas of accounts other than
  // `cut_username` (the peers) are captured from the router; the client under
  // test's from the wire tap, which the caller installs with
  // server.set_wire_tap(this). Neither `file` nor `server` is owned; both must
  // outlive the capture.
  WorldCapture(PcapFile& file, fake_server::FakeServer& server,
               std::string cut_username);
  ~WorldCapture() override;

  // For a media_sim::TappedNetwork under the peer's sockets.
  media_sim::TappedNetwork::Tap UdpTap();

  // fake_server::WireTap implementation.
  void OnOpen(uint64_t connection, const boost::asio::ip::tcp::endpoint& client,
              const boost::asio::ip::tcp::endpoint& server) override;
  void OnBytes(uint64_t connection, bool from_client,
               absl::string_view bytes) override;
  void OnTlsEstablished(uint64_t connection) override;
  void OnClose(uint64_t connection) override;

 private:
  struct Connection {
    PcapFile::TcpFlow flow = 0;
    IpEndpoint client;
    IpEndpoint server;
  };

  void OnRouted(const fake_server::RoutedStanza& routed);

  PcapFile& file_;
  fake_server::FakeServer& server_;
  std::string cut_username_;
  int observer_id_ = 0;
  std::map<uint64_t, Connection> connections_;
  // Each peer's (full JID's) synthetic connection.
  std::map<std::string, PcapFile::TcpFlow> peers_;
  uint16_t next_peer_port_ = kFirstPeerPort;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_CAPTURE_WORLD_CAPTURE_H_
