// For tests: a bare UDP socket that sends whatever bytes a test chooses
// (blocking) and records every datagram it receives, with its source. It
// stands in for a client under test, a peer or a STUN client that a test
// drives byte by byte with the codecs.
//
// Example:
//   RecordingUdpSocket client(io);
//   client.SendTo(EncodeStunMessage(request), server_endpoint);
//   RunUntil([&] { return !client.received.empty(); });
//   ParseStunMessage(client.received.back().bytes);
#ifndef TALKCHECK_MEDIA_SIM_RECORDING_UDP_SOCKET_H_
#define TALKCHECK_MEDIA_SIM_RECORDING_UDP_SOCKET_H_

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace talkcheck::media_sim {

class RecordingUdpSocket {
 public:
  using udp = boost::asio::ip::udp;

  struct Datagram {
    std::string bytes;
    udp::endpoint from;
  };

  // Bound to `address` (port chosen by the kernel); starts receiving at once.
  explicit RecordingUdpSocket(boost::asio::io_context& io,
                              const std::string& address = "127.0.0.1")
      : socket_(io, udp::endpoint(boost::asio::ip::make_address(address), 0)) {
    Arm();
  }

  udp::endpoint endpoint() const { return socket_.local_endpoint(); }

  // A send the kernel refuses fails the test.
  void SendTo(absl::string_view data, const udp::endpoint& to) {
    boost::system::error_code ec;
    socket_.send_to(boost::asio::buffer(data.data(), data.size()), to, 0, ec);
    EXPECT_FALSE(ec) << "send to " << to << ": " << ec.message();
  }

  // Every datagram received, oldest first.
  std::vector<Datagram> received;

 private:
  void Arm() {
    socket_.async_receive_from(
        boost::asio::buffer(buffer_), sender_,
        [this](const boost::system::error_code& ec, size_t size) {
          if (ec) return;
          received.push_back({std::string(buffer_.data(), size), sender_});
          Arm();
        });
  }

  udp::socket socket_;
  std::array<char, 65536> buffer_;  // the largest UDP payload
  udp::endpoint sender_;
};

}  // namespace talkcheck::media_sim

#endif  // TALKCHECK_MEDIA_SIM_RECORDING_UDP_SOCKET_H_
