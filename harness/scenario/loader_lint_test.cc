// The loader's soundness checks (issue 10 §1) and the alternatives and
// repetition it reads (§3): an author's mistake is an error or a warning at
// file:line:column before anything runs, never a verdict about the client.
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario/scenario_loader.h"

namespace talkcheck::harness {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kInitiate[] =
    R"(<send><iq to="${cut}" type="set" id="${iq}"><session xmlns="http://www.google.com/session" type="initiate" id="${sid}" initiator="${peer}"/></iq></send>)";

std::vector<std::string> Strings(const std::vector<LoadError>& list) {
  std::vector<std::string> out;
  for (const LoadError& e : list) out.push_back(e.ToString());
  return out;
}

LoadResult Load(const std::string& body, const std::string& attributes = "") {
  return LoadScenarioText(absl::StrCat("<scenario name=\"t\"", attributes,
                                       ">\n", body, "\n</scenario>\n"),
                          "t.xml");
}

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

void Write(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Test that an invalid regex is an error at the value's position, in an
// expect and in an expect-none (where it used to turn the check into a pass).
TEST(LoaderLintTest, InvalidRegexIsAnErrorAtItsPosition) {
  const LoadResult result = Load(
      "<expect within=\"1s\"><iq id=\"/(ab/\"/></expect>\n"
      "<expect-none for=\"1s\"><iq type=\"/[z-a]/\"/></expect-none>");
  EXPECT_THAT(Strings(result.errors),
              ElementsAre(HasSubstr("t.xml:2:29: invalid regular expression "
                                    "/(ab/: "),
                          HasSubstr("t.xml:3:33: invalid regular expression "
                                    "/[z-a]/: ")));
}

// Test that a backreference or repetition count of more than 9 digits is an
// invalid regex (libstdc++'s parser overflows a long on it: undefined
// behaviour that scenario_loader_fuzzer found), while long literal digit runs
// and counts of 9 digits stay valid.
TEST(LoaderLintTest, RegexNumbersStdRegexCannotCountAreInvalid) {
  const LoadResult bad = Load(
      "<expect within=\"1s\"><iq id=\"/(a)\\5555555555555555555/\"/></expect>\n"
      "<expect within=\"1s\"><iq id=\"/a{1,1234567890}/\"/></expect>");
  EXPECT_THAT(Strings(bad.errors),
              ElementsAre(HasSubstr("more than 9 digits at offset 3"),
                          HasSubstr("more than 9 digits at offset 4")));
  const LoadResult good = Load(
      "<expect within=\"1s\"><iq id=\"/12345678901234567890/\"/></expect>\n"
      "<expect within=\"1s\"><iq id=\"/(a)\\1{000000003}/\"/></expect>\n"
      "<expect within=\"1s\"><iq id=\"/[{]12345678901/\"/></expect>");
  EXPECT_THAT(Strings(good.errors), IsEmpty());
}

// Test that ${var} in a regex or a negation must be set before the step (they
// never capture), and that "!*" is refused.
TEST(LoaderLintTest, RegexAndNegationVariablesMustBeSet) {
  const LoadResult bad = Load(
      "<expect within=\"1s\"><iq id=\"/${x}-[0-9]+/\"/></expect>\n"
      "<expect within=\"1s\"><iq id=\"!${y}\" type=\"!*\"/></expect>");
  EXPECT_THAT(
      Strings(bad.errors),
      ElementsAre(
          HasSubstr("${x} in \"/${x}-[0-9]+/\" is not set before this step: "
                    "a regular expression never captures"),
          HasSubstr("${y} in \"!${y}\" is not set before this step: a "
                    "negation never captures"),
          HasSubstr("\"!*\" never matches")));
  const LoadResult good = Load(
      "<expect within=\"1s\"><iq id=\"${x}\"/></expect>\n"
      "<expect within=\"1s\"><iq id=\"/${x}-[0-9]+/\" type=\"!${x}\"/>"
      "</expect>");
  EXPECT_THAT(Strings(good.errors), IsEmpty());
  EXPECT_THAT(Strings(good.warnings), IsEmpty());
}

// Test that a capture never used again, and a new capture one typo away from
// a variable, are warnings (not errors), at the reference.
TEST(LoaderLintTest, WarnsOnUnusedAndMisspeltCaptures) {
  const LoadResult result = Load(
      "<expect within=\"1s\"><iq id=\"${sdi}\"/></expect>\n"
      "<expect within=\"1s\"><iq id=\"${ufrag}\"/></expect>");
  EXPECT_TRUE(result.ok());
  EXPECT_THAT(
      Strings(result.warnings),
      ElementsAre("t.xml:2:29: ${sdi} is a new capture (it matches any "
                  "value), one typo away from ${sid}: a misspelling?",
                  "t.xml:2:29: capture ${sdi} is never used after this step: "
                  "it matches any value (write \"*\" for that; a misspelt "
                  "name?)",
                  "t.xml:3:29: capture ${ufrag} is never used after this "
                  "step: it matches any value (write \"*\" for that; a "
                  "misspelt name?)"));
  // `csid` next to `sid` is a naming habit, not a typo; a later use counts.
  const LoadResult fine = Load(
      "<expect within=\"1s\"><iq id=\"${csid}\"/></expect>\n"
      "<send><iq id=\"${csid}\"/></send>");
  EXPECT_THAT(Strings(fine.warnings), IsEmpty());
}

// Test that a timeout shorter than the delays and expect-none periods is an
// error (one-of counts its shortest branch).
TEST(LoaderLintTest, TimeoutShorterThanStepsIsAnError) {
  const LoadResult result =
      Load("<delay for=\"3s\"/><expect-none for=\"3s\"/>", " timeout=\"5s\"");
  EXPECT_THAT(Strings(result.errors),
              ElementsAre(HasSubstr("t.xml:1:20: the scenario timeout 5000ms "
                                    "is shorter than the 6000ms")));
  EXPECT_TRUE(Load("<one-of within=\"1s\">"
                   "<branch><expect><iq/></expect><delay for=\"9s\"/></branch>"
                   "<branch><expect><iq/></expect></branch></one-of>",
                   " timeout=\"5s\"")
                  .ok());
}

// Test that controls which cannot apply are errors: answer/reject with
// nothing ringing, hangup with no call.
TEST(LoaderLintTest, ControlThatCannotApplyIsAnError) {
  EXPECT_THAT(Strings(Load("<control action=\"answer\"/>").errors),
              ElementsAre(HasSubstr("nothing can be ringing at the client")));
  EXPECT_THAT(Strings(Load("<control action=\"hangup\"/>").errors),
              ElementsAre(HasSubstr("no call to hang up here")));
  EXPECT_TRUE(
      Load(absl::StrCat(kInitiate, "<control action=\"answer\"/>")).ok());
  EXPECT_TRUE(
      Load("<control action=\"call\"/><control action=\"hangup\"/>").ok());
}

// Test that an unknown namespace on a Google session element is a warning.
TEST(LoaderLintTest, WarnsOnUnknownGoogleNamespace) {
  const LoadResult result = Load(
      "<expect within=\"1s\"><iq><session "
      "xmlns=\"http://www.google.com/sesion\" type=\"accept\"/></iq></expect>");
  EXPECT_TRUE(result.ok());
  EXPECT_THAT(Strings(result.warnings),
              ElementsAre(HasSubstr(
                  "<session> in namespace \"http://www.google.com/sesion\", "
                  "which talkcheck does not know")));
}

// Test that a variable doubling on itself is refused at lint, long before
// its expansion would exhaust memory.
TEST(LoaderLintTest, VariableExpansionIsBounded) {
  std::string vars = "<var name=\"v0\" value=\"xxxxxxxx\"/>\n";
  for (int i = 1; i < 40; ++i) {
    absl::StrAppend(&vars, "<var name=\"v", i, "\" value=\"${v", i - 1, "}${v",
                    i - 1, "}\"/>\n");
  }
  const LoadResult result = Load(vars);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(
      result.errors.front().message,
      HasSubstr("expands to more than 65536 bytes (kMaxVariableBytes)"));
}

// Test that includes of devices and FIFOs are refused without reading them.
TEST(LoaderLintTest, IncludeOfNonRegularFileIsAnError) {
  const std::string fifo = TempDir() + "/fifo.xml";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string main = TempDir() + "/main.xml";
  Write(main,
        "<scenario name=\"t\">\n<include file=\"/dev/zero\"/>\n"
        "<include file=\"fifo.xml\"/>\n</scenario>\n");
  const LoadResult result = LoadScenarioFile(main);
  EXPECT_THAT(Strings(result.errors),
              ElementsAre(HasSubstr("is not a regular file"),
                          HasSubstr("is not a regular file")));
}

// Test that an include of exactly kMaxScenarioFileBytes is read whole (its
// comment padding and the step after it) and one byte more is refused.
TEST(LoaderLintTest, IncludeSizeLimitIsExact) {
  const std::string dir = TempDir();
  const std::string head = "<fragment><!--";
  const std::string tail = "--><delay for=\"1s\"/></fragment>";
  for (const size_t size : {kMaxScenarioFileBytes, kMaxScenarioFileBytes + 1}) {
    SCOPED_TRACE(size);
    Write(dir + "/big.xml",
          head + std::string(size - head.size() - tail.size(), 'x') + tail);
    Write(dir + "/main.xml",
          "<scenario name=\"t\">\n<include file=\"big.xml\"/>\n"
          "</scenario>\n");
    const LoadResult result = LoadScenarioFile(dir + "/main.xml");
    if (size == kMaxScenarioFileBytes) {
      EXPECT_THAT(Strings(result.errors), ElementsAre());
      ASSERT_EQ(result.scenario.steps_size(), 1);
    } else {
      EXPECT_THAT(Strings(result.errors),
                  ElementsAre(HasSubstr("larger than 1048576 bytes")));
    }
  }
}

// Test that a diamond of includes (each file includes the next twice) ends
// with a clear error at once instead of taking exponential time.
TEST(LoaderLintTest, IncludeFanOutIsBounded) {
  const std::string dir = TempDir();
  for (int i = 0; i < 20; ++i) {
    Write(absl::StrCat(dir, "/d", i, ".xml"),
          absl::StrCat("<fragment><include file=\"d", i + 1,
                       ".xml\"/><include file=\"d", i + 1,
                       ".xml\"/></fragment>"));
  }
  Write(dir + "/d20.xml", "<fragment><delay for=\"1ms\"/></fragment>");
  Write(dir + "/diamond.xml",
        "<scenario name=\"t\"><include file=\"d0.xml\"/></scenario>");
  const auto start = std::chrono::steady_clock::now();
  const LoadResult result = LoadScenarioFile(dir + "/diamond.xml");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_THAT(Strings(result.errors),
              ElementsAre(HasSubstr("more than 500 includes (kMaxIncludes)")));
}

// Test that a one-of is flattened: the head with one first expect per
// branch, each branch's rest behind its anchor, jumps past the others; and
// that captures count after it only when every branch makes them.
TEST(LoaderLintTest, OneOfFlattensAndIntersectsCaptures) {
  const LoadResult result = Load(
      "<one-of within=\"2s\" label=\"choice\">\n"
      "  <branch><expect label=\"rej\"><iq type=\"${a}\" id=\"${b}\"/></expect>"
      "<send><iq id=\"${a}\"/></send></branch>\n"
      "  <branch><expect><iq type=\"${a}\"/></expect></branch>\n"
      "</one-of>\n"
      "<send><iq id=\"${a}\"/></send>");
  ASSERT_TRUE(result.ok()) << absl::StrJoin(Strings(result.errors), "\n");
  const auto& steps = result.scenario.steps();
  ASSERT_EQ(steps.size(), 8);
  const OneOfStep& head = steps[0].one_of();
  EXPECT_EQ(steps[0].label(), "choice");
  ASSERT_EQ(head.branches_size(), 2);
  EXPECT_EQ(head.branches(0).first().label(), "rej");
  EXPECT_EQ(head.branches(0).first().expect().within().ms(), 2000);
  EXPECT_EQ(steps[1].anchor(), head.branches(0).then());
  EXPECT_TRUE(steps[2].has_send());
  EXPECT_EQ(steps[3].jump().to(), steps[6].anchor());
  EXPECT_EQ(steps[4].anchor(), head.branches(1).then());
  EXPECT_TRUE(steps[7].has_send());
  // ${b} is captured in one branch only: undefined after the one-of.
  EXPECT_THAT(
      Strings(Load("<one-of within=\"2s\"><branch><expect><iq id=\"${b}\"/>"
                   "</expect></branch><branch><expect><iq/></expect></branch>"
                   "</one-of><send><iq id=\"${b}\"/></send>")
                  .errors),
      Contains(HasSubstr("undefined variable ${b}")));
  EXPECT_THAT(
      Strings(Load("<one-of within=\"2s\"><branch><send><iq/></send></branch>"
                   "</one-of>")
                  .errors),
      ElementsAre(HasSubstr("needs at least two <branch> elements"),
                  HasSubstr("a <branch> starts with an <expect>")));
}

// Test that a repeat is flattened to a head and an end, knows the captures it
// makes afresh each round, and that `until` and `max` are checked.
TEST(LoaderLintTest, RepeatFlattensAndChecksUntil) {
  const LoadResult result = Load(
      "<repeat max=\"3\" until=\"last\">\n"
      "  <one-of within=\"2s\">\n"
      "    <branch><expect label=\"last\"><iq id=\"${g}\"/></expect></branch>\n"
      "    <branch><expect><iq id=\"${g}\"/></expect></branch>\n"
      "  </one-of>\n"
      "</repeat><send><iq id=\"${g}\"/></send>");
  ASSERT_TRUE(result.ok()) << absl::StrJoin(Strings(result.errors), "\n");
  EXPECT_THAT(Strings(result.warnings), IsEmpty());
  const auto& steps = result.scenario.steps();
  EXPECT_EQ(steps[0].repeat().max(), 3);
  EXPECT_EQ(steps[0].repeat().until(), "last");
  EXPECT_THAT(steps[0].repeat().fresh(), ElementsAre("g"));
  EXPECT_EQ(steps[steps.size() - 2].repeat_end().head(), steps[0].anchor());

  EXPECT_THAT(Strings(Load("<repeat max=\"0\" until=\"nope\"><delay "
                           "for=\"1s\"/></repeat>")
                          .errors),
              ElementsAre(HasSubstr("max must be a whole number from 1 to "
                                    "1000"),
                          HasSubstr("until names no <expect> inside this "
                                    "<repeat> labelled \"nope\"")));
  EXPECT_THAT(Strings(Load("<repeat max=\"2\" until=\"x\"><expect label=\"x\" "
                           "within=\"1s\"><iq/></expect></repeat>")
                          .warnings),
              ElementsAre(HasSubstr("always ends after its first round")));
}

}  // namespace
}  // namespace talkcheck::harness
