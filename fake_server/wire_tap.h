// A view of the bytes on the server's TCP connections, for captures (the
// harness's --pcap): what each client sent and what the server wrote to it,
// as plaintext. After STARTTLS the bytes are those inside TLS, decrypted, so
// that a capture shows the XMPP a client spoke rather than ciphertext.
#ifndef TALKCHECK_FAKE_SERVER_WIRE_TAP_H_
#define TALKCHECK_FAKE_SERVER_WIRE_TAP_H_

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace talkcheck::fake_server {

// Called on the server's io thread. `connection` numbers the server's TCP
// connections from 1 in the order they were accepted.
class WireTap {
 public:
  virtual ~WireTap() = default;

  virtual void OnOpen(uint64_t connection,
                      const boost::asio::ip::tcp::endpoint& client,
                      const boost::asio::ip::tcp::endpoint& server) = 0;
  // Bytes read from the client, or written to it (`from_client` false), in
  // order per direction.
  virtual void OnBytes(uint64_t connection, bool from_client,
                       absl::string_view bytes) = 0;
  // The TLS handshake succeeded: the bytes that follow were encrypted on the
  // wire.
  virtual void OnTlsEstablished(uint64_t connection) = 0;
  virtual void OnClose(uint64_t connection) = 0;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_WIRE_TAP_H_
