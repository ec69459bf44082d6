// The client side of an XMPP c2s stream: TCP, STARTTLS, SASL (SCRAM-SHA-1 or
// PLAIN), resource binding and RFC 3921 session, then stanzas both ways. The
// transport of the reference client.
//
// The bytes travel over TCP, or over an in-memory `xmpp::StreamPipeEnd` (see
// `connect_in_memory`) for runs with no socket on a virtual clock, which may
// also hand whole elements over instead of their bytes (timeout fuzzing);
// everything above the bytes is the same code either way.
//
// Example:
//   ClientStream stream(io, clock, options);
//   stream.set_stanza_handler([](const xmpp::Element& s) { ... });
//   stream.Connect([&](absl::Status ready) {
//     if (ready.ok()) stream.Send(presence);
//   });
//   stream.SendIq(iq, absl::Seconds(15),
//                 [](absl::StatusOr<xmpp::Element> reply) { ... });
#ifndef TALKCHECK_REFERENCE_CLIENT_CLIENT_STREAM_H_
#define TALKCHECK_REFERENCE_CLIENT_CLIENT_STREAM_H_

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/stream_pipe.h"

namespace talkcheck::reference_client {

struct ClientStreamOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 5222;
  // username@domain/resource; an empty resource asks the server to make one.
  xmpp::Jid jid;
  std::string password;
  // STARTTLS when offered; fail when it is not offered and require_tls is set.
  bool require_tls = true;
  // "SCRAM-SHA-1" (default) or "PLAIN".
  std::string sasl_mechanism = "SCRAM-SHA-1";
  // From connect to bound session.
  absl::Duration login_timeout = absl::Seconds(20);
  // When set, Connect() uses the pipe this returns instead of TCP (no TLS is
  // ever attempted on it: set require_tls = false).
  std::function<std::unique_ptr<xmpp::StreamPipeEnd>()> connect_in_memory;
};

class ClientStream {
 public:
  using StanzaHandler = std::function<void(const xmpp::Element&)>;
  using IqCallback = std::function<void(absl::StatusOr<xmpp::Element>)>;

  // Does not own `io`, `clock` or `bitgen`. Runs on `io`'s thread.
  ClientStream(boost::asio::io_context& io, Clock& clock,
               absl::BitGenRef bitgen, ClientStreamOptions options);
  ~ClientStream();

  // Connects and negotiates; `on_ready` runs once: OK when bound (and the
  // session established), or the reason it failed (kUnauthenticated for SASL
  // failure, kDeadlineExceeded for the login timeout, kUnavailable for
  // connection errors; kInvalidArgument for connect_in_memory with
  // require_tls). Never runs inside Connect().
  void Connect(std::function<void(absl::Status)> on_ready);

  // Sends a stanza (no-op when not connected). Adds an `id` to iqs that lack
  // one.
  void Send(const xmpp::Element& stanza);

  // Sends an iq get/set (assigning an id) and calls `callback` once: with the
  // result or error stanza (from the iq's `to`, RFC 6120 §8.2.3), or
  // kDeadlineExceeded after `timeout`, or kUnavailable if the stream closes
  // first. Returns the id used.
  std::string SendIq(xmpp::Element iq, absl::Duration timeout,
                     IqCallback callback);

  // Stanzas that are not replies to SendIq().
  void set_stanza_handler(StanzaHandler handler);
  // The stream ended after Connect() succeeded (error text in the status, OK
  // for a clean close by either side, Close() included). Not called after
  // destruction.
  void set_closed_handler(std::function<void(absl::Status)> handler);

  bool ready() const;
  const xmpp::Jid& bound_jid() const;
  // A fresh stanza id ("tc" + counter + random suffix).
  std::string NextId();

  // Sends </stream:stream> and closes the connection once the server answers in
  // kind (or after 2 s). Pending iqs fail with kUnavailable. Destroying the
  // stream right after Close() still lets the close finish over TCP (over a
  // pipe the server still gets the </stream:stream>, then the close);
  // destroying it otherwise closes the connection at once.
  void Close();

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_CLIENT_STREAM_H_
