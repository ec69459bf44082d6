#include "harness/capture/world_capture.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace talkcheck::harness {
namespace {

IpEndpoint FromTcp(const boost::asio::ip::tcp::endpoint& endpoint) {
  return IpEndpoint{endpoint.address(), endpoint.port()};
}

IpEndpoint FromUdp(const media_sim::UdpEndpoint& endpoint) {
  return IpEndpoint{endpoint.address(), endpoint.port()};
}

}  // namespace

WorldCapture::WorldCapture(PcapFile& file, fake_server::FakeServer& server,
                           std::string cut_username)
    : file_(file), server_(server), cut_username_(std::move(cut_username)) {
  observer_id_ = server_.router().AddObserver(
      [this](const fake_server::RoutedStanza& routed) { OnRouted(routed); });
}

WorldCapture::~WorldCapture() {
  server_.router().RemoveObserver(observer_id_);
  const absl::Time now = absl::Now();
  for (const auto& [jid, flow] : peers_) {
    file_.WriteTcp(now, flow, true, "</stream:stream>");
    file_.WriteTcp(now, flow, false, "</stream:stream>");
    file_.CloseTcp(now, flow);
  }
  for (const auto& [id, connection] : connections_)
    file_.CloseTcp(now, connection.flow);
}

media_sim::TappedNetwork::Tap WorldCapture::UdpTap() {
  return [file = &file_](const media_sim::UdpEndpoint& from,
                         const media_sim::UdpEndpoint& to,
                         absl::string_view datagram) {
    file->WriteUdp(absl::Now(), FromUdp(from), FromUdp(to), datagram);
  };
}

void WorldCapture::OnOpen(uint64_t connection,
                          const boost::asio::ip::tcp::endpoint& client,
                          const boost::asio::ip::tcp::endpoint& server) {
  Connection& c = connections_[connection];
  c.client = FromTcp(client);
  c.server = FromTcp(server);
  c.flow = file_.OpenTcp(absl::Now(), c.client, c.server);
}

void WorldCapture::OnBytes(uint64_t connection, bool from_client,
                           absl::string_view bytes) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  file_.WriteTcp(absl::Now(), it->second.flow, from_client, bytes);
}

void WorldCapture::OnTlsEstablished(uint64_t connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  const absl::Time now = absl::Now();
  file_.CloseTcp(now, it->second.flow);
  it->second.flow = file_.OpenTcp(now, it->second.client, it->second.server);
}

void WorldCapture::OnClose(uint64_t connection) {
  auto it = connections_.find(connection);
  if (it == connections_.end()) return;
  file_.CloseTcp(absl::Now(), it->second.flow);
  connections_.erase(it);
}

void WorldCapture::OnRouted(const fake_server::RoutedStanza& routed) {
  if (routed.endpoint.local() == cut_username_) return;  // on the wire tap
  const std::string jid = routed.endpoint.ToString();
  const absl::Time now = absl::Now();
  auto it = peers_.find(jid);
  if (it == peers_.end()) {
    const std::vector<std::string> endpoints = server_.endpoints();
    boost::system::error_code ec;
    const std::string host =
        endpoints.empty()
            ? "127.0.0.1"
            : endpoints.front().substr(0, endpoints.front().rfind(':'));
    IpEndpoint server{
        boost::asio::ip::make_address(host.size() > 2 && host.front() == '['
                                          ? host.substr(1, host.size() - 2)
                                          : host,
                                      ec),
        server_.port()};
    if (ec) return;
    IpEndpoint client{server.address, next_peer_port_--};
    const PcapFile::TcpFlow flow = file_.OpenTcp(now, client, server);
    const std::string domain = server_.config().domain();
    file_.WriteTcp(
        now, flow, true,
        absl::StrCat(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' to='",
            domain, "' version='1.0'>"));
    file_.WriteTcp(
        now, flow, false,
        absl::StrCat(
            "<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
            "xmlns:stream='http://etherx.jabber.org/streams' from='",
            domain, "' id='talkcheck-peer-", peers_.size() + 1,
            "' version='1.0'>"));
    it = peers_.emplace(jid, flow).first;
  }
  const bool from_peer =
      routed.direction == fake_server::RoutedStanza::Direction::kFromEndpoint;
  file_.WriteTcp(now, it->second, from_peer, routed.stanza.ToString());
}

}  // namespace talkcheck::harness
