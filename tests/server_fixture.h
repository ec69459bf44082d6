// A `FakeServer` running on its own thread, for integration tests: the server
// side of every test in tests/.
//
// `TestServer` owns an io_context, an `AsioClock` and the server, and runs them
// on a background thread, so a test can talk to the server over real sockets
// with blocking calls (`RawClient`, or an external client process). It also
// plays the simulated Google Talk peer `peer@localhost/Talk.v104`: a virtual
// session that is available with Google's voice caps and answers every iq
// get/set addressed to it. Every stanza the router sees is recorded, so tests
// can assert what was routed and wait for a stanza to be routed.
//
// Example:
//   absl::StatusOr<std::unique_ptr<TestServer>> server =
//       TestServer::Start(TestServerConfig(ServerConfig::TLS_OFF));
//   ASSERT_TRUE(server.ok()) << server.status();
//   ... connect to (*server)->endpoint() ...
//   std::optional<RecordedStanza> iq = (*server)->WaitForStanza(
//       [](const RecordedStanza& s) { return s.stanza.name() == "iq"; },
//       absl::Seconds(5));
#ifndef TALKCHECK_TESTS_SERVER_FIXTURE_H_
#define TALKCHECK_TESTS_SERVER_FIXTURE_H_

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "base/asio_clock.h"
#include "fake_server/config.pb.h"
#include "fake_server/router.h"
#include "fake_server/router_testing.h"
#include "fake_server/server.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::integration {

// The accounts every test server has, and the simulated peer's resource.
inline constexpr char kDomain[] = "localhost";
inline constexpr char kCutUser[] = "cut";
inline constexpr char kCutPassword[] = "cutpass";
inline constexpr char kPeerUser[] = "peer";
inline constexpr char kPeerPassword[] = "peerpass";
inline constexpr char kPeerJid[] = "peer@localhost/Talk.v104";
// What the peer advertises (XEP-0115 legacy form, as Google Talk sent it).
inline constexpr char kPeerCapsVer[] = "1.0.0.104";
inline constexpr char kPeerCapsExt[] = "voice-v1";
// The disco#info node a client queries to resolve the peer's `voice-v1`
// extension.
inline constexpr char kVoiceNode[] =
    "http://www.google.com/xmpp/client/caps#voice-v1";

// Domain `localhost`, accounts cut/cutpass and peer/peerpass, listening on
// 127.0.0.1:0, with the given TLS mode. Callers change limits or add listen
// addresses (e.g. "[::1]:0") on the result.
fake_server::ServerConfig TestServerConfig(
    fake_server::ServerConfig::TlsMode tls);

using fake_server::router_testing::RecordedStanza;

class TestServer {
 public:
  // Starts the io thread, creates the server on it with `config`, attaches the
  // simulated peer and makes it available. Returns the server's error if
  // Create() fails.
  static absl::StatusOr<std::unique_ptr<TestServer>> Start(
      fake_server::ServerConfig config);

  // Stops the server on its thread, lets the io_context run out of work (every
  // connection closed, every timer cancelled) and joins the thread.
  ~TestServer();
  TestServer(const TestServer&) = delete;
  TestServer& operator=(const TestServer&) = delete;

  // The addresses listened on ("127.0.0.1:40411", "[::1]:40412"), in config
  // order.
  const std::vector<std::string>& endpoints() const { return endpoints_; }
  // The first of endpoints().
  const std::string& endpoint() const { return endpoints_.front(); }
  uint16_t port() const { return port_; }
  const xmpp::Jid& peer_jid() const { return peer_jid_; }

  // Runs `fn` on the server thread and returns its result once it has run. The
  // server
  // (`server()`) may only be touched from inside such a function. Must not be
  // called from the server thread itself.
  template <typename F>
  std::invoke_result_t<F> RunOnServerThread(F fn) {
    using Result = std::invoke_result_t<F>;
    std::packaged_task<Result()> task(std::move(fn));
    std::future<Result> done = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return done.get();
  }
  // Queues `fn` to run on the server thread and returns at once.
  template <typename F>
  void PostToServerThread(F fn) {
    boost::asio::post(io_, std::move(fn));
  }
  // Only on the server thread (see RunOnServerThread()).
  fake_server::FakeServer& server() { return *server_; }

  // Every stanza the router has routed so far, in order (thread-safe copy).
  std::vector<RecordedStanza> Routed() const;
  // Waits until a stanza matching `matcher` has been routed (including before
  // the call) and returns the first such; nullopt after `timeout`.
  using StanzaMatcher = std::function<bool(const RecordedStanza&)>;
  std::optional<RecordedStanza> WaitForStanza(const StanzaMatcher& matcher,
                                              absl::Duration timeout) const;

 private:
  TestServer();
  // On the server thread: creates the server and attaches the peer.
  absl::Status StartOnServerThread(fake_server::ServerConfig config);
  // The peer's handler for stanzas addressed to it.
  void OnPeerStanza(const xmpp::Element& stanza);
  void Record(const fake_server::RoutedStanza& routed);

  // Declared first so that it is destroyed last: handlers left in the queue may
  // hold connections that refer to the clock and the server.
  boost::asio::io_context io_;
  std::optional<
      boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      work_;
  AsioClock clock_;
  std::unique_ptr<fake_server::FakeServer> server_;
  std::unique_ptr<fake_server::VirtualSession> peer_;
  xmpp::Jid peer_jid_;
  std::vector<std::string> endpoints_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::future<void> thread_done_;

  mutable absl::Mutex mu_;
  std::vector<RecordedStanza> routed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace talkcheck::integration

#endif  // TALKCHECK_TESTS_SERVER_FIXTURE_H_
