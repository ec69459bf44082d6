// fake_xmpp_server: talkcheck's fake XMPP server on its own, for clients under
// test that run outside the harness, and for trying clients by hand.
//
//   bazel run //fake_server:fake_xmpp_server -- --account=alice:secret
//   --tls=optional
//
// Prints one line per listening address ("listening on 127.0.0.1:PORT"), then
// serves until SIGINT or SIGTERM.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "base/asio_clock.h"
#include "base/flag_help.h"
#include "fake_server/config.h"
#include "fake_server/server.h"

// Every default below is the one config.proto (or ListenAddresses) applies,
// read from there so that --help tells the truth. A flag overrides --config
// only when it is given on the command line; --listen, --account and --stun
// add to the file's lists.
namespace talkcheck::fake_server {
namespace {

const Limits& DefaultLimits() { return Limits::default_instance(); }

std::string TlsModeName(ServerConfig::TlsMode mode) {
  switch (mode) {
    case ServerConfig::TLS_REQUIRED:
      return "required";
    case ServerConfig::TLS_OPTIONAL:
      return "optional";
    case ServerConfig::TLS_OFF:
      return "off";
  }
  return "required";
}

}  // namespace
}  // namespace talkcheck::fake_server

ABSL_FLAG(std::string, config, "",
          "text-format ServerConfig file (fake_server/config.proto); flags "
          "given on the command line override its fields, and --listen, "
          "--account and --stun add to its lists");
ABSL_FLAG(std::string, domain,
          talkcheck::fake_server::ServerConfig::default_instance().domain(),
          "the server's domain: accounts are username@domain");
ABSL_FLAG(std::vector<std::string>, listen,
          talkcheck::fake_server::ListenAddresses(
              talkcheck::fake_server::ServerConfig::default_instance()),
          "comma-separated IP:PORT addresses to listen on ([::1]:0 for IPv6); "
          "port 0 picks a free port, printed as `listening on ADDRESS`; the "
          "default applies when neither this flag nor --config names one");
ABSL_FLAG(std::string, tls,
          talkcheck::fake_server::TlsModeName(
              talkcheck::fake_server::ServerConfig::default_instance().tls()),
          "STARTTLS: required (offered with <required/>), optional (SASL in "
          "the clear allowed too) or off (not offered)");
ABSL_FLAG(std::string, tls_cert, "",
          "PEM certificate file; empty: a self-signed certificate made at "
          "start");
ABSL_FLAG(std::string, tls_key, "",
          "PEM private key file for --tls_cert (both or neither)");
ABSL_FLAG(std::vector<std::string>, account, {},
          "comma-separated username:password accounts to add");
ABSL_FLAG(int64_t, max_stanza_bytes,
          talkcheck::fake_server::DefaultLimits().max_stanza_bytes(),
          "largest stanza in bytes; a larger one ends the stream with "
          "policy-violation");
ABSL_FLAG(int64_t, max_connections,
          talkcheck::fake_server::DefaultLimits().max_connections(),
          "simultaneous client connections; the ones beyond get "
          "resource-constraint");
ABSL_FLAG(int64_t, auth_timeout_ms,
          talkcheck::fake_server::DefaultLimits().auth_timeout_ms(),
          "milliseconds from TCP accept to SASL success before "
          "connection-timeout");
ABSL_FLAG(int64_t, idle_timeout_ms,
          talkcheck::fake_server::DefaultLimits().idle_timeout_ms(),
          "milliseconds of silence from a client (whitespace keep-alives "
          "count) before connection-timeout");
ABSL_FLAG(std::vector<std::string>, stun, {},
          "comma-separated HOST:UDP_PORT STUN servers that google:jingleinfo "
          "announces");
ABSL_FLAG(std::string, server_identity, "talkcheck",
          "disco#info identity profile: talkcheck or google-talk (name "
          "\"Google Talk\", which libpurple needs before it asks "
          "google:jingleinfo)");
ABSL_FLAG(bool, log_stanzas, false,
          "Log every stanza the server routes, besides connections, logins "
          "and stream errors");
ABSL_FLAG(std::string, relay_token, "",
          "relay token that google:jingleinfo announces; empty: none");

namespace talkcheck::fake_server {
namespace {

// True when `flag` was given on the command line (or in a --flagfile).
template <typename T>
bool Given(const absl::Flag<T>& flag) {
  return GivenOnCommandLine(absl::GetFlagReflectionHandle(flag).Name());
}

absl::StatusOr<ServerConfig> ConfigFromFlags() {
  ServerConfig config;
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<ServerConfig> loaded = LoadServerConfigFile(path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  if (Given(FLAGS_domain)) config.set_domain(absl::GetFlag(FLAGS_domain));
  if (Given(FLAGS_server_identity)) {
    absl::Status applied = ApplyServerIdentityProfile(
        absl::GetFlag(FLAGS_server_identity), config);
    if (!applied.ok()) return applied;
  }
  if (Given(FLAGS_listen)) {
    for (const std::string& address : absl::GetFlag(FLAGS_listen))
      config.add_listen(address);
  }
  if (Given(FLAGS_tls)) {
    const std::string tls = absl::GetFlag(FLAGS_tls);
    if (tls == "required") {
      config.set_tls(ServerConfig::TLS_REQUIRED);
    } else if (tls == "optional") {
      config.set_tls(ServerConfig::TLS_OPTIONAL);
    } else if (tls == "off") {
      config.set_tls(ServerConfig::TLS_OFF);
    } else {
      return absl::InvalidArgumentError(
          "--tls must be required, optional or off, not '" + tls + "'");
    }
  }
  if (Given(FLAGS_tls_cert))
    config.set_tls_certificate_file(absl::GetFlag(FLAGS_tls_cert));
  if (Given(FLAGS_tls_key))
    config.set_tls_private_key_file(absl::GetFlag(FLAGS_tls_key));
  for (const std::string& account : absl::GetFlag(FLAGS_account)) {
    std::vector<std::string> parts =
        absl::StrSplit(account, absl::MaxSplits(':', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return absl::InvalidArgumentError(
          "--account wants username:password, not '" + account + "'");
    }
    Account* added = config.add_accounts();
    added->set_username(parts[0]);
    added->set_password(parts[1]);
  }
  // Out-of-range values (zero, negative) are left to ValidateServerConfig.
  Limits* limits = config.mutable_limits();
  if (Given(FLAGS_max_stanza_bytes))
    limits->set_max_stanza_bytes(absl::GetFlag(FLAGS_max_stanza_bytes));
  if (Given(FLAGS_max_connections))
    limits->set_max_connections(absl::GetFlag(FLAGS_max_connections));
  if (Given(FLAGS_auth_timeout_ms))
    limits->set_auth_timeout_ms(absl::GetFlag(FLAGS_auth_timeout_ms));
  if (Given(FLAGS_idle_timeout_ms))
    limits->set_idle_timeout_ms(absl::GetFlag(FLAGS_idle_timeout_ms));
  for (const std::string& stun : absl::GetFlag(FLAGS_stun)) {
    std::vector<std::string> parts = absl::StrSplit(stun, ':');
    uint32_t port = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[1], &port)) {
      return absl::InvalidArgumentError("--stun wants host:port, not '" + stun +
                                        "'");
    }
    StunServer* server = config.mutable_jingle_info()->add_stun();
    server->set_host(parts[0]);
    server->set_udp(port);
  }
  if (std::string token = absl::GetFlag(FLAGS_relay_token); !token.empty())
    config.mutable_jingle_info()->set_relay_token(token);
  return config;
}

int Main() {
  absl::StatusOr<ServerConfig> config = ConfigFromFlags();
  if (!config.ok()) {
    std::cerr << "fake_xmpp_server: " << config.status().message() << "\n";
    return 2;
  }
  boost::asio::io_context io;
  AsioClock clock(io);
  absl::StatusOr<std::unique_ptr<FakeServer>> server =
      FakeServer::Create(*std::move(config), io, clock);
  if (!server.ok()) {
    std::cerr << "fake_xmpp_server: " << server.status().message() << "\n";
    return 2;
  }
  for (const std::string& endpoint : (*server)->endpoints())
    std::cout << "listening on " << endpoint << std::endl;
  for (const std::string& endpoint : (*server)->websocket_endpoints())
    std::cout << "listening on ws://" << endpoint << "/ (RFC 7395)"
              << std::endl;
  // What the server does, on stderr: one line per connection, login step and
  // stream error, and with --log_stanzas per routed stanza.
  (*server)->router().set_login_listener([](const LoginEvent& e) {
    std::cerr << absl::StrFormat("%.3f stream %d: %s\n",
                                 absl::ToDoubleSeconds(e.time), e.stream,
                                 DescribeLoginEvent(e));
  });
  if (absl::GetFlag(FLAGS_log_stanzas)) {
    (*server)->router().AddObserver([](const RoutedStanza& s) {
      const bool from = s.direction == RoutedStanza::Direction::kFromEndpoint;
      std::cerr << absl::StrFormat(
          "%.3f %s %s %s\n", absl::ToDoubleSeconds(s.time),
          from ? "from" : "to", s.endpoint.ToString(), s.stanza.ToString());
    });
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*server)->Stop();
    io.stop();
  });
  io.run();
  return 0;
}

}  // namespace
}  // namespace talkcheck::fake_server

int main(int argc, char** argv) {
  talkcheck::ParseCommandLine(
      argc, argv, "fake_server/",
      "talkcheck's fake XMPP server on its own (STARTTLS, SCRAM-SHA-1 and "
      "PLAIN, bind, roster, presence, routing, disco, XEP-0199 ping, "
      "google:jingleinfo), for clients under test outside the harness. "
      "Prints `listening on ADDRESS` per listener, serves until SIGINT or "
      "SIGTERM, then exits 0; exits 2 on a bad flag or configuration.");
  return talkcheck::fake_server::Main();
}
