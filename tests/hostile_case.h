// One case of the bad-input suite (tests/hostile_input_test.cc): a hostile
// client's attack on the fake server and the check of what the server
// answered it. The runner wraps every case in the same harness (a witness
// client pinging throughout, the server's accounting back to its baseline
// afterwards); a case only attacks and checks its own answer.
#ifndef TALKCHECK_TESTS_HOSTILE_CASE_H_
#define TALKCHECK_TESTS_HOSTILE_CASE_H_

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "fake_server/config.pb.h"
#include "tests/raw_client.h"
#include "tests/server_fixture.h"

namespace talkcheck::integration {

// Where in its life an attacking client is before it misbehaves.
enum class Stage {
  kConnected,      // TCP connected, nothing sent
  kStreamOpen,     // a correct stream header sent, the features read
  kAuthenticated,  // SASL PLAIN succeeded and the stream restarted, not bound
  kLoggedIn,       // bound as cut@localhost/attacker
};

// What a case gets to attack with: connections to the server under test.
class Attacker {
 public:
  explicit Attacker(TestServer& server) : server_(server) {}
  TestServer& server() { return server_; }
  // A client of the account `cut` brought to `stage` (resource `resource` at
  // kLoggedIn).
  absl::StatusOr<std::unique_ptr<RawClient>> At(
      Stage stage, absl::string_view resource = "attacker");

 private:
  TestServer& server_;
};

struct HostileCase {
  const char* name;
  // Where the expected answer comes from ("RFC 6120 §4.9.3.13").
  const char* rule;
  // Changes the server's configuration for this case (null: none).
  std::function<void(fake_server::ServerConfig&)> configure;
  // Attacks and checks the answer.
  std::function<::testing::AssertionResult(Attacker&)> attack;
};

// The most common case: a client at `stage` sends `bytes` and gets the stream
// error `condition`, and the connection is closed.
HostileCase StreamErrorCase(
    const char* name, const char* rule, Stage stage, std::string bytes,
    const char* condition,
    std::function<void(fake_server::ServerConfig&)> configure = nullptr);

// A failure naming `status`, for a case whose setup failed.
::testing::AssertionResult SetupFailed(absl::string_view what,
                                       const absl::Status& status);

// Nothing sent by `sender` (a full JID) was routed (broken XML must never
// reach anybody).
::testing::AssertionResult NothingRoutedFrom(TestServer& server,
                                             absl::string_view sender);

// The cases, by family (tests/hostile_cases_xml.cc, hostile_cases_session.cc).
std::vector<HostileCase> XmlCases();
std::vector<HostileCase> SessionCases();

// The stanza every "to the peer" case addresses.
inline constexpr char kToPeer[] = "to='peer@localhost/Talk.v104'";

}  // namespace talkcheck::integration

#endif  // TALKCHECK_TESTS_HOSTILE_CASE_H_
