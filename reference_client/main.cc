// The reference client as a program: logs in, advertises voice, answers and
// places Google Talk calls, and prints what happens. Control lines on standard
// input ("call JID", "hangup", "answer", "reject", each of the last three
// optionally with the JID of the call, "quit") follow talkcheck's
// control protocol for external clients (harness/run/client_under_test.h).
//
//   reference_client --server=127.0.0.1:5222 --jid=cut@localhost/Talk.ref
//       --password=cutpass [--fault=no-ack,late-ack] [--dialect=g2]
//       [--call=peer@localhost/Talk.v104] [--auto_answer_ms=-1]
//       [--media=echo|generate|off]
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/streambuf.hpp>
#include <csignal>
#include <cstdint>
#include <iostream>
#include <istream>
#include <memory>
#include <optional>
#include <string>

#include "absl/flags/flag.h"
#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "base/asio_clock.h"
#include "base/flag_help.h"
#include "reference_client/client_stream.h"
#include "reference_client/faults.h"
#include "reference_client/process_faults.h"
#include "reference_client/voice_client.h"
#include "xmpp/jid.h"

ABSL_FLAG(std::string, server, "127.0.0.1:5222",
          "XMPP server as HOST:PORT ([v6]:PORT for IPv6 literals)");
ABSL_FLAG(std::string, jid, "",
          "user@domain[/resource] to log in as; without a resource the server "
          "chooses one");
ABSL_FLAG(std::string, password, "", "the account's password");
ABSL_FLAG(std::string, fault, "",
          "comma-separated misbehaviours to switch on (e.g. no-ack,late-ack); "
          "an unknown name lists the valid ones");
ABSL_FLAG(std::string, dialect, "g1",
          "how outgoing calls offer transports: g1 (`candidates`) or g2 "
          "(<transport/> + transport-info); g3: libjingle >= 0.5, answers a "
          "hybrid initiate in Jingle and a G2 one in G1 (its own calls are "
          "g1)");
ABSL_FLAG(std::string, media, "echo",
          "RTP once a call is up: echo (each packet carries the newest payload "
          "received, for the peer's round-trip time), generate (own pattern) "
          "or off (send none)");
ABSL_FLAG(std::string, candidates, "host",
          "candidates each round announces: a comma list of host, stun and "
          "relay; stun and relay come from the servers google:jingleinfo "
          "lists (hosts as IP literals)");
ABSL_FLAG(int, relay_http_port, 80,
          "TCP port of the relay's HTTP create_session (jingleinfo names only "
          "the host)");
ABSL_FLAG(bool, list_faults, false,
          "print every --fault switch with what it does and the scenario "
          "that proves it, and exit");
ABSL_FLAG(std::string, call, "", "full JID to call once logged in");
ABSL_FLAG(double, time_scale, 1.0,
          "run the 15 s iq, 50 s writability, 180 s ring and 20 s generation "
          "timers this many times as long (0.1: ten times as fast)");
ABSL_FLAG(int64_t, auto_answer_ms, 0,
          "answer incoming calls after this many ms; negative waits for an "
          "`answer` control line");
ABSL_FLAG(std::string, codecs, "",
          "accept only these codecs, in this order of preference: a comma "
          "list of NAME (PCMU, PCMA, iLBC, ISAC, ...), NAME/ID or "
          "NAME/ID/CLOCKRATE (default: ISAC, iLBC, PCMU, PCMA, CN)");
ABSL_FLAG(std::string, answer_after, "",
          "answer incoming calls after this long (e.g. 0s, 5s), or 'never' to "
          "ring until an `answer` or `reject` control line; when set, it "
          "replaces --auto_answer_ms");
ABSL_FLAG(std::string, hangup_after, "",
          "hang up each call this long after it is accepted (e.g. 3s), as if "
          "the user did; default: only a `hangup` control line hangs up");
ABSL_FLAG(bool, voice_caps_from_disco, false,
          "learn a contact's voice support from disco#info of its caps "
          "node#voice-v1, and refuse to call it before the answer (as "
          "gabble and libpurple do)");
ABSL_FLAG(bool, require_tls, true,
          "fail the login when the server does not offer STARTTLS");
ABSL_FLAG(std::string, sasl, "SCRAM-SHA-1",
          "SASL mechanism: SCRAM-SHA-1 or PLAIN");
ABSL_FLAG(int64_t, login_timeout_ms, 20000,
          "give up when not logged in within this many ms");

namespace talkcheck::reference_client {
namespace {

namespace asio = boost::asio;

// How long a clean close may take before the program exits anyway.
constexpr absl::Duration kExitLinger = absl::Seconds(3);

absl::string_view EventName(CallEvent::Type type) {
  switch (type) {
    case CallEvent::Type::kIncoming:
      return "incoming";
    case CallEvent::Type::kRinging:
      return "ringing";
    case CallEvent::Type::kAccepted:
      return "accepted";
    case CallEvent::Type::kWritable:
      return "writable";
    case CallEvent::Type::kTerminated:
      return "terminated";
    case CallEvent::Type::kRejected:
      return "rejected";
  }
  return "unknown";
}

// "host:port" or "[v6]:port".
absl::Status ParseServer(absl::string_view text, ClientStreamOptions& options) {
  const size_t colon = text.rfind(':');
  uint32_t port = 0;
  if (colon == absl::string_view::npos ||
      !absl::SimpleAtoi(text.substr(colon + 1), &port) || port == 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--server must be HOST:PORT, not '", text, "'"));
  }
  absl::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) return absl::InvalidArgumentError("--server: empty host");
  options.host = std::string(host);
  options.port = static_cast<uint16_t>(port);
  return absl::OkStatus();
}

class Program {
 public:
  Program() : clock_(io_), signals_(io_, SIGINT, SIGTERM), input_(io_) {}

  int Run(ClientStreamOptions stream_options, VoiceClientOptions voice_options,
          std::string call, absl::Duration hangup_after) {
    voice_options_ = std::move(voice_options);
    call_ = std::move(call);
    hangup_after_ = hangup_after;
    stream_ = std::make_unique<ClientStream>(io_, clock_, bitgen_,
                                             std::move(stream_options));
    stream_->set_closed_handler([this](absl::Status status) {
      Print(absl::StrCat("closed ", status.ok() ? "ok" : status.ToString()));
      if (!status.ok()) exit_code_ = 1;
      io_.stop();
    });
    stream_->Connect([this](absl::Status status) { OnReady(status); });
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) Quit();
    });
    io_.run();
    flood_.reset();
    voice_.reset();
    stream_.reset();
    return exit_code_;
  }

 private:
  void OnReady(const absl::Status& status) {
    if (!status.ok()) {
      std::cerr << "login failed: " << status << std::endl;
      exit_code_ = 1;
      io_.stop();
      return;
    }
    Print(absl::StrCat("ready ", stream_->bound_jid().ToString()));
    voice_ = std::make_unique<VoiceClient>(io_, clock_, bitgen_, *stream_,
                                           voice_options_);
    voice_->set_event_handler([this](const CallEvent& event) {
      Print(absl::StrCat("event ", EventName(event.type), " sid=", event.sid,
                         " reason=", event.reason));
      if (event.media.has_value()) PrintMedia(event.sid, *event.media);
      if (event.type == CallEvent::Type::kAccepted) ScheduleHangup();
      if (event.type == CallEvent::Type::kIncoming) {
        absl::StatusOr<xmpp::Jid> caller = xmpp::Jid::Parse(event.reason);
        if (caller.ok()) {
          flood_ = CommitProcessFaultsOnInitiate(voice_options_.faults, clock_,
                                                 *stream_, *caller);
        }
      }
    });
    voice_->Start();
    StartInput();
    if (!call_.empty()) Control(absl::StrCat("call ", call_));
  }

  // --hangup_after: a user who ends the call after a while, so that two
  // reference clients can hold a whole call without anyone typing.
  void ScheduleHangup() {
    if (hangup_after_ == absl::InfiniteDuration()) return;
    hangup_timer_ =
        clock_.CallAfter(hangup_after_, [this] { Control("hangup"); });
  }

  void StartInput() {
    boost::system::error_code ec;
    input_.assign(::dup(STDIN_FILENO), ec);
    // Regular files and /dev/null cannot be watched by epoll: then there is
    // simply no control from stdin.
    if (ec) return;
    ReadLine();
  }

  void ReadLine() {
    asio::async_read_until(input_, input_buffer_, '\n',
                           [this](const boost::system::error_code& ec, size_t) {
                             if (ec)
                               return;  // EOF: keep running without control
                             std::istream stream(&input_buffer_);
                             std::string line;
                             std::getline(stream, line);
                             Control(line);
                             ReadLine();
                           });
  }

  void Control(absl::string_view line) {
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) return;
    const size_t space = line.find(' ');
    const absl::string_view action = line.substr(0, space);
    const absl::string_view argument =
        space == absl::string_view::npos
            ? absl::string_view()
            : absl::StripAsciiWhitespace(line.substr(space + 1));
    absl::Status status;
    if (voice_ == nullptr) {
      status = absl::FailedPreconditionError("not logged in");
    } else if (action == "call") {
      absl::StatusOr<xmpp::Jid> callee = xmpp::Jid::Parse(argument);
      status = callee.ok() ? voice_->Call(*callee) : callee.status();
    } else if (action == "hangup" || action == "answer" || action == "reject") {
      // An optional JID picks the call ("answer alice@host/res").
      std::optional<xmpp::Jid> remote;
      absl::StatusOr<xmpp::Jid> jid = xmpp::Jid::Parse(argument);
      if (!argument.empty() && jid.ok()) remote = *jid;
      if (!argument.empty() && !jid.ok()) {
        status = jid.status();
      } else if (action == "hangup") {
        status = voice_->Hangup(remote);
      } else if (action == "answer") {
        status = voice_->Answer(remote);
      } else {
        status = voice_->Reject(remote);
      }
    } else if (action == "quit") {
      return Quit();
    } else {
      status = absl::InvalidArgumentError(absl::StrCat(
          "unknown control '", action,
          "' (call JID, hangup [JID], answer [JID], reject [JID], quit)"));
    }
    Print(status.ok() ? absl::StrCat("ok ", line)
                      : absl::StrCat("error ", line, ": ", status.message()));
  }

  void Quit() {
    flood_.reset();
    voice_.reset();
    stream_->Close();
    exit_timer_ = clock_.CallAfter(kExitLinger, [this] { io_.stop(); });
  }

  static void Print(const std::string& line) { std::cout << line << std::endl; }

  // One line of a finished call's RTP figures.
  static void PrintMedia(const std::string& sid, const CallMediaStats& media) {
    const media_sim::RtpStats& in = media.received;
    Print(absl::StrCat(
        "media sid=", sid, " send=", media.send_codec.name, "/",
        media.sent_payload_type, " sent=", media.packets_sent,
        " echoed=", media.echoed, " receive=", media.receive_codec.name, "/",
        media.receive_codec.payload_type, " received=", in.packets,
        " lost=", in.lost, " wrong_payload_type=", in.wrong_payload_type,
        " ssrc_changes=", in.ssrc_changes,
        " jitter_ms=", absl::StrFormat("%.2f", in.jitter_ms)));
  }

  asio::io_context io_;
  AsioClock clock_;
  absl::BitGen bitgen_;
  asio::signal_set signals_;
  asio::posix::stream_descriptor input_;
  asio::streambuf input_buffer_;
  VoiceClientOptions voice_options_;
  std::unique_ptr<MessageFlood> flood_;
  std::string call_;
  absl::Duration hangup_after_ = absl::InfiniteDuration();
  std::unique_ptr<Timer> hangup_timer_;
  std::unique_ptr<ClientStream> stream_;
  std::unique_ptr<VoiceClient> voice_;
  std::unique_ptr<Timer> exit_timer_;
  int exit_code_ = 0;
};

// The fault catalogue: per fault, its switch, what it does and the tests
// that prove the harness catches it (fault_table_test reads this format).
void ListFaults() {
  std::cout << "Faults (--fault=NAME[,NAME...]); each is caught by the "
               "scenario named, run as the Bazel test named:\n";
  for (Fault fault : AllFaults()) {
    const FaultInfo& info = GetFaultInfo(fault);
    std::cout << "\n"
              << info.name << "\n    " << info.description
              << "\n    proof: scenarios/" << info.proof
              << ".xml (bazel test //scenarios:fault_"
              << absl::StrReplaceAll(info.name, {{"-", "_"}}) << ")\n";
    if (!info.fuzz_proof.empty()) {
      std::cout << "    fuzz proof: scenarios/" << info.fuzz_proof
                << ".xml (bazel test //scenarios:fuzz_proof_"
                << absl::StrReplaceAll(info.name, {{"-", "_"}}) << ")\n";
    }
  }
}

int Main(int argc, char** argv) {
  talkcheck::ParseCommandLine(
      argc, argv, "reference_client/",
      "A Google Talk voice client (libjingle 0.4 behaviour) for talkcheck. "
      "Logs in to --server as --jid, advertises voice, answers and places "
      "calls. Prints `ready JID`, `event TYPE sid=.. reason=..`, `media ..` "
      "and `closed ..` lines; reads `call JID`, `hangup`, `answer`, "
      "`reject`, `quit` on stdin. Exits 0 after `quit` or a signal, 1 when "
      "the login or the stream fails, 2 on a bad flag.");
  if (absl::GetFlag(FLAGS_list_faults)) {
    ListFaults();
    return 0;
  }

  ClientStreamOptions stream_options;
  if (absl::Status s = ParseServer(absl::GetFlag(FLAGS_server), stream_options);
      !s.ok()) {
    std::cerr << s.message() << std::endl;
    return 2;
  }
  absl::StatusOr<xmpp::Jid> jid = xmpp::Jid::Parse(absl::GetFlag(FLAGS_jid));
  if (!jid.ok() || jid->local().empty()) {
    std::cerr << "--jid must be user@domain[/resource]"
              << (jid.ok() ? "" : absl::StrCat(": ", jid.status().message()))
              << std::endl;
    return 2;
  }
  stream_options.jid = *jid;
  stream_options.password = absl::GetFlag(FLAGS_password);
  stream_options.require_tls = absl::GetFlag(FLAGS_require_tls);
  stream_options.sasl_mechanism = absl::GetFlag(FLAGS_sasl);
  stream_options.login_timeout =
      absl::Milliseconds(absl::GetFlag(FLAGS_login_timeout_ms));

  VoiceClientOptions voice_options;
  absl::StatusOr<FaultSet> faults = ParseFaults(absl::GetFlag(FLAGS_fault));
  if (!faults.ok()) {
    std::cerr << "--fault: " << faults.status().message() << std::endl;
    return 2;
  }
  voice_options.faults = *std::move(faults);
  const std::string dialect = absl::GetFlag(FLAGS_dialect);
  if (dialect == "g1") {
    voice_options.dialect = VoiceClientOptions::Dialect::kG1;
  } else if (dialect == "g2") {
    voice_options.dialect = VoiceClientOptions::Dialect::kG2;
  } else if (dialect == "g3") {
    voice_options.dialect = VoiceClientOptions::Dialect::kG3;
  } else {
    std::cerr << "--dialect must be g1, g2 or g3, not '" << dialect << "'"
              << std::endl;
    return 2;
  }
  const std::string media = absl::GetFlag(FLAGS_media);
  if (media == "echo") {
    voice_options.media_mode = VoiceClientOptions::MediaMode::kEcho;
  } else if (media == "generate") {
    voice_options.media_mode = VoiceClientOptions::MediaMode::kGenerate;
  } else if (media == "off") {
    voice_options.media_mode = VoiceClientOptions::MediaMode::kOff;
  } else {
    std::cerr << "--media must be echo, generate or off, not '" << media << "'"
              << std::endl;
    return 2;
  }
  absl::StatusOr<VoiceClientOptions::CandidateTypes> candidates =
      ParseCandidateTypes(absl::GetFlag(FLAGS_candidates));
  if (!candidates.ok()) {
    std::cerr << "--candidates: " << candidates.status().message() << std::endl;
    return 2;
  }
  voice_options.candidates = *candidates;
  const int relay_http_port = absl::GetFlag(FLAGS_relay_http_port);
  if (relay_http_port <= 0 || relay_http_port > 65535) {
    std::cerr << "--relay_http_port must be 1..65535" << std::endl;
    return 2;
  }
  voice_options.relay_http_port = static_cast<uint16_t>(relay_http_port);
  const int64_t auto_answer_ms = absl::GetFlag(FLAGS_auto_answer_ms);
  voice_options.auto_answer_after = auto_answer_ms < 0
                                        ? absl::InfiniteDuration()
                                        : absl::Milliseconds(auto_answer_ms);
  if (const std::string after = absl::GetFlag(FLAGS_answer_after);
      !after.empty()) {
    absl::Duration duration;
    if (after == "never") {
      voice_options.auto_answer_after = absl::InfiniteDuration();
    } else if (absl::ParseDuration(after, &duration) &&
               duration >= absl::ZeroDuration()) {
      voice_options.auto_answer_after = duration;
    } else {
      std::cerr << "--answer_after must be a duration such as 5s, or never\n";
      return 2;
    }
  }
  if (const std::string codecs = absl::GetFlag(FLAGS_codecs); !codecs.empty()) {
    absl::StatusOr<std::vector<Codec>> parsed = ParseCodecList(codecs);
    if (!parsed.ok()) {
      std::cerr << "--codecs: " << parsed.status().message() << std::endl;
      return 2;
    }
    voice_options.codecs = *std::move(parsed);
  }
  // libjingle's session timers, K times as fast: lets `talkcheck fuzz
  // --time_scale=K` run campaigns against this binary in K of the time.
  const double time_scale = absl::GetFlag(FLAGS_time_scale);
  if (time_scale <= 0) {
    std::cerr << "reference_client: --time_scale must be positive\n";
    return 2;
  }
  voice_options.ScaleTimers(time_scale);
  voice_options.voice_caps_from_disco =
      absl::GetFlag(FLAGS_voice_caps_from_disco);
  const std::string call = absl::GetFlag(FLAGS_call);
  if (!call.empty()) {
    absl::StatusOr<xmpp::Jid> callee = xmpp::Jid::Parse(call);
    if (!callee.ok() || callee->is_bare()) {
      std::cerr << "--call must be a full JID (user@domain/resource)"
                << std::endl;
      return 2;
    }
  }

  absl::Duration hangup_after = absl::InfiniteDuration();
  if (const std::string after = absl::GetFlag(FLAGS_hangup_after);
      !after.empty() && (!absl::ParseDuration(after, &hangup_after) ||
                         hangup_after < absl::ZeroDuration())) {
    std::cerr << "--hangup_after must be a duration such as 3s\n";
    return 2;
  }

  Program program;
  return program.Run(std::move(stream_options), std::move(voice_options), call,
                     hangup_after);
}

}  // namespace
}  // namespace talkcheck::reference_client

int main(int argc, char** argv) {
  return talkcheck::reference_client::Main(argc, argv);
}
