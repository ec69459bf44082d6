// A DatagramNetwork that shows every datagram its sockets send or receive to a
// tap before passing it on: how a capture (talkcheck run --pcap) sees the
// simulated peer's GICE and RTP traffic without a packet socket.
#ifndef TALKCHECK_MEDIA_SIM_TAPPED_NETWORK_H_
#define TALKCHECK_MEDIA_SIM_TAPPED_NETWORK_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "media_sim/datagram_network.h"

namespace talkcheck::media_sim {

class TappedNetwork : public DatagramNetwork {
 public:
  // Each datagram sent (`from` is the socket's own endpoint) or received (`to`
  // is), called on the socket's thread before the send or the receive
  // handler.
  using Tap = std::function<void(const UdpEndpoint& from, const UdpEndpoint& to,
                                 absl::string_view datagram)>;

  // Does not own `inner`, which must outlive every socket.
  TappedNetwork(DatagramNetwork& inner, Tap tap);

  // DatagramNetwork implementation.
  absl::StatusOr<std::unique_ptr<DatagramSocket>> Bind(
      const std::string& address) override;
  bool reaches_real_sockets() const override {
    return inner_.reaches_real_sockets();
  }

 private:
  DatagramNetwork& inner_;
  std::shared_ptr<const Tap> tap_;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_TAPPED_NETWORK_H_
