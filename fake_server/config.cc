#include "fake_server/config.h"

#include <arpa/inet.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "xmpp/jid.h"

namespace talkcheck::fake_server {
namespace {

// Collects parser messages as "<source>:<line>:<column>: <message>" lines.
class CollectingErrors : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrors(absl::string_view source_name)
      : source_name_(source_name) {}

  void AddError(int line, google::protobuf::io::ColumnNumber column,
                const std::string& message) override {
    // The tokenizer counts from zero; people and editors count from one.
    errors_.push_back(absl::StrCat(source_name_, ":", line + 1, ":", column + 1,
                                   ": ", message));
  }

  std::string Joined() const { return absl::StrJoin(errors_, "\n"); }
  bool empty() const { return errors_.empty(); }

 private:
  std::string source_name_;
  std::vector<std::string> errors_;
};

bool IsIpv4Literal(const std::string& host) {
  in_addr address;
  return inet_pton(AF_INET, host.c_str(), &address) == 1;
}

bool IsIpv6Literal(const std::string& host) {
  in6_addr address;
  return inet_pton(AF_INET6, host.c_str(), &address) == 1;
}

absl::Status CheckPort(uint32_t port, absl::string_view field) {
  if (port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": port ", port, " is out of range"));
  }
  return absl::OkStatus();
}

absl::Status ValidateJingleInfo(const JingleInfo& info) {
  for (int i = 0; i < info.stun_size(); ++i) {
    const std::string field = absl::StrCat("jingle_info.stun[", i, "]");
    if (info.stun(i).host().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": host is empty"));
    }
    if (absl::Status s = CheckPort(info.stun(i).udp(), field); !s.ok())
      return s;
  }
  for (int i = 0; i < info.relay_size(); ++i) {
    const RelayServer& relay = info.relay(i);
    const std::string field = absl::StrCat("jingle_info.relay[", i, "]");
    if (relay.host().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(field, ": host is empty"));
    }
    for (uint32_t port : {relay.udp(), relay.tcp(), relay.tcpssl()}) {
      if (absl::Status s = CheckPort(port, field); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateLimits(const Limits& limits) {
  const std::pair<const char*, uint64_t> values[] = {
      {"max_stanza_bytes", limits.max_stanza_bytes()},
      {"max_connections", limits.max_connections()},
      {"auth_timeout_ms", limits.auth_timeout_ms()},
      {"idle_timeout_ms", limits.idle_timeout_ms()},
  };
  for (const auto& [name, value] : values) {
    // Zero would mean "refuse all" or "time out at once", never "no limit".
    if (value == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("limits.", name, " must be greater than zero"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerConfig> ParseServerConfig(absl::string_view text,
                                               absl::string_view source_name) {
  ServerConfig config;
  CollectingErrors errors(source_name);
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &config)) {
    if (errors.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_name, ": not a valid ServerConfig"));
    }
    return absl::InvalidArgumentError(errors.Joined());
  }
  return config;
}

absl::StatusOr<ServerConfig> LoadServerConfigFile(absl::string_view path) {
  std::ifstream file{std::string(path), std::ios::binary};
  if (!file) {
    return absl::NotFoundError(
        absl::StrCat(path, ": cannot open the server configuration"));
  }
  std::ostringstream contents;
  contents << file.rdbuf();
  if (file.bad()) {
    return absl::NotFoundError(absl::StrCat(path, ": read error"));
  }
  return ParseServerConfig(contents.str(), path);
}

absl::StatusOr<ListenAddress> ParseListenAddress(absl::string_view address) {
  auto invalid = [address](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(
        "listen address \"", address, "\": ", why,
        " (expected ipv4:port or [ipv6]:port with an IP literal)"));
  };
  std::string host;
  absl::string_view port_text;
  if (!address.empty() && address.front() == '[') {
    const size_t close = address.find(']');
    if (close == absl::string_view::npos) return invalid("missing ']'");
    host = std::string(address.substr(1, close - 1));
    absl::string_view rest = address.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return invalid("missing port");
    port_text = rest.substr(1);
    if (!IsIpv6Literal(host)) return invalid("not an IPv6 literal");
  } else {
    const size_t colon = address.rfind(':');
    if (colon == absl::string_view::npos) return invalid("missing port");
    host = std::string(address.substr(0, colon));
    port_text = address.substr(colon + 1);
    if (IsIpv6Literal(host)) return invalid("IPv6 literals need brackets");
    if (!IsIpv4Literal(host)) return invalid("not an IPv4 literal");
  }
  uint32_t port = 0;
  // SimpleAtoi accepts a sign and whitespace; a port is plain digits.
  if (port_text.empty() ||
      port_text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(port_text, &port) || port > 65535) {
    return invalid("bad port");
  }
  ListenAddress result;
  result.host = std::move(host);
  result.port = static_cast<uint16_t>(port);
  return result;
}

absl::Status ValidateServerConfig(const ServerConfig& config) {
  absl::StatusOr<xmpp::Jid> domain = xmpp::Jid::Parse(config.domain());
  if (!domain.ok() || !domain->local().empty() || !domain->is_bare()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "domain \"", config.domain(), "\" is not a JID domain",
        domain.ok() ? "" : ": ", domain.ok() ? "" : domain.status().message()));
  }
  // Routing compares normalised JIDs with the configured domain as written.
  if (domain->domain() != config.domain()) {
    return absl::InvalidArgumentError(
        absl::StrCat("domain \"", config.domain(),
                     "\" is not normalised; write \"", domain->domain(), "\""));
  }

  absl::flat_hash_set<std::string> usernames;
  for (int i = 0; i < config.accounts_size(); ++i) {
    const std::string& username = config.accounts(i).username();
    absl::StatusOr<xmpp::Jid> jid =
        xmpp::Jid::Parse(absl::StrCat(username, "@", config.domain()));
    if (username.empty() || !jid.ok() || jid->local().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("accounts[", i, "]: username \"", username,
                       "\" is not a JID localpart", jid.ok() ? "" : ": ",
                       jid.ok() ? "" : jid.status().message()));
    }
    // "Cut" and "cut" are the same account once normalised.
    if (!usernames.insert(jid->local()).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "accounts[", i, "]: username \"", username, "\" is used twice"));
    }
    for (int j = 0; j < config.accounts(i).roster_size(); ++j) {
      absl::StatusOr<xmpp::Jid> contact =
          RosterContact(config.accounts(i).roster(j), config.domain());
      if (!contact.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "accounts[", i, "].roster[", j, "]: ", contact.status().message()));
      }
      if (contact->BareEquals(*jid)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "accounts[", i, "].roster[", j, "]: an account's own JID"));
      }
    }
  }

  for (int i = 0; i < config.listen_size(); ++i) {
    absl::StatusOr<ListenAddress> address =
        ParseListenAddress(config.listen(i));
    if (!address.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("listen[", i, "]: ", address.status().message()));
    }
  }

  if (config.tls_certificate_file().empty() !=
      config.tls_private_key_file().empty()) {
    return absl::InvalidArgumentError(
        "tls_certificate_file and tls_private_key_file must be given together "
        "(or both left empty for a self-signed certificate)");
  }

  if (absl::Status s = ValidateLimits(config.limits()); !s.ok()) return s;
  return ValidateJingleInfo(config.jingle_info());
}

absl::StatusOr<xmpp::Jid> RosterContact(const ConfiguredRosterItem& item,
                                        absl::string_view domain) {
  absl::StatusOr<xmpp::Jid> jid =
      absl::StrContains(item.jid(), '@')
          ? xmpp::Jid::Parse(item.jid())
          : xmpp::Jid::Create(item.jid(), domain, "");
  if (!jid.ok() || item.jid().empty() || jid->local().empty() ||
      !jid->is_bare()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "jid \"", item.jid(), "\" is neither a username nor a bare JID"));
  }
  return jid;
}

std::vector<std::string> ListenAddresses(const ServerConfig& config) {
  if (config.in_memory_only()) return {};
  if (config.listen().empty()) return {"127.0.0.1:0"};
  return {config.listen().begin(), config.listen().end()};
}

absl::Status ApplyServerIdentityProfile(absl::string_view profile,
                                        ServerConfig& config) {
  ServerIdentity& identity = *config.mutable_identity();
  identity.set_category("server");
  identity.set_type("im");
  if (profile == "talkcheck") {
    identity.set_name("talkcheck");
  } else if (profile == "google-talk") {
    identity.set_name("Google Talk");
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown server identity profile \"", profile,
                     "\" (talkcheck, google-talk)"));
  }
  return absl::OkStatus();
}

}  // namespace talkcheck::fake_server
