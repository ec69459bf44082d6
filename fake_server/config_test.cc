#include "fake_server/config.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::fake_server {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kExamplePath[] = "fake_server/testdata/example_config.textproto";

ServerConfig ValidConfig() {
  absl::StatusOr<ServerConfig> config = ParseServerConfig(
      R"pb(
        domain: "localhost"
        accounts { username: "cut" password: "cutpass" }
        accounts { username: "peer" password: "peerpass" }
      )pb",
      "inline");
  EXPECT_TRUE(config.ok()) << config.status();
  return *config;
}

// Verifies that the shipped example loads, validates and holds what it says.
TEST(ConfigTest, LoadsExample) {
  absl::StatusOr<ServerConfig> config = LoadServerConfigFile(kExamplePath);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_TRUE(ValidateServerConfig(*config).ok())
      << ValidateServerConfig(*config);
  EXPECT_EQ(config->domain(), "localhost");
  EXPECT_THAT(ListenAddresses(*config), ElementsAre("127.0.0.1:0", "[::1]:0"));
  ASSERT_EQ(config->accounts_size(), 2);
  EXPECT_EQ(config->accounts(0).username(), "cut");
  EXPECT_EQ(config->accounts(0).password(), "cutpass");
  EXPECT_EQ(config->accounts(1).username(), "peer");
  EXPECT_EQ(config->accounts(1).password(), "peerpass");
  ASSERT_EQ(config->jingle_info().stun_size(), 1);
  EXPECT_EQ(config->jingle_info().stun(0).host(), "127.0.0.1");
  EXPECT_EQ(config->jingle_info().stun(0).udp(), 3478u);
  EXPECT_FALSE(config->jingle_info().relay_token().empty());
  EXPECT_EQ(config->bind_conflict(), ServerConfig::REFUSE_NEW);
}

// Verifies that a missing file is reported as such, naming the path.
TEST(ConfigTest, MissingFileIsNotFound) {
  absl::StatusOr<ServerConfig> config =
      LoadServerConfigFile("fake_server/testdata/no_such_file.textproto");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.status().ToString(), HasSubstr("no_such_file.textproto"));
}

// Verifies that an error names the file, line and column (1-based; protobuf
// points just past an unknown field name).
TEST(ConfigTest, SyntaxErrorHasFileLineAndColumn) {
  const std::string path = ::testing::TempDir() + "bad_config.textproto";
  {
    std::ofstream out(path);
    out << "domain: \"localhost\"\n"
        << "accounts {\n"
        << "  username: \"cut\"\n"
        << "  pasword: \"x\"\n"
        << "}\n";
  }
  absl::StatusOr<ServerConfig> config = LoadServerConfigFile(path);
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().ToString(), HasSubstr(path + ":4:10: "));
  EXPECT_THAT(config.status().ToString(), HasSubstr("pasword"));
  std::remove(path.c_str());
}

// Verifies that an unterminated message is located too.
TEST(ConfigTest, UnterminatedMessageHasPosition) {
  absl::StatusOr<ServerConfig> config = ParseServerConfig(
      "domain: \"localhost\"\nlimits { max_connections: 4\n", "cfg.textproto");
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().ToString(), HasSubstr("cfg.textproto:3:1: "));
}

// Verifies that no listen entry means the loopback address with a free port.
TEST(ConfigTest, ListenDefaultsToLoopback) {
  EXPECT_THAT(ListenAddresses(ServerConfig()), ElementsAre("127.0.0.1:0"));
}

TEST(ConfigTest, ValidConfigPasses) {
  EXPECT_TRUE(ValidateServerConfig(ValidConfig()).ok());
  // The proto's defaults alone (no accounts) are a valid configuration.
  EXPECT_TRUE(ValidateServerConfig(ServerConfig()).ok());
}

TEST(ConfigTest, RejectsBadDomain) {
  ServerConfig config = ValidConfig();
  config.set_domain("cut@localhost");
  EXPECT_EQ(ValidateServerConfig(config).code(),
            absl::StatusCode::kInvalidArgument);
  config.set_domain("");
  EXPECT_EQ(ValidateServerConfig(config).code(),
            absl::StatusCode::kInvalidArgument);
  config.set_domain("LocalHost");
  EXPECT_THAT(ValidateServerConfig(config).ToString(), HasSubstr("localhost"));
}

TEST(ConfigTest, RejectsBadOrDuplicateUsernames) {
  ServerConfig config = ValidConfig();
  config.add_accounts()->set_username("bad@name");
  EXPECT_THAT(ValidateServerConfig(config).ToString(),
              HasSubstr("accounts[2]"));

  config = ValidConfig();
  config.add_accounts()->set_username("");
  EXPECT_THAT(ValidateServerConfig(config).ToString(),
              HasSubstr("accounts[2]"));

  config = ValidConfig();
  config.add_accounts()->set_username("Peer");  // "peer" after case folding
  absl::Status status = ValidateServerConfig(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.ToString(), HasSubstr("used twice"));
}

TEST(ConfigTest, ParsesListenAddresses) {
  absl::StatusOr<ListenAddress> v4 = ParseListenAddress("127.0.0.1:5222");
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 5222);
  absl::StatusOr<ListenAddress> v6 = ParseListenAddress("[::1]:0");
  ASSERT_TRUE(v6.ok()) << v6.status();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
}

TEST(ConfigTest, RejectsBadListenAddresses) {
  for (const char* bad :
       {"localhost:5222", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
        "127.0.0.1:+1", "::1:5222", "[::1]", "[::1]5222", "[127.0.0.1]:1",
        "[::1:5222", ""}) {
    EXPECT_FALSE(ParseListenAddress(bad).ok()) << bad;
    ServerConfig config = ValidConfig();
    config.add_listen(bad);
    EXPECT_THAT(ValidateServerConfig(config).ToString(), HasSubstr("listen[0]"))
        << bad;
  }
}

TEST(ConfigTest, RequiresCertificateAndKeyTogether) {
  ServerConfig config = ValidConfig();
  config.set_tls_certificate_file("server.pem");
  EXPECT_THAT(ValidateServerConfig(config).ToString(),
              HasSubstr("tls_private_key_file"));
  config.set_tls_private_key_file("server.key");
  EXPECT_TRUE(ValidateServerConfig(config).ok());
  config.clear_tls_certificate_file();
  EXPECT_FALSE(ValidateServerConfig(config).ok());
}

TEST(ConfigTest, RejectsZeroLimits) {
  ServerConfig config = ValidConfig();
  config.mutable_limits()->set_max_connections(0);
  EXPECT_THAT(ValidateServerConfig(config).ToString(),
              HasSubstr("limits.max_connections"));
  config = ValidConfig();
  config.mutable_limits()->set_max_stanza_bytes(0);
  EXPECT_THAT(ValidateServerConfig(config).ToString(),
              HasSubstr("limits.max_stanza_bytes"));
  config = ValidConfig();
  config.mutable_limits()->set_auth_timeout_ms(0);
  EXPECT_FALSE(ValidateServerConfig(config).ok());
  config = ValidConfig();
  config.mutable_limits()->set_idle_timeout_ms(0);
  EXPECT_FALSE(ValidateServerConfig(config).ok());
}

TEST(ConfigTest, RejectsBadJingleInfoServers) {
  ServerConfig config = ValidConfig();
  config.mutable_jingle_info()->add_stun()->set_udp(3478);  // no host
  EXPECT_THAT(ValidateServerConfig(config).ToString(),
              HasSubstr("jingle_info.stun[0]"));
  config = ValidConfig();
  RelayServer* relay = config.mutable_jingle_info()->add_relay();
  relay->set_host("127.0.0.1");
  relay->set_tcp(70000);
  EXPECT_THAT(ValidateServerConfig(config).ToString(),
              HasSubstr("jingle_info.relay[0]"));
}

}  // namespace
}  // namespace talkcheck::fake_server
