// What the server needs to know of each client connection it serves, whatever
// carries it (TCP/TLS or an in-memory pipe): to apply the connection limit and
// to stop.
#ifndef TALKCHECK_FAKE_SERVER_CONNECTION_H_
#define TALKCHECK_FAKE_SERVER_CONNECTION_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace talkcheck::fake_server {

// One served client connection.
class ServedConnection {
 public:
  virtual ~ServedConnection() = default;
  // SASL has succeeded on its stream.
  virtual bool authenticated() const = 0;
  // Its stream has ended (an error or close was sent, or the transport is
  // gone); it may still be flushing or lingering, but it no longer counts
  // against limits.max_connections.
  virtual bool closed() const = 0;
  // Bytes the server has written to it that the client has not taken yet.
  virtual size_t queued_output_bytes() const = 0;
  // Ends it with a resource-constraint stream error carrying `text`, to make
  // room for a new connection (RFC 6120 §4.9.3.17).
  virtual void Evict(absl::string_view text) = 0;
  // Closes it now (server shutdown).
  virtual void Abort() = 0;
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_CONNECTION_H_
