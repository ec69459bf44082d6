#include "tests/hostile_case.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "fake_server/router.h"
#include "tests/stream_checks.h"

namespace talkcheck::integration {

absl::StatusOr<std::unique_ptr<RawClient>> Attacker::At(
    Stage stage, absl::string_view resource) {
  absl::StatusOr<std::unique_ptr<RawClient>> client =
      RawClient::Connect(server_.endpoint());
  if (!client.ok()) return client.status();
  absl::Status ready;
  switch (stage) {
    case Stage::kConnected:
      break;
    case Stage::kStreamOpen:
      ready = (*client)->OpenStream().status();
      break;
    case Stage::kAuthenticated:
      ready = (*client)->AuthenticatePlain(kCutUser, kCutPassword);
      break;
    case Stage::kLoggedIn:
      ready = (*client)->LogInPlain(kCutUser, kCutPassword, resource).status();
      break;
  }
  if (!ready.ok()) return ready;
  return client;
}

HostileCase StreamErrorCase(
    const char* name, const char* rule, Stage stage, std::string bytes,
    const char* condition,
    std::function<void(fake_server::ServerConfig&)> configure) {
  return {
      name, rule, std::move(configure),
      [stage, bytes = std::move(bytes), condition](Attacker& attacker) {
        absl::StatusOr<std::unique_ptr<RawClient>> client = attacker.At(stage);
        if (!client.ok()) return SetupFailed("attacker", client.status());
        // The server may close before it has read everything (it drains
        // the rest): a failed send is not the case's failure.
        (*client)->SendRaw(bytes).IgnoreError();
        ::testing::AssertionResult answered =
            StreamErrorThenClose(**client, condition);
        if (!answered) return answered;
        return NothingRoutedFrom(attacker.server(), "cut@localhost/attacker");
      }};
}

::testing::AssertionResult SetupFailed(absl::string_view what,
                                       const absl::Status& status) {
  return ::testing::AssertionFailure()
         << "setting up " << what << " failed: " << status;
}

::testing::AssertionResult NothingRoutedFrom(TestServer& server,
                                             absl::string_view sender) {
  for (const RecordedStanza& routed : server.Routed()) {
    if (routed.direction ==
            fake_server::RoutedStanza::Direction::kFromEndpoint &&
        routed.endpoint.ToString() == sender) {
      return ::testing::AssertionFailure()
             << "routed from " << sender << ": " << routed.stanza.ToString();
    }
  }
  return ::testing::AssertionSuccess();
}

}  // namespace talkcheck::integration
