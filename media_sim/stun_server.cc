#include "media_sim/stun_server.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "media_sim/stun_message.h"

namespace talkcheck::media_sim {

namespace asio = boost::asio;
using udp = asio::ip::udp;

struct StunServer::Receiver {
  explicit Receiver(size_t size) : buffer(size) {}
  bool alive = true;
  std::vector<char> buffer;
  udp::endpoint sender;
};

absl::StatusOr<std::unique_ptr<StunServer>> StunServer::Create(
    asio::io_context& io, StunServerOptions options) {
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(options.address, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        absl::StrCat("STUN server address '", options.address,
                     "' is not an IP address: ", ec.message()));
  }
  if (options.max_datagram_bytes < kStunHeaderSize) {
    return absl::InvalidArgumentError(
        "STUN server max_datagram_bytes is smaller than a STUN header");
  }
  const udp::endpoint endpoint(address, options.port);
  // Using 'new' to access a non-public constructor.
  std::unique_ptr<StunServer> server(new StunServer(io, std::move(options)));
  server->socket_->open(endpoint.protocol(), ec);
  if (!ec) server->socket_->bind(endpoint, ec);
  if (!ec) server->local_ = server->socket_->local_endpoint(ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("STUN server cannot bind ", endpoint.address().to_string(),
                     ":", endpoint.port(), ": ", ec.message()));
  }
  server->DoReceive();
  return server;
}

StunServer::StunServer(asio::io_context& io, StunServerOptions options)
    : options_(std::move(options)),
      socket_(std::make_unique<udp::socket>(io)),
      // One spare byte tells an oversized datagram from one that fits.
      receiver_(std::make_shared<Receiver>(options_.max_datagram_bytes + 1)) {}

StunServer::~StunServer() {
  receiver_->alive = false;
  boost::system::error_code ignored;
  socket_->close(ignored);
}

void StunServer::DoReceive() {
  socket_->async_receive_from(
      asio::buffer(receiver_->buffer), receiver_->sender,
      [this, receiver = receiver_](const boost::system::error_code& ec,
                                   size_t size) {
        if (!receiver->alive || ec == asio::error::operation_aborted) return;
        if (!ec) {
          ++stats_.datagrams_received;
          if (size > options_.max_datagram_bytes) {
            ++stats_.oversized_datagrams;
          } else {
            const std::string reply =
                HandleDatagram(absl::string_view(receiver->buffer.data(), size),
                               receiver->sender);
            if (!reply.empty()) {
              boost::system::error_code send_ec;
              socket_->send_to(asio::buffer(reply), receiver->sender, 0,
                               send_ec);
              if (send_ec) ++stats_.send_errors;
            }
          }
        }
        // Errors such as ICMP port unreachable from an earlier send surface
        // here on some systems; keep serving.
        DoReceive();
      });
}

std::string StunServer::HandleDatagram(absl::string_view datagram,
                                       const udp::endpoint& from) {
  absl::StatusOr<StunMessage> request = ParseStunMessage(datagram);
  if (!request.ok()) {
    ++stats_.malformed;
    return "";
  }
  if (request->type != kStunBindingRequest) {
    ++stats_.unsupported;
    return "";
  }
  ++stats_.binding_requests;
  if (!request->unknown_attributes.empty() || request->mapped_address ||
      request->xor_mapped_address || request->error_code ||
      request->retransmit_count) {
    ++stats_.requests_with_unknown_attributes;
  }

  StunMessage response;
  response.type = kStunBindingResponse;
  response.transaction_id = request->transaction_id;
  response.username = request->username;
  response.mapped_address = from;
  if (!request->has_magic_cookie()) return response.Serialize();

  ++stats_.cookie_binding_requests;
  std::vector<StunAttribute> attributes;
  if (response.username) {
    attributes.push_back({kStunAttrUsername, *response.username});
  }
  attributes.push_back({kStunAttrMappedAddress, EncodeStunAddress(from)});
  attributes.push_back({kStunAttrXorMappedAddress,
                        EncodeStunXorAddress(from, request->transaction_id)});
  return SerializeStunAttributes(kStunBindingResponse, request->transaction_id,
                                 attributes);
}

}  // namespace talkcheck::media_sim
