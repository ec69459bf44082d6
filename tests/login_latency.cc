// Measures how long one login takes against the fake server over loopback TCP
// (no TLS): connect, stream header, SASL PLAIN, restart, bind, one at a time.
// Prints the median and the 90th percentile over --logins logins.
//
//   bazel run -c opt //tests:login_latency -- --logins=200
#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/flag_help.h"
#include "tests/raw_client.h"
#include "tests/server_fixture.h"

ABSL_FLAG(int, logins, 100, "How many logins to time, one after another.");

int main(int argc, char** argv) {
  talkcheck::ParseCommandLine(
      argc, argv, "tests/",
      "login_latency: times --logins logins to a fake server over loopback "
      "(connect, stream header, SASL PLAIN, restart, bind), one after "
      "another, and prints the median and p90.");
  using talkcheck::integration::RawClient;
  using talkcheck::integration::TestServer;
  absl::StatusOr<std::unique_ptr<TestServer>> server =
      TestServer::Start(talkcheck::integration::TestServerConfig(
          talkcheck::fake_server::ServerConfig::TLS_OFF));
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  std::vector<double> ms;
  for (int i = 0; i < absl::GetFlag(FLAGS_logins); ++i) {
    const absl::Time start = absl::Now();
    absl::StatusOr<std::unique_ptr<RawClient>> client =
        RawClient::Connect((*server)->endpoint());
    if (!client.ok()) return 1;
    absl::StatusOr<std::string> jid = (*client)->LogInPlain(
        talkcheck::integration::kCutUser, talkcheck::integration::kCutPassword,
        absl::StrCat("r", i));
    if (!jid.ok()) {
      std::fprintf(stderr, "%s\n", jid.status().ToString().c_str());
      return 1;
    }
    ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
  }
  std::sort(ms.begin(), ms.end());
  std::printf("logins: %zu  median: %.2f ms  p90: %.2f ms\n", ms.size(),
              ms[ms.size() / 2], ms[ms.size() * 9 / 10]);
  return 0;
}
