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
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "base/asio_clock.h"
#include "fake_server/config.h"
#include "fake_server/server.h"

ABSL_FLAG(
    std::string, config, "",
    "Text-format ServerConfig file (fake_server/config.proto); the flags below "
    "override or extend it");
ABSL_FLAG(std::string, domain, "", "Server domain (default: localhost)");
ABSL_FLAG(
    std::vector<std::string>, listen, {},
    "Comma-separated host:port list to listen on, e.g. 127.0.0.1:5222,[::1]:0 "
    "(default 127.0.0.1:0; port 0 picks a free port)");
ABSL_FLAG(std::string, tls, "",
          "STARTTLS: required (default), optional or off");
ABSL_FLAG(std::string, tls_cert, "", "PEM certificate (default: self-signed)");
ABSL_FLAG(std::string, tls_key, "", "PEM private key for --tls_cert");
ABSL_FLAG(std::vector<std::string>, account, {},
          "Comma-separated username:password accounts to add");
ABSL_FLAG(int64_t, max_stanza_bytes, 0, "Largest stanza in bytes (0: default)");
ABSL_FLAG(int64_t, max_connections, 0, "Simultaneous connections (0: default)");
ABSL_FLAG(int64_t, auth_timeout_ms, 0,
          "Time allowed from connect to SASL success (0: default)");
ABSL_FLAG(
    int64_t, idle_timeout_ms, 0,
    "Longest silence from a client before it is disconnected (0: default)");
ABSL_FLAG(std::vector<std::string>, stun, {},
          "Comma-separated host:udp_port STUN servers announced by "
          "google:jingleinfo");
ABSL_FLAG(std::string, relay_token, "",
          "Relay token announced by google:jingleinfo");

namespace talkcheck::fake_server {
namespace {

absl::StatusOr<ServerConfig> ConfigFromFlags() {
  ServerConfig config;
  if (std::string path = absl::GetFlag(FLAGS_config); !path.empty()) {
    absl::StatusOr<ServerConfig> loaded = LoadServerConfigFile(path);
    if (!loaded.ok()) return loaded.status();
    config = *std::move(loaded);
  }
  if (std::string domain = absl::GetFlag(FLAGS_domain); !domain.empty())
    config.set_domain(domain);
  for (const std::string& address : absl::GetFlag(FLAGS_listen))
    config.add_listen(address);
  if (std::string tls = absl::GetFlag(FLAGS_tls); !tls.empty()) {
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
  if (std::string cert = absl::GetFlag(FLAGS_tls_cert); !cert.empty())
    config.set_tls_certificate_file(cert);
  if (std::string key = absl::GetFlag(FLAGS_tls_key); !key.empty())
    config.set_tls_private_key_file(key);
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
  Limits* limits = config.mutable_limits();
  if (int64_t v = absl::GetFlag(FLAGS_max_stanza_bytes); v > 0)
    limits->set_max_stanza_bytes(v);
  if (int64_t v = absl::GetFlag(FLAGS_max_connections); v > 0)
    limits->set_max_connections(v);
  if (int64_t v = absl::GetFlag(FLAGS_auth_timeout_ms); v > 0)
    limits->set_auth_timeout_ms(v);
  if (int64_t v = absl::GetFlag(FLAGS_idle_timeout_ms); v > 0)
    limits->set_idle_timeout_ms(v);
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
  absl::SetProgramUsageMessage(
      "talkcheck's fake XMPP server (STARTTLS, SCRAM-SHA-1/PLAIN, roster, "
      "presence, "
      "routing, disco, google:jingleinfo).");
  absl::ParseCommandLine(argc, argv);
  return talkcheck::fake_server::Main();
}
