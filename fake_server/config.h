// Loading and checking the fake server's configuration (config.proto).
//
// The configuration is a protobuf text-format file; flags of fake_xmpp_server
// may override fields after loading, so loading and validation are separate
// steps: load, apply overrides, then validate once before anything listens.
//
// Example:
//   absl::StatusOr<ServerConfig> config =
//   LoadServerConfigFile("server.textproto"); if (!config.ok()) return
//   config.status();  // "server.textproto:3:7: ..."
//   // ... apply flag overrides ...
//   if (absl::Status s = ValidateServerConfig(*config); !s.ok()) return s;
//   for (const std::string& address : ListenAddresses(*config)) { ... }
#ifndef TALKCHECK_FAKE_SERVER_CONFIG_H_
#define TALKCHECK_FAKE_SERVER_CONFIG_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fake_server/config.pb.h"
#include "xmpp/jid.h"

namespace talkcheck::fake_server {

// Reads and parses a text-format ServerConfig; does not validate it.
// kNotFound when the file cannot be read; kInvalidArgument for a syntax error
// or an unknown field, as "<path>:<line>:<column>: <what>" (1-based, as
// editors count), one line per error.
absl::StatusOr<ServerConfig> LoadServerConfigFile(absl::string_view path);

// Parses text-format `text`; `source_name` stands for the file name in errors.
absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view text,
                                               absl::string_view source_name);

// Checks what the proto cannot express: the domain is a valid JID domainpart in
// normalised (lower-case) form, usernames are valid localparts and unique after
// normalisation, every listen entry is `ip:port` or `[ipv6]:port` with an IP
// literal host, the TLS certificate and key are given together or not at all,
// roster items name a username or a bare JID other than the account's own,
// the limits are non-zero, and jingleinfo servers have hosts and 16-bit ports.
// kInvalidArgument naming the first offending field.
absl::Status ValidateServerConfig(const ServerConfig& config);

// Sets `config`'s disco#info identity from a named profile: "talkcheck"
// (server/im/talkcheck, the default) or "google-talk" (server/im/"Google
// Talk", what libpurple looks for before it asks google:jingleinfo).
// kInvalidArgument for another name.
absl::Status ApplyServerIdentityProfile(absl::string_view profile,
                                        ServerConfig& config);

// The contact a configured roster item names: `username@domain` for a bare
// username, else the bare JID written. kInvalidArgument for anything else.
absl::StatusOr<xmpp::Jid> RosterContact(const ConfiguredRosterItem& item,
                                        absl::string_view domain);

// The addresses to listen on: `config.listen()`, {"127.0.0.1:0"} when empty,
// none with in_memory_only.
std::vector<std::string> ListenAddresses(const ServerConfig& config);

// One listen entry split into an IP literal (without brackets) and a port.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
// Parses "127.0.0.1:5222" or "[::1]:0". kInvalidArgument for anything else
// (host names included: listening addresses must not depend on a resolver).
absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address);

}  // namespace talkcheck::fake_server

#endif  // TALKCHECK_FAKE_SERVER_CONFIG_H_
