#include "media_sim/tapped_network.h"

#include <utility>

namespace talkcheck::media_sim {
namespace {

class TappedSocket : public DatagramSocket {
 public:
  TappedSocket(std::unique_ptr<DatagramSocket> inner,
               std::shared_ptr<const TappedNetwork::Tap> tap)
      : inner_(std::move(inner)),
        tap_(std::move(tap)),
        local_(inner_->local_endpoint()) {}

  // DatagramSocket implementation.
  UdpEndpoint local_endpoint() const override { return local_; }

  bool SendTo(absl::string_view datagram, const UdpEndpoint& to) override {
    (*tap_)(local_, to, datagram);
    return inner_->SendTo(datagram, to);
  }

  void SetReceiveHandler(
      std::function<void(absl::string_view, const UdpEndpoint&)> handler)
      override {
    // Copies, not `this`: the handler may destroy the socket.
    inner_->SetReceiveHandler(
        [tap = tap_, local = local_, handler = std::move(handler)](
            absl::string_view datagram, const UdpEndpoint& from) {
          (*tap)(from, local, datagram);
          handler(datagram, from);
        });
  }

  void AnswerUfrag(absl::string_view ufrag) override {
    inner_->AnswerUfrag(ufrag);
  }
  void ExpectFrom(const UdpEndpoint& remote) override {
    inner_->ExpectFrom(remote);
  }

 private:
  std::unique_ptr<DatagramSocket> inner_;
  std::shared_ptr<const TappedNetwork::Tap> tap_;
  UdpEndpoint local_;
};

}  // namespace

TappedNetwork::TappedNetwork(DatagramNetwork& inner, Tap tap)
    : inner_(inner), tap_(std::make_shared<const Tap>(std::move(tap))) {}

absl::StatusOr<std::unique_ptr<DatagramSocket>> TappedNetwork::Bind(
    const std::string& address) {
  absl::StatusOr<std::unique_ptr<DatagramSocket>> socket = inner_.Bind(address);
  if (!socket.ok()) return socket.status();
  return std::unique_ptr<DatagramSocket>(
      new TappedSocket(*std::move(socket), tap_));
}

}  // namespace talkcheck::media_sim
