// The server side of one client-to-server XMPP stream (RFC 6120), without any
// I/O.
//
// Bytes from the client go in through `OnBytes()`; everything the server says
// goes out through the `Transport` the stream was given (a TCP/TLS connection,
// or an in-memory pipe for in-process clients). The stream runs the negotiation
//
//   header → features → [STARTTLS → header → features]
//   → SASL (SCRAM-SHA-1, PLAIN) → header → features
//   → bind (client-chosen or server-made resource) → [session]
//
// and then checks each stanza (namespace, `from`) before handing it to the
// `Router`. Every violation ends the stream with the RFC's stream error and
// nothing else: other streams are unaffected. Limits (stanza size,
// authentication time, idle time) come from the server configuration.
#ifndef TALKCHECK_FAKE_SERVER_C2S_STREAM_H_
#define TALKCHECK_FAKE_SERVER_C2S_STREAM_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/clock.h"
#include "fake_server/config.pb.h"
#include "fake_server/router.h"
#include "fake_server/sasl.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"

namespace talkcheck::fake_server {

class C2sStream : public Endpoint {
 public:
  // What carries the stream's bytes. Calls may be made from inside OnBytes().
  class Transport {
   public:
    virtual ~Transport() = default;
    // Queues bytes for the client, in order.
    virtual void Write(std::string bytes) = 0;
    // Queues one top-level element for the client, in order with the bytes:
    // serialized, unless the transport hands elements over whole (an
    // in-memory pipe under StreamPipeEnd::Handover::kElements).
    virtual void WriteElement(xmpp::Element element) {
      Write(element.ToString());
    }
    // Whether WriteElement() hands elements over whole: such a transport
    // queues nothing, so max_output_queue_bytes cannot be reached.
    virtual bool TakesElements() const { return false; }
    // Bytes queued and not yet written to the client (limits.
    // max_output_queue_bytes bounds it).
    virtual size_t QueuedBytes() const = 0;
    // Drops the queued bytes not yet handed to the operating system (a client
    // that does not read is about to be closed).
    virtual void DiscardQueued() = 0;
    // After everything queued so far is written, switches the connection to TLS
    // (server side) and then calls OnTlsEstablished(), or OnTransportClosed()
    // on failure.
    virtual void StartTls() = 0;
    // Whether StartTls() can work (a TLS context exists).
    virtual bool CanStartTls() const = 0;
    // After everything queued so far is written, closes the connection; the
    // transport then calls OnTransportClosed().
    virtual void Close() = 0;
  };

  // None of the references are owned; all must outlive the stream. `bitgen`
  // makes stream ids, server-made resources and SCRAM nonces (seeded →
  // repeatable runs).
  C2sStream(const ServerConfig& config, Router& router, Clock& clock,
            Transport& transport, absl::BitGenRef bitgen);
  ~C2sStream() override;
  C2sStream(const C2sStream&) = delete;
  C2sStream& operator=(const C2sStream&) = delete;

  // Arms the authentication and idle timers. Call once, before any OnBytes().
  void Start();
  // Instead of Start(): answers at once with a stream error (e.g.
  // resource-constraint for a connection over the limit) and closes.
  void RejectAtStart(xmpp::StreamCondition condition, absl::string_view text);
  // Ends the stream with that stream error (after a header if none was sent)
  // and closes, at any point of its life (e.g. evicted at the connection
  // limit). A no-op once closed.
  void EndWithError(xmpp::StreamCondition condition, absl::string_view text);

  void OnBytes(absl::string_view data);
  // One top-level element from a client whose transport hands elements over
  // whole (xmpp/stream_pipe.h), as if OnBytes() had framed and parsed it.
  void OnElement(xmpp::Element element);
  void OnTlsEstablished();
  // The connection is gone (closed by either side): unbinds, stops timers.
  void OnTransportClosed();

  bool closed() const { return state_ == State::kClosed; }
  bool tls_active() const { return tls_active_; }
  bool authenticated() const { return !username_.empty(); }
  // The bound full JID; empty before bind.
  const xmpp::Jid& jid() const { return jid_; }

  // Endpoint implementation.
  void Deliver(xmpp::Element stanza) override;
  void Kick(absl::string_view reason) override;

 private:
  enum class State {
    kAwaitHeader,   // waiting for the client's stream header
    kOpen,          // negotiating or exchanging stanzas
    kTlsHandshake,  // <proceed/> sent; bytes belong to the TLS layer
    kClosed,  // a stream error or close was sent, or the transport is gone
  };

  void HandleHeader(const xmpp::Element& header);
  void HandleElement(xmpp::Element element);
  void HandleStartTls();
  void HandleAuth(const xmpp::Element& auth);
  void HandleSaslResponse(const xmpp::Element& response);
  void FinishSaslStep(const SaslStep& step);
  void HandleBind(const xmpp::Element& iq);
  void HandleStanza(xmpp::Element stanza);

  void SendFeatures();
  void SendStreamHeader();
  void SendSaslFailure(absl::string_view condition, absl::string_view text);
  // Sends <stream:error> (after a header if none was sent yet) and closes.
  void FailStream(xmpp::StreamCondition condition, absl::string_view text);
  void FailStream(const absl::Status& status);
  void CloseStream();
  // Stops the timers and gives the resource back: the stream carries no more
  // stanzas.
  void EndSession();
  void ArmIdleTimer();
  // Starts or stops stanza_timer_ as the framer is inside an element or not.
  void ArmStanzaTimer();
  std::string RandomToken(int length);
  bool TlsRequiredButMissing() const;
  // Notes a login step in the router's login log (LoginEvent).
  void Note(LoginEvent::Kind kind, std::string detail = "");

  const ServerConfig& config_;
  Router& router_;
  Clock& clock_;
  Transport& transport_;
  absl::BitGenRef bitgen_;

  xmpp::StreamFramer framer_;
  State state_ = State::kAwaitHeader;
  bool header_sent_ = false;
  bool tls_active_ = false;
  std::unique_ptr<SaslMechanism> sasl_;
  int sasl_failures_ = 0;
  std::string username_;  // set on SASL success
  xmpp::Jid jid_;         // set on bind
  bool bound_ = false;
  std::unique_ptr<Timer> auth_timer_;
  std::unique_ptr<Timer> idle_timer_;
  // Armed while a top-level element is incomplete (limits.stanza_timeout_ms).
  std::unique_ptr<Timer> stanza_timer_;
  int login_stream_ = 0;  // this stream's number in the login log
};

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_C2S_STREAM_H_
