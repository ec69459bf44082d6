// talkcheck run --serve end to end: the real binary runs a call
// (callee-g1-basic, over real sockets) while a Boost.Beast client loads the
// page over HTTP and follows the WebSocket. Stanza and media events arrive
// while the run is still going (the process has not exited), then "done"
// with the final state; a second client that never reads neither slows nor
// hangs the run.
//   live_run_test TALKCHECK   (run from the runfiles root)
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const char* g_talkcheck = nullptr;

// The talkcheck process, its stdout read line by line.
class Talkcheck {
 public:
  explicit Talkcheck(std::vector<std::string> args) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv{const_cast<char*>(g_talkcheck)};
      for (std::string& arg : args) argv.push_back(arg.data());
      argv.push_back(nullptr);
      execv(g_talkcheck, argv.data());
      _exit(127);
    }
    close(out[1]);
    stdout_ = fdopen(out[0], "r");
  }
  ~Talkcheck() {
    if (!exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    fclose(stdout_);
  }

  // The next line of its stdout ("" at the end).
  std::string Line() {
    char buffer[4096];
    if (fgets(buffer, sizeof buffer, stdout_) == nullptr) return "";
    return buffer;
  }
  bool Running() {
    if (exited_) return false;
    if (waitpid(pid_, &status_, WNOHANG) == pid_) exited_ = true;
    return !exited_;
  }
  int Wait() {
    if (!exited_) waitpid(pid_, &status_, 0);
    exited_ = true;
    return WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
  }

 private:
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
  bool exited_ = false;
  int status_ = 0;
};

// The port of "talkcheck: live report at http://127.0.0.1:PORT/" ("" and a
// test failure for any other line).
std::string LiveReportPort(const std::string& line) {
  const std::string prefix = "talkcheck: live report at http://127.0.0.1:";
  EXPECT_THAT(line, StartsWith(prefix));
  if (!absl::StartsWith(line, prefix)) return "";
  return line.substr(prefix.size(),
                     line.find('/', prefix.size()) - prefix.size());
}

// Reads the live view's WebSocket, each message before "done" to `each`;
// returns the "done" message ("" and a test failure when the socket ends
// first).
std::string FollowUntilDone(
    websocket::stream<tcp::socket>& ws,
    const std::function<void(const std::string&)>& each) {
  for (;;) {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    ws.read(buffer, ec);
    if (ec) {
      ADD_FAILURE() << "the WebSocket ended before \"done\": " << ec.message();
      return "";
    }
    std::string message = beast::buffers_to_string(buffer.data());
    if (absl::StartsWith(message, "{\"type\":\"done\"")) return message;
    each(message);
  }
}

TEST(LiveRunTest, StanzasAndMediaArriveWhileTheRunGoesOnThenTheFinalState) {
  Talkcheck run({"run", "--serve=127.0.0.1:0", "--serve_linger=1s",
                 "scenarios/callee-g1-basic.xml"});
  const std::string port = LiveReportPort(run.Line());
  ASSERT_FALSE(port.empty());

  asio::io_context io;
  tcp::resolver resolver(io);
  {
    tcp::socket socket(io);
    asio::connect(socket, resolver.resolve("127.0.0.1", port));
    http::request<http::empty_body> request(http::verb::get, "/", 11);
    request.set(http::field::host, "127.0.0.1");
    http::write(socket, request);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    http::read(socket, buffer, response);
    ASSERT_EQ(response.result(), http::status::ok);
    EXPECT_THAT(response.body(), HasSubstr("callee-g1-basic"));
    EXPECT_THAT(response.body(), HasSubstr("new WebSocket("));
  }
  // A browser that never reads, with a small window.
  websocket::stream<tcp::socket> stuck(io);
  stuck.next_layer().open(tcp::v4());
  stuck.next_layer().set_option(asio::socket_base::receive_buffer_size(4096));
  asio::connect(stuck.next_layer(), resolver.resolve("127.0.0.1", port));
  stuck.handshake("127.0.0.1", "/live");

  websocket::stream<tcp::socket> ws(io);
  asio::connect(ws.next_layer(), resolver.resolve("127.0.0.1", port));
  ws.handshake("127.0.0.1", "/live");
  int stanzas_while_running = 0;
  int media_while_running = 0;
  const std::string done = FollowUntilDone(ws, [&](const std::string& message) {
    if (!absl::StartsWith(message, "{\"type\":\"update\"") || !run.Running())
      return;
    if (absl::StrContains(message, "{\"kind\":\"stanza\""))
      ++stanzas_while_running;
    if (absl::StrContains(message, "{\"kind\":\"media\"")) {
      ++media_while_running;
      EXPECT_THAT(message, HasSubstr("data-plot=\\\"pps\\\""));
    }
  });
  ASSERT_FALSE(done.empty());
  EXPECT_GT(stanzas_while_running, 0);
  // The call lasts about three seconds, sampled every 250 ms.
  EXPECT_GT(media_while_running, 2);
  EXPECT_THAT(done, HasSubstr("<b class=\\\"codec\\\">ISAC/103</b>"));
  std::string rest;
  for (std::string line = run.Line(); !line.empty(); line = run.Line())
    rest += line;
  // The final state is the run's verdict (a machine loaded enough can fail
  // the call's media figures: the live view reports that as it is).
  const int exit_code = run.Wait();
  if (exit_code == 0) {
    EXPECT_THAT(done, HasSubstr("\"passed\":1,\"failed\":0,\"errors\":0"));
    EXPECT_THAT(done, HasSubstr("class=\\\"scenario pass\\\""));
    EXPECT_THAT(rest, HasSubstr("PASS  callee-g1-basic"));
  } else {
    EXPECT_EQ(exit_code, 1) << rest;
    EXPECT_THAT(done, HasSubstr("\"passed\":0,\"failed\":1,\"errors\":0"));
    EXPECT_THAT(done, HasSubstr("class=\\\"scenario fail\\\""));
  }
}

// --serve_wait holds the run until a browser has the WebSocket open: after
// longer than the whole call takes, the run is still there, and every stanza
// comes after the page connected.
TEST(LiveRunTest, ServeWaitHoldsTheRunUntilABrowserComes) {
  Talkcheck run({"run", "--serve=127.0.0.1:0", "--serve_wait=60s",
                 "scenarios/callee-g1-basic.xml"});
  const std::string port = LiveReportPort(run.Line());
  ASSERT_FALSE(port.empty());
  EXPECT_THAT(run.Line(), HasSubstr("waiting up to 1m for a browser"));
  sleep(6);  // the call itself takes about 3 s
  ASSERT_TRUE(run.Running());

  asio::io_context io;
  tcp::resolver resolver(io);
  websocket::stream<tcp::socket> ws(io);
  asio::connect(ws.next_layer(), resolver.resolve("127.0.0.1", port));
  ws.handshake("127.0.0.1", "/live");
  int stanzas = 0;
  const std::string done = FollowUntilDone(ws, [&](const std::string& message) {
    if (absl::StrContains(message, "{\"kind\":\"stanza\"")) ++stanzas;
  });
  ASSERT_FALSE(done.empty());
  EXPECT_GT(stanzas, 0);
  EXPECT_THAT(run.Wait(), ::testing::AnyOf(0, 1));
}

// Without a browser, the run starts when the wait has passed.
TEST(LiveRunTest, ServeWaitEndsWithoutABrowser) {
  Talkcheck run({"run", "--serve=127.0.0.1:0", "--serve_wait=200ms",
                 "scenarios/callee-g1-basic.xml"});
  std::string out;
  for (std::string line = run.Line(); !line.empty(); line = run.Line())
    out += line;
  EXPECT_THAT(out, HasSubstr("no browser came; the run starts"));
  EXPECT_THAT(out, HasSubstr("callee-g1-basic"));
  EXPECT_EQ(run.Wait(), 0) << out;
}

TEST(LiveRunTest, RefusesANonLoopbackAddressWithoutBeingTold) {
  Talkcheck run({"run", "--serve=0.0.0.0:0", "scenarios/callee-g1-basic.xml"});
  EXPECT_EQ(run.Wait(), 2);
}

}  // namespace
}  // namespace talkcheck::harness

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 2) {
    std::fprintf(stderr, "usage: live_run_test TALKCHECK\n");
    return 2;
  }
  talkcheck::harness::g_talkcheck = argv[1];
  return RUN_ALL_TESTS();
}
