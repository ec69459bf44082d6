#include "harness/record_command.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/asio_clock.h"
#include "fake_server/server.h"
#include "harness/record/call_recorder.h"
#include "harness/record/scenario_writer.h"
#include "harness/report/exit_codes.h"
#include "harness/run/client_log.h"
#include "harness/run/client_under_test.h"

namespace talkcheck::harness {
namespace {

struct Account {
  std::string username;
  std::string password;
};

absl::StatusOr<std::vector<Account>> ParseAccounts(
    const std::vector<std::string>& accounts) {
  std::vector<Account> parsed;
  for (const std::string& account : accounts) {
    std::vector<std::string> parts =
        absl::StrSplit(account, absl::MaxSplits(':', 1));
    if (parts.size() != 2 || parts[0].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--accounts wants user:password items, not '", account, "'"));
    }
    parsed.push_back({parts[0], parts[1]});
  }
  if (parsed.size() < 2)
    return absl::InvalidArgumentError("--accounts needs two accounts at least");
  return parsed;
}

// Every account is every other's contact, so that clients see each other
// online as they would on a real roster.
fake_server::ServerConfig ServerConfigFor(
    const RecordCommandOptions& options, const std::vector<Account>& accounts) {
  fake_server::ServerConfig config;
  config.set_domain(options.domain);
  config.add_listen(options.listen);
  config.set_tls(options.tls);
  for (const Account& account : accounts) {
    fake_server::Account* a = config.add_accounts();
    a->set_username(account.username);
    a->set_password(account.password);
    for (const Account& other : accounts) {
      if (other.username != account.username)
        a->add_roster()->set_jid(other.username);
    }
  }
  return config;
}

// The scenario's default name: the file's, without folder and `.xml`.
std::string NameFromPath(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  if (absl::EndsWith(name, ".xml")) name.resize(name.size() - 4);
  return name.empty() ? "recorded-call" : name;
}

// Whether the CUT is the caller: from --cut and the call's two sides.
absl::StatusOr<bool> CutIsCaller(const std::string& cut,
                                 const RecordedCall& call) {
  if (cut == "caller") return true;
  if (cut == "callee") return false;
  absl::StatusOr<xmpp::Jid> jid = xmpp::Jid::Parse(cut);
  if (jid.ok()) {
    for (const auto& [side, is_caller] :
         {std::pair{call.caller, true}, std::pair{call.callee, false}}) {
      if (jid->is_bare() ? jid->BareEquals(side) : *jid == side)
        return is_caller;
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--cut=", cut, " is neither 'caller', 'callee' nor a side ",
                   "of the call (caller ", call.caller.ToString(), ", callee ",
                   call.callee.ToString(), ")"));
}

// Available presence: "talkcheck record: JID is online", once per resource of
// a recorded account, so that whoever starts the clients knows when to call.
bool IsAvailablePresence(const fake_server::RoutedStanza& routed) {
  return routed.direction ==
             fake_server::RoutedStanza::Direction::kFromEndpoint &&
         routed.stanza.name() == "presence" &&
         routed.stanza.Attr("type") == nullptr;
}

void SayWhenOnline(const fake_server::RoutedStanza& routed,
                   const std::vector<xmpp::Jid>& accounts,
                   std::set<xmpp::Jid>& online) {
  if (!IsAvailablePresence(routed)) return;
  for (const xmpp::Jid& account : accounts) {
    if (account.BareEquals(routed.endpoint) &&
        online.insert(routed.endpoint).second) {
      std::cout << "talkcheck record: " << routed.endpoint.ToString()
                << " is online" << std::endl;
    }
  }
}

// The --client_cmd clients, started one after another: each once the one
// before has sent its presence, so that a caller listed after its callee
// finds it online. Runs on the io thread.
class ClientStarter {
 public:
  ClientStarter(boost::asio::io_context& io, Clock& clock,
                const RecordCommandOptions& options, CutLogin server,
                std::vector<xmpp::Jid> jids, std::vector<Account> accounts,
                const CallRecorder& recorder)
      : io_(io),
        clock_(clock),
        options_(options),
        server_(std::move(server)),
        jids_(std::move(jids)),
        accounts_(std::move(accounts)),
        recorder_(recorder) {}

  // Why the recording must stop: a client that could not start or ended
  // before the call did (exit code and message).
  const std::optional<std::pair<int, std::string>>& failure() const {
    return failure_;
  }

  void StartNext() {
    const size_t i = clients_.size();
    if (i >= options_.client_cmds.size()) return;
    Started started;
    started.command = options_.client_cmds[i];
    started.log = std::make_unique<ClientLog>(options_.client_log);
    started.client =
        MakeExternalClient(clock_, started.command, started.log->path());
    CutLogin login = server_;
    login.jid = jids_[i];
    login.password = accounts_[i].password;
    const std::string who = absl::StrCat("the client of ", jids_[i].ToString(),
                                         " (", started.command, ")");
    absl::Status status =
        started.client->Start(login, [this, who](const std::string& reason) {
          if (recorder_.done()) return;
          Fail(recorder_.started() ? kExitFail : kExitNotReady,
               absl::StrCat(who, " ended ",
                            recorder_.started() ? "during the" : "before any",
                            " call: ", reason));
        });
    if (!status.ok()) {
      Fail(kExitError,
           absl::StrCat("cannot start ", who, ": ", status.message()));
    }
    clients_.push_back(std::move(started));
  }

  // Router observer: the newest client's first available presence starts
  // the next one.
  void OnRouted(const fake_server::RoutedStanza& routed) {
    if (clients_.empty() || clients_.size() >= options_.client_cmds.size() ||
        !IsAvailablePresence(routed) ||
        !routed.endpoint.BareEquals(jids_[clients_.size() - 1]) ||
        next_posted_) {
      return;
    }
    next_posted_ = true;
    boost::asio::post(io_, [this] {
      next_posted_ = false;
      StartNext();
    });
  }

  // Stops every client and appends its output to --client_log.
  void StopAll() {
    for (Started& started : clients_) {
      started.client->Stop();
      started.log->Finish(absl::StrCat("talkcheck record: ", started.command));
    }
  }

 private:
  struct Started {
    std::string command;
    std::unique_ptr<ClientLog> log;
    std::unique_ptr<ClientUnderTest> client;
  };

  void Fail(int code, std::string message) {
    if (!failure_.has_value()) failure_.emplace(code, std::move(message));
  }

  boost::asio::io_context& io_;
  Clock& clock_;
  const RecordCommandOptions& options_;
  CutLogin server_;
  std::vector<xmpp::Jid> jids_;
  std::vector<Account> accounts_;
  const CallRecorder& recorder_;
  std::vector<Started> clients_;
  bool next_posted_ = false;
  std::optional<std::pair<int, std::string>> failure_;
};

}  // namespace

int RecordCommand(const RecordCommandOptions& options) {
  const auto fail = [](int code, absl::string_view message) {
    std::cerr << "talkcheck record: " << message << "\n";
    return code;
  };
  if (options.out.empty()) return fail(kExitError, "--out=FILE.xml is needed");
  absl::StatusOr<std::vector<Account>> accounts =
      ParseAccounts(options.accounts);
  if (!accounts.ok()) return fail(kExitError, accounts.status().message());
  if (options.client_cmds.size() > accounts->size()) {
    return fail(kExitError,
                absl::StrCat(options.client_cmds.size(), " --client_cmd for ",
                             accounts->size(),
                             " accounts: one command per account at most"));
  }

  boost::asio::io_context io;
  AsioClock clock(io);
  absl::StatusOr<std::unique_ptr<fake_server::FakeServer>> server =
      fake_server::FakeServer::Create(ServerConfigFor(options, *accounts), io,
                                      clock);
  if (!server.ok()) {
    return fail(kExitError,
                absl::StrCat("fake server: ", server.status().message()));
  }
  std::vector<xmpp::Jid> jids;
  for (const Account& account : *accounts) {
    jids.push_back(*xmpp::Jid::Create(account.username, options.domain, ""));
  }
  CallRecorder recorder(jids);
  (*server)->router().AddObserver(
      [&recorder](const fake_server::RoutedStanza& s) {
        recorder.OnRouted(s);
      });
  const std::string endpoint = (*server)->endpoints().front();
  std::cout << "talkcheck record: fake server on " << endpoint << " (TLS "
            << (options.tls == fake_server::ServerConfig::TLS_REQUIRED
                    ? "required"
                : options.tls == fake_server::ServerConfig::TLS_OPTIONAL
                    ? "optional"
                    : "off")
            << "); accounts:";
  for (size_t i = 0; i < accounts->size(); ++i) {
    std::cout << " " << jids[i].ToString() << " (password "
              << (*accounts)[i].password << ")";
  }
  std::cout << "; waiting up to " << absl::FormatDuration(options.timeout)
            << " for a call between them" << std::endl;

  CutLogin server_login;
  server_login.host = endpoint.substr(0, endpoint.rfind(':'));
  if (server_login.host.size() > 2 && server_login.host.front() == '[')
    server_login.host =
        server_login.host.substr(1, server_login.host.size() - 2);
  server_login.port = (*server)->port();
  ClientStarter clients(io, clock, options, server_login, jids, *accounts,
                        recorder);
  std::set<xmpp::Jid> online;
  (*server)->router().AddObserver([&](const fake_server::RoutedStanza& s) {
    SayWhenOnline(s, jids, online);
    clients.OnRouted(s);
  });
  clients.StartNext();

  // Ctrl-C ends the recording like the timeout, and the clients with it (they
  // run in process groups of their own, out of the terminal's reach).
  bool interrupted = false;
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&interrupted](const boost::system::error_code& ec, int) {
    if (!ec) interrupted = true;
  });
  bool timed_out = false;
  bool settled = false;
  std::unique_ptr<Timer> deadline =
      clock.CallAfter(options.timeout, [&timed_out] { timed_out = true; });
  std::unique_ptr<Timer> settle;
  while (!recorder.done() && !timed_out && !settled && !interrupted &&
         !clients.failure().has_value()) {
    if (recorder.ending() && settle == nullptr) {
      settle = clock.CallAfter(options.settle, [&settled] { settled = true; });
    }
    if (io.run_one() == 0) break;
  }
  deadline.reset();
  settle.reset();
  clients.StopAll();
  (*server)->Stop();
  io.restart();
  io.poll();

  if (clients.failure().has_value())
    return fail(clients.failure()->first, clients.failure()->second);
  const std::string until =
      interrupted
          ? "before the interrupt"
          : absl::StrCat("within ", absl::FormatDuration(options.timeout));
  absl::StatusOr<RecordedCall> call = recorder.Result();
  if (absl::IsNotFound(call.status())) {
    return fail(
        kExitFail,
        absl::StrCat("no call happened ", until, " between ",
                     absl::StrJoin(jids, ", ",
                                   [](std::string* out, const xmpp::Jid& jid) {
                                     out->append(jid.ToString());
                                   }),
                     ": log in as two of them and call one from the "
                     "other (or give --timeout more)"));
  }
  if (!call.ok()) return fail(kExitFail, call.status().message());
  if (!call->ended) {
    return fail(kExitFail,
                absl::StrCat("the call (session ", call->sid, " from ",
                             call->caller.ToString(), " to ",
                             call->callee.ToString(), ") did not end ", until,
                             ": hang up, or give --timeout more"));
  }
  absl::StatusOr<bool> cut_is_caller = CutIsCaller(options.cut, *call);
  if (!cut_is_caller.ok())
    return fail(kExitError, cut_is_caller.status().message());

  ScenarioWriterOptions writer;
  writer.name = options.name.empty() ? NameFromPath(options.out) : options.name;
  writer.cut_is_caller = *cut_is_caller;
  absl::StatusOr<std::string> text = WriteScenario(*call, writer);
  if (!text.ok()) return fail(kExitFail, text.status().message());
  std::ofstream file(options.out);
  file << *text;
  file.close();
  if (!file)
    return fail(kExitError, absl::StrCat("cannot write ", options.out));
  const xmpp::Jid& cut = *cut_is_caller ? call->caller : call->callee;
  std::cout << "talkcheck record: wrote " << options.out << ": the call from "
            << call->caller.ToString() << " to " << call->callee.ToString()
            << " (" << call->stanzas.size() << " iqs); the client under test "
            << "is the " << (*cut_is_caller ? "caller" : "callee") << " ("
            << cut.ToString() << ")" << std::endl;
  return kExitPass;
}

}  // namespace talkcheck::harness
