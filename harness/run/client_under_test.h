// How the runner starts, drives and watches a client under test (CUT).
//
// Two kinds exist: the bundled reference client, linked in and run on the
// harness's own io_context (`MakeReferenceClient`), and any other client as a
// separate process started from a command template (`MakeExternalClient`).
// Control steps (`call`, `hangup`, `answer`, `reject`) reach the reference
// client through its API and an external client as one line on its standard
// input ("call JID", "hangup", ...), which is the documented control protocol
// for clients that want to support it.
#ifndef TALKCHECK_HARNESS_RUN_CLIENT_UNDER_TEST_H_
#define TALKCHECK_HARNESS_RUN_CLIENT_UNDER_TEST_H_

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "base/clock.h"
#include "harness/scenario/scenario.pb.h"
#include "reference_client/voice_client.h"
#include "xmpp/jid.h"
#include "xmpp/stream_pipe.h"

namespace talkcheck::harness {

// Where and as whom the CUT logs in.
struct CutLogin {
  std::string host;
  uint16_t port = 0;
  xmpp::Jid jid;  // bare: username@domain
  std::string password;
  // ws://HOST:PORT/xmpp-websocket when the server has an XMPP-over-WebSocket
  // listener (RFC 7395), else empty.
  std::string websocket_url;
  // Set for in-process clients on the virtual clock: log in over the pipe this
  // returns (no TLS on it) instead of host:port. Elements may cross it whole
  // (xmpp/stream_pipe.h); a client that reads bytes only gets bytes.
  std::function<std::unique_ptr<xmpp::StreamPipeEnd>()> connect_in_memory;
};

class ClientUnderTest {
 public:
  virtual ~ClientUnderTest() = default;
  // For reports: "reference", "reference --fault=no-ack", or the command.
  virtual std::string description() const = 0;
  // Starts the client, which should then log in as `login`. Runs on the io
  // thread. `on_failure` is called (at most once, on the io thread) if the
  // client crashes, exits or loses its connection while running.
  virtual absl::Status Start(
      const CutLogin& login,
      std::function<void(const std::string&)> on_failure) = 0;
  // Performs a control step (`target` already substituted). kUnimplemented when
  // this client cannot be driven that way.
  virtual absl::Status Control(const std::string& action,
                               const std::string& target) = 0;
  // Stops the client (idempotent).
  virtual void Stop() = 0;
  // Whether the client may learn a contact's voice support by disco#info of
  // its caps before it can call it (PROTOCOL.md §7): the runner then gives it
  // time to (RunnerOptions.call_caps_wait). Unknown for an external client.
  virtual bool may_learn_caps_by_disco() const { return true; }
};

// The bundled reference client, in-process. Nothing is owned.
std::unique_ptr<ClientUnderTest> MakeReferenceClient(
    boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
    reference_client::VoiceClientOptions options);

// An external client: `command` is run by /bin/sh with {host}, {port}, {jid}
// and {password} replaced. Its output goes to `log_path` (none when empty).
std::unique_ptr<ClientUnderTest> MakeExternalClient(Clock& clock,
                                                    std::string command,
                                                    std::string log_path);

// "SIGSEGV" (or "signal N" for one without a name).
std::string SignalName(int signal);
// Why a client process ended, from waitpid's status: "client process killed
// by SIGSEGV", also when /bin/sh reports its command's death as status 128+N.
std::string ExitReason(int status);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RUN_CLIENT_UNDER_TEST_H_
