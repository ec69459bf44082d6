// The runner's failure reports, against the in-process reference client on
// the virtual clock: the nearest stanza (id correlation, since the step began
// unless an earlier one comes nearer), variables written into the expected
// block, the exact mode's extra attribute, when a late stanza came, and how far
// a client that never became ready got.
#include "harness/run/runner.h"

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/asio_clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/run/client_under_test.h"
#include "harness/run/world.h"
#include "harness/scenario/profiles.h"
#include "harness/scenario/scenario_loader.h"
#include "reference_client/client_stream.h"

namespace talkcheck::harness {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

Scenario LoadText(const std::string& text) {
  LoadResult loaded = LoadScenarioText(text, "inline.xml");
  for (const LoadError& e : loaded.errors) ADD_FAILURE() << e.ToString();
  return loaded.scenario;
}

Scenario LoadFile(const std::string& file) {
  LoadResult loaded = LoadScenarioFile(file);
  for (const LoadError& e : loaded.errors) ADD_FAILURE() << e.ToString();
  return loaded.scenario;
}

ScenarioResult RunScenario(const Scenario& scenario, const ClientSpec& client,
                           RunnerOptions options = {}) {
  absl::StatusOr<ScenarioResult> result =
      RunInVirtualWorld(scenario, "inline.xml", client, std::move(options));
  EXPECT_TRUE(result.ok()) << result.status();
  return result.ok() ? *std::move(result) : ScenarioResult();
}

ClientSpec Reference(const std::string& faults = "") {
  ClientSpec client;
  client.faults = faults;
  return client;
}

const StepResult* FirstFailed(const ScenarioResult& result) {
  for (const StepResult& step : result.steps())
    if (step.verdict() == FAIL) return &step;
  return nullptr;
}

// Verifies that a missing ack is compared with nothing that came before the
// step (the disco get the client sent on the peer's presence), that the report
// says no stanza with the ack's id arrived, and when the failure happened.
TEST(RunnerReportTest, NearestStanzaIsCorrelatedByIdAndRecent) {
  ScenarioResult result = RunScenario(
      LoadFile("scenarios/seed-initiate-ack.xml"), Reference("no-ack"));
  ASSERT_EQ(result.verdict(), FAIL) << result.failure();
  const StepResult* step = FirstFailed(result);
  ASSERT_NE(step, nullptr);
  EXPECT_EQ(step->number(), step->index() + 1);
  EXPECT_THAT(step->diff(), HasSubstr("no stanza with id '21' arrived"));
  EXPECT_THAT(step->diff(), Not(HasSubstr("got 'get'")));
  EXPECT_THAT(step->message(), HasSubstr("failed at 15.000s into the run"));
}

// Verifies that a stanza from before the step that the step would take (the
// client's candidates, sent while it rang, before its user answered) is the
// nearest one when nothing nearer came since, and is said to be earlier.
TEST(RunnerReportTest, NearestStanzaMayPrecedeTheStep) {
  ScenarioResult result = RunScenario(LoadFile("scenarios/callee-g1-basic.xml"),
                                      Reference("missing-password-attr"));
  ASSERT_EQ(result.verdict(), FAIL) << result.failure();
  const StepResult* step = FirstFailed(result);
  ASSERT_NE(step, nullptr);
  EXPECT_THAT(step->diff(), HasSubstr("missing attribute password"));
  EXPECT_THAT(step->diff(), HasSubstr("before this step began"));
}

// Verifies that a step the profile does not demand, which cannot run because
// an earlier such step was skipped (an accept answering an initiate the client
// never sent), is a warning too: under interop the scenario passes with two
// warnings; under its profile the first step fails it.
TEST(RunnerReportTest, ProfileStepThatCannotRunAfterASkippedOneWarns) {
  const std::string text =
      R"(<scenario name="x" timeout="30s" profile="libjingle-0.4">
  <peer user="peer" resource="Talk.v104" role="callee"/>
  <expect within="2s">
    <iq type="set"><session xmlns="http://www.google.com/session" type="initiate" id="${csid}"/></iq>
  </expect>
  <send>
    <iq to="${cut}" type="set" id="${iq}">
      <session xmlns="http://www.google.com/session" type="accept" id="${csid}" initiator="${cut}">
        <description xmlns="http://www.google.com/session/phone">${codecs:answer}</description>
      </session>
    </iq>
  </send>
</scenario>)";
  Scenario scenario = LoadText(text);
  ASSERT_TRUE(ApplyProfile("interop", scenario).ok());
  ScenarioResult result = RunScenario(scenario, Reference());
  EXPECT_EQ(result.verdict(), PASS) << result.failure();
  ASSERT_EQ(result.warnings_size(), 2) << result.DebugString();
  EXPECT_THAT(result.warnings(1),
              AllOf(HasSubstr("could not run once an earlier step of that "
                              "profile was skipped"),
                    HasSubstr("no initiate from the client to answer")));

  Scenario demanded = LoadText(text);
  ASSERT_TRUE(ApplyProfile("libjingle-0.4", demanded).ok());
  result = RunScenario(demanded, Reference());
  EXPECT_EQ(result.verdict(), FAIL) << result.failure();
}

// Verifies that a G2-caller scenario does not apply to a client that calls
// in G1 or G3 (verdict SKIPPED, the reason said, the steps after not run),
// and still checks one that calls in G2: a G2 caller that refuses the
// peer's transport-accept fails it.
TEST(RunnerReportTest, G2CallerScenarioDoesNotApplyToAG1Caller) {
  const Scenario scenario =
      LoadFile("scenarios/g2-caller-transport-accept.xml");
  for (const char* dialect : {"g1", "g3"}) {
    SCOPED_TRACE(dialect);
    ClientSpec client = Reference();
    client.dialect = dialect;
    const ScenarioResult result = RunScenario(scenario, client);
    EXPECT_EQ(result.verdict(), SKIPPED) << result.failure();
    EXPECT_THAT(result.failure(),
                AllOf(HasSubstr("not applicable: the client placed its call "
                                "in G1"),
                      HasSubstr("this scenario checks a G2 caller")));
    EXPECT_EQ(FirstFailed(result), nullptr);
  }
  ClientSpec g2 = Reference();
  g2.dialect = "g2";
  EXPECT_EQ(RunScenario(scenario, g2).verdict(), PASS);
  g2.faults = "refuse-transport-accept";
  EXPECT_EQ(RunScenario(scenario, g2).verdict(), FAIL);
}

// Verifies that g2-transport-accept tells a G1 callee (libjingle >= 0.5,
// the reference client as g3: no transport-accept, `candidates` once
// answered) from a G2 callee that leaves the transport-accept out: the first
// does not apply, the second fails with the rule and its sources; a G2
// callee that sends it passes.
TEST(RunnerReportTest, G2CalleeScenarioTellsAG1CalleeFromAFaultyOne) {
  const Scenario scenario = LoadFile("scenarios/g2-transport-accept.xml");
  ClientSpec g3 = Reference();
  g3.dialect = "g3";
  const ScenarioResult g1_callee = RunScenario(scenario, g3);
  EXPECT_EQ(g1_callee.verdict(), SKIPPED) << g1_callee.failure();
  EXPECT_THAT(g1_callee.failure(),
              HasSubstr("not applicable: the client answered a G2 initiate "
                        "in G1"));

  EXPECT_EQ(RunScenario(scenario, Reference()).verdict(), PASS);

  const ScenarioResult faulty =
      RunScenario(scenario, Reference("no-transport-accept"));
  EXPECT_EQ(faulty.verdict(), FAIL);
  EXPECT_THAT(faulty.failure(),
              AllOf(HasSubstr("(end)"),
                    HasSubstr("without the empty transport-accept a G2 "
                              "callee sends at once after its ack"),
                    HasSubstr("Session::ChooseTransport")));
}

// Verifies that the expected block shows variables with their values, and
// that with exact="true" the difference names the extra attribute.
TEST(RunnerReportTest, ExpandedVariablesAndExactExtraAttribute) {
  ScenarioResult result =
      RunScenario(LoadText(R"(<scenario name="exact" timeout="30s">
  <var name="q" value="disco-1"/>
  <send>
    <iq to="${cut}" type="get" id="${q}">
      <query xmlns="http://jabber.org/protocol/disco#info"/>
    </iq>
  </send>
  <expect within="2s" exact="true"><iq type="result" id="${q}"/></expect>
</scenario>)"),
                  Reference());
  ASSERT_EQ(result.verdict(), FAIL) << result.failure();
  const StepResult* step = FirstFailed(result);
  ASSERT_NE(step, nullptr);
  EXPECT_THAT(step->diff(), HasSubstr("<iq type=\"result\" id=\"disco-1\"/>"));
  EXPECT_THAT(step->diff(), HasSubstr("variables: ${q} = 'disco-1'"));
  EXPECT_THAT(step->diff(), HasSubstr("unexpected"));
  EXPECT_THAT(step->difference().reason(), HasSubstr("(exact)"));
  EXPECT_FALSE(step->difference().actual().empty());
}

// Verifies that a stanza that comes after the bound (while the run settles)
// is reported with its arrival time.
TEST(RunnerReportTest, LateStanzaIsReportedWithItsTime) {
  RunnerOptions options;
  options.settle = absl::Seconds(30);
  ScenarioResult result =
      RunScenario(LoadFile("scenarios/seed-initiate-ack.xml"),
                  Reference("late-ack"), options);
  ASSERT_EQ(result.verdict(), FAIL) << result.failure();
  EXPECT_THAT(result.failure(),
              HasSubstr("a matching stanza arrived late, at 20.000s (bound "
                        "15.000s)"));
}

// The seed's initiate and ack, with the ack's expect going on after its bound
// (on-timeout="continue") and a delay that lets a late ack arrive.
constexpr char kAckThenDelay[] = R"(<scenario name="late" timeout="60s">
  <peer user="peer" resource="Talk.v104" role="caller"/>
  <send>
    <iq to="${cut}" type="set" id="${iq}">
      <session xmlns="http://www.google.com/session" type="initiate" id="${sid}" initiator="${peer}">
        <description xmlns="http://www.google.com/session/phone"><payload-type id="0" name="PCMU"/></description>
      </session>
    </iq>
  </send>
  <expect within="15s" on-timeout="continue"><iq type="result" id="${last_id}"/></expect>
  <delay for="10s"/>
</scenario>)";

// Verifies that a stanza that comes after the bound is reported with its time
// also when the run goes on past the expect (not only while it settles).
TEST(RunnerReportTest, LateStanzaIsReportedWhileTheRunGoesOn) {
  ScenarioResult result =
      RunScenario(LoadText(kAckThenDelay), Reference("late-ack"));
  ASSERT_EQ(result.verdict(), PASS) << result.failure();
  ASSERT_GE(result.steps_size(), 2);
  const StepResult& ack = result.steps(1);
  EXPECT_EQ(ack.verdict(), SKIPPED);
  EXPECT_THAT(ack.message(), HasSubstr("(on-timeout: continue)"));
  EXPECT_THAT(ack.message(),
              HasSubstr("a matching stanza arrived late, at 20.000s (bound "
                        "15.000s)"));
}

// Verifies that the late note and the nearest-stanza report match as the
// step does: a stanza that came in time but only fits the pattern without
// exact="true" is the step's difference, never "a matching stanza arrived
// late" once later traffic arrives.
TEST(RunnerReportTest, NotesMatchWithTheStepsExactMode) {
  ScenarioResult result =
      RunScenario(LoadText(R"(<scenario name="exact-late" timeout="30s">
  <send>
    <iq to="${cut}" type="get" id="q1">
      <query xmlns="http://jabber.org/protocol/disco#info"/>
    </iq>
  </send>
  <expect within="2s" exact="true" on-timeout="continue"><iq type="result" id="q1"/></expect>
  <send>
    <iq to="${cut}" type="get" id="q2">
      <query xmlns="http://jabber.org/protocol/disco#info"/>
    </iq>
  </send>
  <expect within="2s"><iq type="result" id="q2"/></expect>
</scenario>)"),
                  Reference());
  ASSERT_GE(result.steps_size(), 2);
  const StepResult& exact = result.steps(1);
  EXPECT_EQ(exact.verdict(), SKIPPED);
  EXPECT_THAT(exact.message(), Not(HasSubstr("arrived late")));
  EXPECT_THAT(exact.difference().reason(), HasSubstr("(exact)"));

  // exact="children" alike: the report names the extra child.
  result =
      RunScenario(LoadText(R"(<scenario name="exact-children" timeout="30s">
  <send>
    <iq to="${cut}" type="get" id="q1">
      <query xmlns="http://jabber.org/protocol/disco#info"/>
    </iq>
  </send>
  <expect within="2s" exact="children"><iq type="result" id="q1"/></expect>
</scenario>)"),
                  Reference());
  ASSERT_EQ(result.verdict(), FAIL) << result.failure();
  const StepResult* step = FirstFailed(result);
  ASSERT_NE(step, nullptr);
  EXPECT_THAT(step->difference().reason(), HasSubstr("unexpected extra child"));
}

// Verifies that when the stanza an expect waits for came before the step
// began and an earlier step took it, the report says so and when.
TEST(RunnerReportTest, EarlyStanzaIsReportedWithItsTime) {
  ScenarioResult result =
      RunScenario(LoadText(R"(<scenario name="early" timeout="30s">
  <send>
    <iq to="${cut}" type="get" id="q1">
      <query xmlns="http://jabber.org/protocol/disco#info"/>
    </iq>
  </send>
  <expect within="2s"><iq type="result" id="q1"/></expect>
  <delay for="1s"/>
  <expect within="2s"><iq type="result" id="q1"/></expect>
</scenario>)"),
                  Reference());
  ASSERT_EQ(result.verdict(), FAIL) << result.failure();
  EXPECT_THAT(result.failure(),
              HasSubstr("a matching stanza did arrive, early, at "));
  EXPECT_THAT(result.failure(), HasSubstr("(an earlier step took it)"));
  EXPECT_THAT(result.failure(), HasSubstr("step 4 (expect) at inline.xml:9"));
}

// Verifies that steps are numbered as the author reads them: a one-of's
// branch steps as 2.b.N, a repeat's as 3.N, the same in every record.
TEST(RunnerReportTest, StepNumbersFollowTheFile) {
  ScenarioResult result =
      RunScenario(LoadText(R"(<scenario name="numbers" timeout="30s">
  <send>
    <iq to="${cut}" type="get" id="q1">
      <query xmlns="http://jabber.org/protocol/disco#info"/>
    </iq>
  </send>
  <one-of within="2s">
    <branch><expect><message/></expect><delay for="1s"/></branch>
    <branch><expect><iq type="result" id="q1"/></expect><delay for="1s"/></branch>
  </one-of>
  <repeat max="2">
    <delay for="1s"/>
    <expect-none for="1s"><message/></expect-none>
  </repeat>
  <expect within="1s"><message/></expect>
</scenario>)"),
                  Reference());
  ASSERT_EQ(result.verdict(), FAIL) << result.failure();
  std::vector<std::string> numbers;
  for (const StepResult& step : result.steps()) {
    numbers.push_back(step.step_number());
    EXPECT_EQ(step.number(), std::stoi(step.step_number())) << step.kind();
  }
  EXPECT_THAT(numbers, ::testing::ElementsAre("1", "2", "2.b.2", "3.1", "3.2",
                                              "3.1", "3.2", "4"));
  EXPECT_THAT(result.failure(), HasSubstr("step 4 (expect) at inline.xml:15"));
}

// A client that logs in with another password than the account's.
class WrongPasswordClient : public ClientUnderTest {
 public:
  explicit WrongPasswordClient(std::unique_ptr<ClientUnderTest> inner)
      : inner_(std::move(inner)) {}
  std::string description() const override { return "wrong password"; }
  absl::Status Start(
      const CutLogin& login,
      std::function<void(const std::string&)> on_failure) override {
    CutLogin wrong = login;
    wrong.password = "not-the-password";
    return inner_->Start(wrong, std::move(on_failure));
  }
  absl::Status Control(const std::string& a, const std::string& t) override {
    return inner_->Control(a, t);
  }
  void Stop() override { inner_->Stop(); }

 private:
  std::unique_ptr<ClientUnderTest> inner_;
};

// Verifies that a client refused at SASL says so: the mechanism, the
// condition, and its login as the server saw it.
TEST(RunnerReportTest, NeverReadySaysHowFarTheClientGot) {
  ClientSpec client;
  client.in_process = [](boost::asio::io_context& io, Clock& clock,
                         absl::BitGenRef bitgen,
                         media_sim::DatagramNetwork& network) {
    reference_client::VoiceClientOptions options;
    options.network = &network;
    return std::make_unique<WrongPasswordClient>(
        MakeReferenceClient(io, clock, bitgen, options));
  };
  ScenarioResult result =
      RunScenario(LoadFile("scenarios/seed-initiate-ack.xml"), client);
  EXPECT_EQ(result.verdict(), ERROR);
  EXPECT_EQ(result.failure_type(), "client/never-ready");
  EXPECT_THAT(result.failure(), HasSubstr(kCutNeverReady));
  EXPECT_THAT(result.failure(),
              HasSubstr("connected, SASL PLAIN, SASL failed: not-authorized"));
  EXPECT_THAT(result.login(), HasSubstr("stream 1: connected"));
}

// A client that logs in, binds and establishes its session, and then says
// nothing: no available presence.
class BoundButSilentClient : public ClientUnderTest {
 public:
  BoundButSilentClient(boost::asio::io_context& io, Clock& clock,
                       absl::BitGenRef bitgen)
      : io_(io), clock_(clock), bitgen_(bitgen) {}
  std::string description() const override { return "bound, no presence"; }
  absl::Status Start(const CutLogin& login,
                     std::function<void(const std::string&)>) override {
    reference_client::ClientStreamOptions options;
    absl::StatusOr<xmpp::Jid> jid = login.jid.WithResource("silent");
    if (!jid.ok()) return jid.status();
    options.jid = *jid;
    options.password = login.password;
    options.host = login.host;
    options.port = login.port;
    options.connect_in_memory = login.connect_in_memory;
    options.require_tls = false;
    options.sasl_mechanism = "PLAIN";
    stream_ = std::make_unique<reference_client::ClientStream>(
        io_, clock_, bitgen_, options);
    stream_->Connect([](absl::Status) {});
    return absl::OkStatus();
  }
  absl::Status Control(const std::string&, const std::string&) override {
    return absl::OkStatus();
  }
  void Stop() override {
    if (stream_ != nullptr) stream_->Close();
    stream_.reset();
  }

 private:
  boost::asio::io_context& io_;
  Clock& clock_;
  absl::BitGenRef bitgen_;
  std::unique_ptr<reference_client::ClientStream> stream_;
};

// Verifies that a client that binds but sends no presence is told apart from
// one refused at login: the report says it was bound and sent no available
// presence.
TEST(RunnerReportTest, NeverReadyBoundButNoPresence) {
  ClientSpec client;
  client.in_process = [](boost::asio::io_context& io, Clock& clock,
                         absl::BitGenRef bitgen, media_sim::DatagramNetwork&) {
    return std::make_unique<BoundButSilentClient>(io, clock, bitgen);
  };
  ScenarioResult result =
      RunScenario(LoadFile("scenarios/seed-initiate-ack.xml"), client);
  EXPECT_EQ(result.verdict(), ERROR);
  EXPECT_EQ(result.failure_type(), "client/never-ready");
  // The server offers the RFC 3921 session as optional: none was asked for.
  EXPECT_THAT(result.failure(),
              HasSubstr("authenticated as cut, bound cut@localhost/silent, no "
                        "session iq, no available presence"));
  EXPECT_THAT(result.failure(), Not(HasSubstr("SASL failed")));
}

// A client that never connects at all.
class SilentClient : public ClientUnderTest {
 public:
  std::string description() const override { return "silent"; }
  absl::Status Start(const CutLogin&,
                     std::function<void(const std::string&)>) override {
    return absl::OkStatus();
  }
  absl::Status Control(const std::string&, const std::string&) override {
    return absl::OkStatus();
  }
  void Stop() override {}
};

TEST(RunnerReportTest, NeverReadyWithoutConnecting) {
  ClientSpec client;
  client.in_process = [](boost::asio::io_context&, Clock&, absl::BitGenRef,
                         media_sim::DatagramNetwork&) {
    return std::make_unique<SilentClient>();
  };
  ScenarioResult result =
      RunScenario(LoadFile("scenarios/seed-initiate-ack.xml"), client);
  EXPECT_EQ(result.verdict(), ERROR);
  EXPECT_THAT(result.failure(),
              HasSubstr("within 20s: it never connected to the fake server"));
}

// Verifies that a client killed by a signal is named by the signal, also when
// the shell that started it reports the death as 128 + N.
// A client that learns voice support by disco (the reference client with
// voice_caps_from_disco, as gabble and libpurple) in process.
ClientSpec CapsByDiscoClient() {
  ClientSpec client;
  client.in_process = [](boost::asio::io_context& io, Clock& clock,
                         absl::BitGenRef bitgen,
                         media_sim::DatagramNetwork& network) {
    reference_client::VoiceClientOptions options;
    options.network = &network;
    options.voice_caps_from_disco = true;
    return MakeReferenceClient(io, clock, bitgen, options);
  };
  return client;
}

// Verifies that the first call goes to a client that learns voice support by
// disco only once the peer answered its caps disco (issue 9 §2): without the
// wait, such a client cannot call the peer yet and the scenario fails.
TEST(RunnerCallTest, FirstCallWaitsForThePeersCapsDisco) {
  const Scenario scenario = LoadFile("scenarios/caller-g1-basic.xml");
  const ScenarioResult waited = RunScenario(scenario, CapsByDiscoClient());
  EXPECT_EQ(waited.verdict(), PASS) << waited.failure();

  RunnerOptions no_wait;
  no_wait.call_caps_wait = absl::ZeroDuration();
  const ScenarioResult hasty =
      RunScenario(scenario, CapsByDiscoClient(), no_wait);
  EXPECT_EQ(hasty.verdict(), FAIL);
  EXPECT_THAT(hasty.failure(), HasSubstr("is not known to take voice calls"));
}

// Verifies that nothing is waited for that cannot come: a peer that answers
// no disco is not waited for (the client then refuses the call), and a
// client that reads the ext tokens calls at once.
TEST(RunnerCallTest, NoWaitForWhatCannotCome) {
  Scenario scenario = LoadFile("scenarios/caller-g1-basic.xml");
  scenario.mutable_peer()->mutable_behaviour()->set_answer_disco(false);
  const ScenarioResult unanswered = RunScenario(scenario, CapsByDiscoClient());
  EXPECT_EQ(unanswered.verdict(), FAIL);
  EXPECT_THAT(unanswered.failure(),
              HasSubstr("is not known to take voice calls"));

  const ScenarioResult plain =
      RunScenario(LoadFile("scenarios/caller-g1-basic.xml"), Reference());
  EXPECT_EQ(plain.verdict(), PASS) << plain.failure();
  ASSERT_GT(plain.steps_size(), 0);
  EXPECT_EQ(plain.steps(0).kind(), "control");
  EXPECT_EQ(plain.steps(0).duration_us(), 0);
}

TEST(ExitReasonTest, NamesTheSignal) {
  EXPECT_EQ(ExitReason(SIGSEGV), "client process killed by SIGSEGV");
  EXPECT_EQ(ExitReason(139 << 8),
            "client process killed by SIGSEGV (the shell that started it "
            "exited with status 139)");
  EXPECT_EQ(ExitReason(3 << 8), "client process exited with status 3");
}

// A control line to an external client that is already gone (it exited
// before the 100 ms exit poll saw it) fails the step with the exit status:
// the client's failure, not a broken run. The death is reported as a failure
// of the run too, as the poll would have: the step's failure alone may be
// excused by the run's profile, the client's death may not.
TEST(ExternalClientTest, ControlAfterTheClientExitedSaysHowItEnded) {
  signal(SIGPIPE, SIG_IGN);  // as talkcheck's main does
  boost::asio::io_context io;
  AsioClock clock(io);
  std::unique_ptr<ClientUnderTest> cut =
      MakeExternalClient(clock, "exit 3", "");
  CutLogin login;
  login.host = "127.0.0.1";
  std::vector<std::string> failures;
  ASSERT_TRUE(
      cut->Start(login,
                 [&](const std::string& reason) { failures.push_back(reason); })
          .ok());
  // The shell exits at once, and io never runs the poll; until it has exited
  // (a while on a loaded machine), a line still fits in the pipe.
  absl::Status status;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  do {
    usleep(50000);
    status = cut->Control("call", "peer@example.com");
  } while (status.ok() && absl::Now() < deadline);
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_THAT(status.message(),
              testing::HasSubstr("client process exited with status 3"));
  io.run_for(std::chrono::milliseconds(300));
  EXPECT_THAT(failures, testing::ElementsAre("client process exited with "
                                             "status 3"));
  cut->Stop();
}

}  // namespace
}  // namespace talkcheck::harness

namespace talkcheck::harness {
namespace {

// A media step whose window holds fewer frames of the negotiated codec than
// it asks for ends in an error of the scenario, not a failure of the client:
// the peer cannot send what its pace does not allow. With the window it
// needs, the same client passes.
TEST(RunnerMediaTest, WindowTooShortForTheCodecIsNotTheClientsFailure) {
  const std::string path = "scenarios/callee-g1-basic.xml";
  LoadResult base = LoadScenarioFile(path);
  ASSERT_TRUE(base.ok());
  for (const bool short_window : {true, false}) {
    SCOPED_TRACE(short_window ? "1 s window" : "8 s window");
    Scenario scenario = base.scenario;
    for (Step& step : *scenario.mutable_steps()) {
      if (step.has_media() && short_window) {
        step.mutable_media()->mutable_within()->set_ms(1000);
      }
    }
    const ScenarioResult result = RunScenario(scenario, Reference());
    if (!short_window) {
      EXPECT_EQ(result.verdict(), PASS) << result.failure();
      continue;
    }
    EXPECT_EQ(result.verdict(), ERROR) << result.failure();
    EXPECT_EQ(FirstFailed(result), nullptr);
    EXPECT_THAT(result.failure(), HasSubstr("frames of"));
    EXPECT_THAT(result.failure(), HasSubstr("not a verdict on the client"));
  }
}

// A live view sees the run as it goes: every stanza of the transcript, every
// step's verdict, and the media step's samples, each when it happens.
TEST(RunnerProgressTest, ReportsStanzasStepsAndMediaSamplesAsTheyHappen) {
  std::vector<StanzaRecord> stanzas;
  std::vector<StepResult> steps;
  std::vector<std::pair<int, MediaSample>> samples;  // by step index
  RunnerOptions options;
  options.progress.stanza = [&](const StanzaRecord& r) {
    stanzas.push_back(r);
  };
  options.progress.step = [&](const StepResult& s) {
    // Stanzas come before the verdict of the step that waited for them.
    EXPECT_FALSE(stanzas.empty());
    steps.push_back(s);
  };
  options.progress.media_sample = [&](const StepResult& step,
                                      const MediaSample& sample) {
    samples.emplace_back(step.index(), sample);
  };
  const ScenarioResult result = RunScenario(
      LoadFile("scenarios/callee-g1-basic.xml"), Reference(), options);
  ASSERT_EQ(result.verdict(), PASS) << result.failure();
  ASSERT_EQ(stanzas.size(), static_cast<size_t>(result.transcript_size()));
  for (size_t i = 0; i < stanzas.size(); ++i)
    EXPECT_EQ(stanzas[i].xml(), result.transcript(i).xml());
  ASSERT_EQ(steps.size(), static_cast<size_t>(result.steps_size()));
  const StepResult* media = nullptr;
  for (const StepResult& step : result.steps())
    if (step.has_media() && !step.media().channel().empty()) media = &step;
  ASSERT_NE(media, nullptr);
  // Every whole 250 ms of the media step, handed over as it was taken.
  ASSERT_GE(samples.size(), 10u);
  EXPECT_GE(static_cast<int>(samples.size()),
            media->media().samples_size() - 1);
  for (const auto& [step, sample] : samples) {
    EXPECT_EQ(step, media->index());
    EXPECT_EQ(sample.duration_us(), 250000);
  }
}

}  // namespace
}  // namespace talkcheck::harness
