// ClientStream's implementation, shared by client_stream.cc (the transport,
// stanza I/O, iqs and the close) and client_stream_negotiation.cc (the stream
// header, STARTTLS, SASL, resource binding and session). Internal to
// reference_client: include client_stream.h instead.
#ifndef TALKCHECK_REFERENCE_CLIENT_CLIENT_STREAM_IMPL_H_
#define TALKCHECK_REFERENCE_CLIENT_CLIENT_STREAM_IMPL_H_

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/distributions.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "reference_client/client_stream.h"
#include "reference_client/scram_client.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/stream_framer.h"

namespace talkcheck::reference_client {
namespace client_stream_internal {

inline constexpr char kIdAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

inline std::string RandomString(absl::BitGenRef bitgen,
                                absl::string_view alphabet, int length) {
  std::string out(length, 'a');
  for (char& c : out) {
    c = alphabet[absl::Uniform<size_t>(bitgen, 0, alphabet.size())];
  }
  return out;
}

}  // namespace client_stream_internal

// Everything lives here so that async handlers can keep it alive (shared_ptr)
// after the ClientStream is gone; timers hold weak pointers.
class ClientStream::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
       ClientStreamOptions options)
      : io_(io), clock_(clock), bitgen_(bitgen), options_(std::move(options)) {}

  void Connect(std::function<void(absl::Status)> on_ready);
  void Send(const xmpp::Element& stanza);
  std::string SendIq(xmpp::Element iq, absl::Duration timeout,
                     IqCallback callback);
  void Close();
  // The ClientStream is being destroyed: no more user callbacks.
  void Detach();
  std::string NextId() {
    return absl::StrCat("tc", ++id_counter_, "_",
                        client_stream_internal::RandomString(
                            bitgen_, client_stream_internal::kIdAlphabet, 4));
  }

  StanzaHandler stanza_handler_;
  std::function<void(absl::Status)> closed_handler_;
  bool ready() const { return phase_ == Phase::kReady; }
  xmpp::Jid bound_jid_;

 private:
  enum class Phase {
    kIdle,
    kConnecting,
    kAwaitFeatures,  // header sent; waiting for the server's header and
                     // features
    kAwaitProceed,   // <starttls/> sent
    kTlsHandshake,
    kSasl,     // <auth/> sent
    kBinding,  // bind (and maybe session) iqs in flight
    kReady,
    kClosing,  // our </stream:stream> is out; waiting for the server's
    kClosed,
  };
  struct PendingIq {
    std::string to;
    IqCallback callback;
    std::unique_ptr<Timer> timer;
  };

  void OnResolved(const boost::system::error_code& ec,
                  boost::asio::ip::tcp::resolver::results_type results);
  void OnConnected(const boost::system::error_code& ec);
  void ConnectInMemory();
  // The byte transport (TCP or pipe) is up: the stream starts.
  void OnTransportUp();
  // The server closed the byte transport or it broke.
  void OnTransportEnd(absl::string_view why);
  // Finish(status) from the io_context, never inside the caller.
  void FailSoon(absl::Status status);
  void SendHeader();
  void DoRead();
  void OnRead(const boost::system::error_code& ec, size_t bytes);
  void OnBytes(absl::string_view bytes);
  // A whole element from a pipe that hands elements over (OnBytes() frames
  // and parses the rest).
  void OnElement(xmpp::Element element);
  void HandleEvent(xmpp::StreamFramer::Event& event);
  void HandleElement(xmpp::Element&& element);
  void HandleFeatures(const xmpp::Element& features);
  void StartSasl(const xmpp::Element& mechanisms);
  void HandleSasl(const xmpp::Element& element);
  void StartBind();
  void StartSession();
  void BecomeReady();
  void HandleStanza(xmpp::Element&& stanza);
  bool ReplyMatches(const PendingIq& pending, const xmpp::Element& reply) const;
  void StartTls();
  void OnHandshake(const boost::system::error_code& ec);
  void Write(std::string bytes);
  // One top-level element: handed to a pipe as it is (the pipe serializes it
  // or not, by its handover), serialized for TCP.
  void WriteElement(xmpp::Element element);
  void DoWrite();
  void OnWrite(const boost::system::error_code& ec);
  // Ends the stream: closes the connection, fails pending iqs, reports
  // `status` once.
  void Finish(absl::Status status);
  void CloseTransport();

  boost::asio::io_context& io_;
  Clock& clock_;
  absl::BitGenRef bitgen_;
  ClientStreamOptions options_;

  // Made only for TCP: an in-memory stream must not wake Asio's reactor, so
  // that polling it on a virtual clock costs no system call.
  std::optional<boost::asio::ip::tcp::resolver> resolver_;
  std::optional<boost::asio::ip::tcp::socket>
      socket_;  // declared before tls_ (refers to it)
  std::unique_ptr<boost::asio::ssl::context> tls_context_;
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  // Set instead of socket_ with connect_in_memory; never carries TLS.
  std::unique_ptr<xmpp::StreamPipeEnd> pipe_;
  std::array<char, 16 * 1024> read_buffer_;
  xmpp::StreamFramer framer_;

  Phase phase_ = Phase::kIdle;
  bool reading_ = false;
  bool writing_ = false;
  bool tls_active_ = false;
  bool authenticated_ = false;
  bool session_required_ =
      false;  // RFC 3921 session offered without <optional/>
  bool close_after_write_ = false;
  bool detached_ = false;
  std::deque<std::string> write_queue_;

  std::function<void(absl::Status)> on_ready_;
  std::unique_ptr<Timer> login_timer_;
  std::unique_ptr<Timer> linger_timer_;
  std::unique_ptr<ScramSha1Client> scram_;
  bool scram_final_sent_ = false;
  bool server_final_verified_ = false;
  std::map<std::string, PendingIq> pending_;
  uint64_t id_counter_ = 0;
};

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_CLIENT_STREAM_IMPL_H_
