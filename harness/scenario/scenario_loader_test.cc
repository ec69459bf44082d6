#include "harness/scenario/scenario_loader.h"

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kTestdata[] = "harness/scenario/testdata/";

// The initiate of /work/shared/SEED.txt, as captured in 2005.
constexpr char kSeedInitiate[] =
    R"(<iq from="originatingparty@gmail.com/Talk.v64EC3F606D" type="set" id="21" >
<session xmlns="http://www.google.com/session" initiator="originatingparty@gmail.com/Talk.v64EC3F606D" type="initiate" id="3688330360" >
<description xmlns="http://www.google.com/session/phone">
<payload-type id="103" name="ISAC" />
<payload-type id="97" name="IPCMWB" />
<payload-type id="102" name="iLBC" />
<payload-type id="4" name="G723" />
<payload-type id="100" name="EG711U" />
<payload-type id="101" name="EG711A" />
<payload-type id="0" name="PCMU" />
<payload-type id="8" name="PCMA" />
<payload-type id="13" name="CN" />
</description>
</session>
</iq>)";

std::string Path(const std::string& name) { return kTestdata + name; }

std::vector<std::string> Errors(const LoadResult& result) {
  std::vector<std::string> out;
  for (const LoadError& error : result.errors) out.push_back(error.ToString());
  return out;
}

// Removes whitespace-only character data throughout `element`.
void DropWhitespace(xmpp::Element& element) {
  if (absl::StripAsciiWhitespace(element.Text()).empty()) element.SetText("");
  for (xmpp::Element* child : element.MutableChildren()) DropWhitespace(*child);
}

LoadResult Load(absl::string_view text, const LoadOptions& options = {}) {
  return LoadScenarioText(text, "inline.xml", options);
}

// Test that the 2005 capture loads as a scenario with every step in place.
TEST(ScenarioLoaderTest, LoadsSeedScenario) {
  const LoadResult result = LoadScenarioFile(Path("seed.xml"));
  ASSERT_THAT(Errors(result), IsEmpty());
  const Scenario& s = result.scenario;
  EXPECT_EQ(s.name(), "seed-initiate-ack");
  EXPECT_EQ(s.description(),
            "The 2005 capture: the CUT must ack a 9-codec initiate before the "
            "caller gives up.");
  EXPECT_EQ(s.location().file(), "harness/scenario/testdata/seed.xml");
  EXPECT_EQ(s.location().line(), 4);
  EXPECT_EQ(s.location().column(), 1);
  EXPECT_EQ(s.timeout().ms(), 30000);
  EXPECT_FALSE(s.timeout().is_range());
  EXPECT_THAT(s.tags(), ElementsAre("seed", "g1"));

  EXPECT_EQ(s.peer().user(), "originatingparty");
  EXPECT_EQ(s.peer().resource(), "Talk.v64EC3F606D");
  EXPECT_EQ(s.peer().role(), ROLE_CALLER);
  EXPECT_EQ(s.peer().dialect(), DIALECT_G1);
  EXPECT_EQ(s.peer().caps_node(), "http://www.google.com/xmpp/client/caps");
  EXPECT_EQ(s.peer().caps_ver(), "1.0.0.64");
  EXPECT_THAT(s.peer().caps_ext(), ElementsAre("voice-v1"));
  EXPECT_FALSE(s.peer().behaviour().has_ack_session_iqs());

  ASSERT_EQ(s.variables_size(), 1);
  EXPECT_EQ(s.variables(0).name(), "codec");
  EXPECT_EQ(s.variables(0).value(), "PCMU");

  ASSERT_EQ(s.steps_size(), 9);
  std::vector<Step::KindCase> kinds;
  for (const Step& step : s.steps()) kinds.push_back(step.kind_case());
  EXPECT_THAT(kinds,
              ElementsAre(Step::kSend, Step::kSend, Step::kExpect,
                          Step::kAnyOrder, Step::kSend, Step::kExpect,
                          Step::kMedia, Step::kControl, Step::kExpectNone));

  // The caps presence, exactly as written between the <send> tags.
  EXPECT_EQ(s.steps(0).send().stanza(),
            R"(<presence to="${cut}" >
      <status/>
      <priority>0</priority>
      <c xmlns="http://jabber.org/protocol/caps" node="http://www.google.com/xmpp/client/caps" ext="voice-v1" ver="1.0.0.64" />
      <x xmlns="jabber:x:delay" stamp="20050828T17:14:25" />
    </presence>)");
  EXPECT_EQ(s.steps(0).send().from(), SendStep::SENDER_PEER);
  EXPECT_EQ(s.steps(0).location().line(), 12);
  EXPECT_EQ(s.steps(0).location().column(), 3);

  // The initiate keeps its nine codecs; the comment after PCMU is gone.
  const std::string& initiate = s.steps(1).send().stanza();
  EXPECT_THAT(initiate, HasSubstr(R"(<payload-type id="0" name="PCMU" /> )"
                                  "\n"));
  EXPECT_THAT(initiate, Not(HasSubstr("<!--")));

  const Step& ack = s.steps(2);
  EXPECT_EQ(ack.label(), "ack");
  EXPECT_EQ(ack.on_timeout(), ON_TIMEOUT_FAIL);
  EXPECT_EQ(ack.expect().pattern(),
            R"(<iq to="${peer}" type="result" id="${last_id}" />)");
  EXPECT_EQ(ack.expect().within().ms(), 15000);
  EXPECT_TRUE(ack.expect().within().is_range());
  EXPECT_EQ(ack.expect().within().min_ms(), 0);
  EXPECT_EQ(ack.expect().within().max_ms(), 20000);
  EXPECT_FALSE(ack.expect().exact());
  EXPECT_FALSE(ack.expect().next());

  // The candidates, in any order; members inherit the group's bound.
  const Step& candidates = s.steps(3);
  EXPECT_EQ(candidates.on_timeout(), ON_TIMEOUT_GOTO);
  EXPECT_EQ(candidates.goto_label(), "hangup");
  EXPECT_EQ(candidates.any_order().within().ms(), 10000);
  ASSERT_EQ(candidates.any_order().steps_size(), 2);
  EXPECT_FALSE(candidates.any_order().steps(0).optional());
  EXPECT_TRUE(candidates.any_order().steps(1).optional());
  EXPECT_EQ(candidates.any_order().steps(1).location().line(), 49);
  EXPECT_EQ(candidates.any_order().steps(1).location().column(), 5);
  for (const Step& member : candidates.any_order().steps()) {
    EXPECT_EQ(member.expect().within().ms(), 10000);
    EXPECT_THAT(member.expect().pattern(), HasSubstr(R"(type="candidates")"));
  }

  EXPECT_THAT(s.steps(4).send().stanza(), HasSubstr("${candidates:rtp}"));
  EXPECT_TRUE(s.steps(5).expect().next());

  const MediaStep& media = s.steps(6).media();
  EXPECT_EQ(media.codec(), "${codec}");
  EXPECT_EQ(media.min_packets_each_way(), 100);
  EXPECT_EQ(media.within().ms(), 3000);
  EXPECT_DOUBLE_EQ(media.max_loss_percent(), 1);
  EXPECT_DOUBLE_EQ(media.max_jitter_ms(), 20);

  EXPECT_EQ(s.steps(7).label(), "hangup");
  EXPECT_EQ(s.steps(7).control().action(), "hangup");
  EXPECT_EQ(s.steps(8).expect_none().period().ms(), 2000);
  EXPECT_EQ(s.steps(8).expect_none().pattern(), "");
}

// Test that the scenario's initiate, with the capture's values substituted, is
// the captured session element.
TEST(ScenarioLoaderTest, SeedInitiateReplaysTheCapture) {
  const LoadResult result = LoadScenarioFile(Path("seed.xml"));
  ASSERT_TRUE(result.ok());
  Variables vars;
  vars.Set("cut", "ppippero@gmail.com/Talk.v64ED37AA3E");
  vars.Set("peer", "originatingparty@gmail.com/Talk.v64EC3F606D");
  vars.Set("iq", "21");
  vars.Set("sid", "3688330360");
  absl::StatusOr<std::string> text =
      vars.Substitute(result.scenario.steps(1).send().stanza());
  ASSERT_TRUE(text.ok()) << text.status();
  absl::StatusOr<xmpp::Element> sent = xmpp::ParseElement(*text);
  absl::StatusOr<xmpp::Element> captured = xmpp::ParseElement(kSeedInitiate);
  ASSERT_TRUE(sent.ok()) << sent.status();
  ASSERT_TRUE(captured.ok()) << captured.status();
  ASSERT_NE(sent->FirstChild(), nullptr);
  ASSERT_NE(captured->FirstChild(), nullptr);
  // Equal but for indentation (the capture's `from` is the server's doing).
  DropWhitespace(*sent);
  DropWhitespace(*captured);
  EXPECT_EQ(sent->FirstChild()->ToString(), captured->FirstChild()->ToString());
  EXPECT_EQ(*sent->Attr("type"), "set");
  EXPECT_EQ(*sent->Attr("id"), "21");
}

// One file per kind of error, with every error it holds (file:line:column).
struct BadFile {
  const char* file;
  std::vector<std::string>
      errors;  // without the "harness/scenario/testdata/" prefix
};

class BadFileTest : public ::testing::TestWithParam<BadFile> {};

TEST_P(BadFileTest, ReportsEveryError) {
  const LoadResult result = LoadScenarioFile(Path(GetParam().file));
  std::vector<std::string> expected;
  for (const std::string& error : GetParam().errors) {
    expected.push_back(kTestdata + error);
  }
  EXPECT_THAT(Errors(result), ElementsAreArray(expected));
  EXPECT_FALSE(result.ok());
}

constexpr char kTimingHelp[] =
    "expected a number with a unit (ms, s or m) such as \"250ms\", \"1.5s\" or "
    "\"2m\", or a range \"A..B\"";

std::string Help(const std::string& prefix) { return prefix + kTimingHelp; }

const BadFile kBadFiles[] = {
    {"bad_malformed_xml.xml",
     {"bad_malformed_xml.xml:3:23: malformed XML: end tag </presence> does "
      "not match <status> (line 3)"}},
    {"bad_root.xml",
     {"bad_root.xml:1:1: the root element must be <scenario>, found "
      "<fragment>"}},
    {"bad_unknown_step.xml",
     {"bad_unknown_step.xml:2:3: unknown step <sned>; expected one of send, "
      "expect, expect-none, delay, any-order, one-of, repeat, control, "
      "peer-behaviour, media, end, "
      "include, var, description, peer",
      // The second element on its line: the column is its own.
      "bad_unknown_step.xml:3:20: unknown step <wait>; expected one of send, "
      "expect, expect-none, delay, any-order, one-of, repeat, control, "
      "peer-behaviour, media, end, "
      "include, var, description, peer"}},
    {"bad_unknown_attribute.xml",
     {"bad_unknown_attribute.xml:1:36: unknown attribute \"owner\" on "
      "<scenario>; allowed: name, timeout, tags, profile",
      "bad_unknown_attribute.xml:2:23: unknown attribute \"witin\" on "
      "<expect>; "
      "allowed: within, fuzz, exact, next, after, peer, to, label, optional, "
      "on-timeout, profile",
      "bad_unknown_attribute.xml:3:9: unknown attribute \"to\" on <send>; "
      "allowed: from, peer, label, optional"}},
    {"bad_after_label.xml",
     {"bad_after_label.xml:2:23: after names no earlier step label \"later\""}},
    {"bad_missing_attribute.xml",
     {"bad_missing_attribute.xml:1:1: <scenario> requires the attribute "
      "\"name\"",
      "bad_missing_attribute.xml:2:3: <expect> requires the attribute "
      "\"within\"",
      "bad_missing_attribute.xml:3:3: <expect-none> requires the attribute "
      "\"for\"",
      "bad_missing_attribute.xml:4:3: <delay> requires the attribute \"for\"",
      "bad_missing_attribute.xml:5:3: <any-order> requires the attribute "
      "\"within\"",
      "bad_missing_attribute.xml:6:3: <media> requires the attribute "
      "\"within\"",
      "bad_missing_attribute.xml:7:3: <control> requires the attribute "
      "\"action\"",
      "bad_missing_attribute.xml:8:3: <include> requires the attribute "
      "\"file\""}},
    {"bad_duration.xml",
     {Help("bad_duration.xml:1:28: timeout: invalid duration \"1h\": "),
      Help("bad_duration.xml:2:10: for: invalid duration \"15 s\": "),
      Help("bad_duration.xml:3:10: for: invalid duration \"abc\": "),
      "bad_duration.xml:4:10: for: invalid duration \"-5s\": durations cannot "
      "be negative",
      "bad_duration.xml:5:10: for: invalid range \"20s..10s\": the minimum is "
      "greater than the maximum",
      "bad_duration.xml:6:10: for: invalid duration \"15\": missing unit (ms, "
      "s or m)",
      "bad_duration.xml:7:10: for: invalid duration \"1.0005s\": not a whole "
      "number of milliseconds",
      "bad_duration.xml:8:19: fuzz must be a range \"A..B\", got \"3s\"",
      "bad_duration.xml:9:23: fuzz given but for is already a range",
      Help("bad_duration.xml:10:23: fuzz: invalid duration \"abc\": ")}},
    {"bad_same_line.xml",
     {"bad_same_line.xml:2:27: for: invalid duration \"2\": missing unit (ms, "
      "s or m)",
      "bad_same_line.xml:2:53: for: invalid duration \"3\": missing unit (ms, "
      "s or m)"}},
    {"bad_stanza_count.xml",
     {"bad_stanza_count.xml:2:3: <send> must hold exactly one stanza, found 0",
      "bad_stanza_count.xml:3:3: <send> must hold exactly one stanza, found 0",
      "bad_stanza_count.xml:4:3: <send> must hold exactly one stanza, found 2",
      "bad_stanza_count.xml:5:3: <expect> must hold exactly one stanza, found "
      "0",
      "bad_stanza_count.xml:6:3: <expect-none> must hold exactly one stanza, "
      "found 2",
      "bad_stanza_count.xml:7:3: text outside the stanza in <send>; it holds "
      "one element"}},
    {"bad_malformed_stanza.xml",
     {"bad_malformed_stanza.xml:2:3: malformed stanza: undeclared namespace "
      "prefix 'foo' (line 3)",
      "bad_malformed_stanza.xml:5:3: malformed stanza: entity reference "
      "'&nbsp;' (line 6) is not allowed (RFC 6120 §11.1)"}},
    {"bad_undefined_variable.xml",
     {"bad_undefined_variable.xml:2:22: undefined variable ${nope}",
      "bad_undefined_variable.xml:2:44: undefined variable ${me}",
      // Used before the expect that captures it.
      "bad_undefined_variable.xml:3:17: undefined variable ${captured}",
      "bad_undefined_variable.xml:6:34: undefined variable ${who}",
      "bad_undefined_variable.xml:7:17: undefined variable ${codec}"}},
    {"bad_variable_name.xml",
     {"bad_variable_name.xml:2:22: invalid variable name ${1abc}",
      "bad_variable_name.xml:3:3: unterminated \"${\" (write \"$${\" for a "
      "literal \"${\")",
      "bad_variable_name.xml:4:8: invalid variable name \"9lives\""}},
    {"bad_var.xml",
     {"bad_var.xml:2:8: ${sid} is set by the runner",
      "bad_var.xml:4:8: variable ${codec} is already defined",
      "bad_var.xml:5:3: <var> requires the attribute \"value\""}},
    {"bad_goto.xml",
     {"bad_goto.xml:2:23: on-timeout goes to unknown label \"nowhere\"",
      "bad_goto.xml:4:23: on-timeout must be \"fail\", \"continue\" or "
      "\"goto:LABEL\", got \"retry\"",
      "bad_goto.xml:6:19: unknown attribute \"on-timeout\" on <delay>; "
      "allowed: for, fuzz, label, optional"}},
    {"bad_duplicate_label.xml",
     {"bad_duplicate_label.xml:3:19: duplicate label \"wait\"; first defined "
      "at harness/scenario/testdata/bad_duplicate_label.xml:2:19",
      "bad_duplicate_label.xml:4:19: invalid label \"bad label\": use letters, "
      "digits, '_', '-', '.'"}},
    {"bad_optional.xml",
     {"bad_optional.xml:2:19: optional must be \"true\" or \"false\", got "
      "\"yes\"",
      "bad_optional.xml:3:23: optional must be \"true\" or \"false\", got "
      "\"TRUE\"",
      "bad_optional.xml:3:39: exact must be \"true\" or \"false\", got \"1\""}},
    {"bad_peer.xml",
     {"bad_peer.xml:2:9: unknown attribute \"jid\" on <peer>; allowed: name, "
      "user, "
      "resource, role, dialect, caps-node, caps-ver, caps-ext, media-address, "
      "ack-session-iqs, answer-disco, send-presence, answer-pings, "
      "reject-unknown-sessions, transport-accept, unknown-channel-error",
      "bad_peer.xml:2:21: role must be \"caller\" or \"callee\", got \"host\"",
      "bad_peer.xml:2:33: dialect must be g1, g2 or g3, got \"g4\"",
      "bad_peer.xml:3:9: answer-disco must be \"true\" or \"false\", got \"1\"",
      "bad_peer.xml:3:26: user must not be empty",
      "bad_peer.xml:4:3: a second <peer> named \"peer\": give each <peer> "
      "its own name= (it defaults to user)",
      "bad_peer.xml:5:19: send-presence must be \"true\" or \"false\", got "
      "\"no\""}},
    {"bad_media.xml",
     {"bad_media.xml:2:35: min-packets must be a positive integer, got \"-3\"",
      "bad_media.xml:2:52: max-loss must be a percentage from 0% to 100%, got "
      "\"1\"",
      "bad_media.xml:2:65: max-jitter must be a positive number of "
      "milliseconds such as \"20ms\", got \"fast\"",
      "bad_media.xml:3:35: max-loss must be a percentage from 0% to 100%, got "
      "\"101%\"",
      "bad_media.xml:3:51: max-jitter must be a positive number of "
      "milliseconds such as \"20ms\", got \"0ms\""}},
    {"bad_control.xml",
     {"bad_control.xml:2:12: action must be call, hangup, answer or reject, "
      "got \"dial\"",
      "bad_control.xml:3:9: from must be \"peer\" or \"server\", got "
      "\"client\""}},
    {"bad_text.xml",
     {"bad_text.xml:2:3: unexpected text \"stray words here\" in <scenario>",
      "bad_text.xml:3:3: <delay> takes no content",
      "bad_text.xml:4:3: <description> holds text only",
      "bad_text.xml:5:3: a second <description>"}},
    {"bad_any_order.xml",
     {"bad_any_order.xml:3:5: <any-order> holds only <expect> steps, found "
      "<send>",
      "bad_any_order.xml:4:13: unknown attribute \"next\" on <expect>; "
      "allowed: within, fuzz, exact, optional",
      "bad_any_order.xml:4:25: unknown attribute \"label\" on <expect>; "
      "allowed: within, fuzz, exact, optional",
      "bad_any_order.xml:6:3: <any-order> needs at least one <expect>"}},
    // Several kinds in one file: all reported, in line order (the goto check,
    // done last, is sorted into place).
    {"bad_many.xml",
     {Help("bad_many.xml:1:23: timeout: invalid duration \"soon\": "),
      "bad_many.xml:2:3: unknown step <sned>; expected one of send, expect, "
      "expect-none, delay, any-order, one-of, repeat, control, peer-behaviour, "
      "media, end, include, "
      "var, description, peer",
      Help("bad_many.xml:3:11: within: invalid duration \"15 s\": "),
      "bad_many.xml:4:17: undefined variable ${undefined}",
      "bad_many.xml:5:3: <send> must hold exactly one stanza, found 0",
      "bad_many.xml:6:19: optional must be \"true\" or \"false\", got "
      "\"maybe\"",
      "bad_many.xml:6:36: unknown attribute \"on-timeout\" on <delay>; "
      "allowed: for, fuzz, label, optional",
      "bad_many.xml:7:23: on-timeout goes to unknown label \"missing\""}},
};

INSTANTIATE_TEST_SUITE_P(EveryKind, BadFileTest, ::testing::ValuesIn(kBadFiles),
                         [](const ::testing::TestParamInfo<BadFile>& info) {
                           std::string name = info.param.file;
                           name = name.substr(0, name.find('.'));
                           return name;
                         });

// Test that included steps are inlined in place, located in their own files,
// with paths relative to the including file at every level.
TEST(ScenarioLoaderTest, IncludesNestedFragments) {
  const LoadResult result = LoadScenarioFile(Path("include_main.xml"));
  ASSERT_THAT(Errors(result), IsEmpty());
  const Scenario& s = result.scenario;
  ASSERT_EQ(s.steps_size(), 5);
  // caps.xml's send, prelude.xml's expect, main's send, then both again.
  EXPECT_EQ(s.steps(0).location().file(),
            "harness/scenario/testdata/fragments/common/caps.xml");
  EXPECT_EQ(s.steps(0).location().line(), 3);
  EXPECT_EQ(s.steps(0).location().column(), 3);
  EXPECT_THAT(s.steps(0).send().stanza(), HasSubstr("voice-v1"));
  EXPECT_EQ(s.steps(1).location().file(),
            "harness/scenario/testdata/fragments/prelude.xml");
  EXPECT_EQ(s.steps(1).location().line(), 4);
  EXPECT_TRUE(s.steps(1).has_expect());
  EXPECT_EQ(s.steps(2).location().file(),
            "harness/scenario/testdata/include_main.xml");
  EXPECT_EQ(s.steps(2).location().line(), 3);
  EXPECT_EQ(s.steps(3).location().file(),
            "harness/scenario/testdata/fragments/common/caps.xml");
  EXPECT_EQ(s.steps(4).location().file(),
            "harness/scenario/testdata/fragments/prelude.xml");
  // A fragment's step names the include chain that brought it in, innermost
  // first; the main file's own steps name none.
  const SourceLocation& caps = s.steps(0).location();
  ASSERT_EQ(caps.included_from_size(), 2);
  EXPECT_EQ(caps.included_from(0).file(),
            "harness/scenario/testdata/fragments/prelude.xml");
  EXPECT_EQ(caps.included_from(1).file(),
            "harness/scenario/testdata/include_main.xml");
  EXPECT_EQ(caps.included_from(1).line(), 2);
  EXPECT_EQ(s.steps(4).location().included_from(0).line(), 4);
  EXPECT_EQ(s.steps(2).location().included_from_size(), 0);
  // Declared twice by the same fragment with the same value: kept once.
  ASSERT_EQ(s.variables_size(), 1);
  EXPECT_EQ(s.variables(0).name(), "greeting");
}

// Test that errors inside included files point into them, and that a missing
// file is reported at the include.
TEST(ScenarioLoaderTest, ReportsErrorsInIncludedFiles) {
  const LoadResult result = LoadScenarioFile(Path("include_errors.xml"));
  EXPECT_THAT(
      Errors(result),
      ElementsAre("harness/scenario/testdata/fragments/errors.xml:3:3: <peer> "
                  "belongs in "
                  "<scenario>, not in an included <fragment>",
                  "harness/scenario/testdata/fragments/errors.xml:4:3: <delay> "
                  "requires the "
                  "attribute \"for\"",
                  "harness/scenario/testdata/fragments/errors.xml:4:10: "
                  "unknown attribute "
                  "\"fro\" on <delay>; allowed: for, fuzz, label, optional",
                  "harness/scenario/testdata/fragments/not_a_fragment.xml:1:1: "
                  "an included "
                  "file's root must be <fragment>, found <scenario>",
                  "harness/scenario/testdata/include_errors.xml:4:12: cannot "
                  "read included file "
                  "\"fragments/missing.xml\" "
                  "(harness/scenario/testdata/fragments/missing.xml): "
                  "No such file or directory",
                  "harness/scenario/testdata/fragments/malformed.xml:2:19: "
                  "malformed XML: end tag </send> does not match <presence> "
                  "(line 2)"));
}

// Test that include cycles are reported with the chain, directly and through
// other fragments, whatever the spelling of the paths.
TEST(ScenarioLoaderTest, ReportsIncludeCycles) {
  const LoadResult result = LoadScenarioFile(Path("include_cycle.xml"));
  EXPECT_THAT(
      Errors(result),
      ElementsAre(
          "harness/scenario/testdata/fragments/cycle_b.xml:2:12: include "
          "cycle: "
          "harness/scenario/testdata/fragments/cycle_a.xml -> "
          "harness/scenario/testdata/fragments/cycle_b.xml -> "
          "harness/scenario/testdata/fragments/cycle_a.xml",
          "harness/scenario/testdata/include_cycle.xml:3:12: include cycle: "
          "harness/scenario/testdata/include_cycle.xml -> "
          "harness/scenario/testdata/include_cycle.xml"));
}

TEST(ScenarioLoaderTest, ReportsUnreadableFile) {
  const LoadResult result = LoadScenarioFile(Path("no_such_file.xml"));
  EXPECT_THAT(
      Errors(result),
      ElementsAre("harness/scenario/testdata/no_such_file.xml: cannot read the "
                  "file: No such file or directory"));
}

// Test that a goto may jump forwards or backwards to any label.
TEST(ScenarioLoaderTest, GotoTargetsAnyLabel) {
  const LoadResult result = Load(R"(<scenario name="goto">
  <delay for="1s" label="top"/>
  <expect within="1s" on-timeout="goto:end"><iq/></expect>
  <expect within="1s" on-timeout="goto:top"><iq/></expect>
  <any-order within="1s" on-timeout="continue"><expect><iq/></expect></any-order>
  <media codec="PCMU" within="1s" on-timeout="goto:top" label="end"/>
</scenario>)");
  ASSERT_THAT(Errors(result), IsEmpty());
  EXPECT_EQ(result.scenario.steps(1).goto_label(), "end");
  EXPECT_EQ(result.scenario.steps(2).goto_label(), "top");
  EXPECT_EQ(result.scenario.steps(3).on_timeout(), ON_TIMEOUT_CONTINUE);
  EXPECT_EQ(result.scenario.steps(4).on_timeout(), ON_TIMEOUT_GOTO);
}

// Test that a capture in an expect defines its variable for later steps only,
// that any-order captures count after the group, and expect-none never
// captures.
TEST(ScenarioLoaderTest, CaptureDefinesVariableForLaterSteps) {
  const LoadResult result = Load(R"(<scenario name="captures">
  <send><iq id="${x}"/></send>
  <expect within="1s"><iq id="${x}" to="a-${y}-b"/></expect>
  <send><iq id="${x}" to="${y}"/></send>
  <any-order within="1s">
    <expect><iq id="${g1}"/></expect>
    <expect><iq id="${g2}"/></expect>
  </any-order>
  <send><iq id="${g1}" to="${g2}"/></send>
  <expect-none for="1s"><iq id="${none}"/></expect-none>
  <send><iq id="${none}"/></send>
</scenario>)");
  EXPECT_THAT(Errors(result),
              ElementsAre("inline.xml:2:17: undefined variable ${x}",
                          "inline.xml:11:17: undefined variable ${none}"));
}

// Test that variables from the command line count as defined.
// Test that an undefined variable is reported where it is written, with the
// defined name one typo away if there is one.
TEST(ScenarioLoaderTest, UndefinedVariableIsPlacedAndNearNameSuggested) {
  EXPECT_THAT(Errors(Load(R"(<scenario name="typo">
  <peer user="peer" role="caller"/>
  <send>
    <iq to="${cut}" type="set"
        id="${iqq}"/>
  </send>
  <send><iq to="${cut}" id="${zzz}"/></send>
</scenario>)")),
              ElementsAre("inline.xml:5:13: undefined variable ${iqq} (did "
                          "you mean ${iq}?)",
                          "inline.xml:7:29: undefined variable ${zzz}"));
}

TEST(ScenarioLoaderTest, ExtraVariablesCountAsDefined) {
  constexpr char kText[] = R"(<scenario name="extra">
  <send><message to="${account}"/></send>
  <control action="call" target="${account}"/>
</scenario>)";
  EXPECT_THAT(Errors(Load(kText)),
              ElementsAre("inline.xml:2:22: undefined variable ${account}",
                          "inline.xml:3:34: undefined variable ${account}"));
  LoadOptions options;
  options.extra_variables = {"account"};
  const LoadResult result = Load(kText, options);
  EXPECT_THAT(Errors(result), IsEmpty());
  EXPECT_EQ(result.scenario.steps(1).control().target(), "${account}");
}

// Test the defaults of everything a file may leave out.
TEST(ScenarioLoaderTest, AppliesDefaults) {
  const LoadResult result = Load(R"(<scenario name="minimal">
  <control action="call"/>
  <media codec="PCMU" within="2s"/>
</scenario>)");
  ASSERT_THAT(Errors(result), IsEmpty());
  const Scenario& s = result.scenario;
  EXPECT_EQ(s.timeout().ms(), 120000);
  EXPECT_THAT(s.tags(), IsEmpty());
  EXPECT_EQ(s.peer().user(), "peer");
  EXPECT_EQ(s.peer().resource(), "Talk.v104");
  EXPECT_EQ(s.peer().role(), ROLE_CALLER);
  EXPECT_EQ(s.peer().dialect(), DIALECT_G1);
  EXPECT_EQ(s.peer().caps_node(), "http://www.google.com/xmpp/client/caps");
  EXPECT_EQ(s.peer().caps_ver(), "1.0.0.104");
  EXPECT_THAT(s.peer().caps_ext(), ElementsAre("voice-v1"));
  const PeerBehaviour& behaviour = s.peer().behaviour();
  EXPECT_FALSE(behaviour.has_ack_session_iqs());
  EXPECT_FALSE(behaviour.has_answer_disco());
  EXPECT_FALSE(behaviour.has_send_presence());
  EXPECT_FALSE(behaviour.has_answer_pings());
  EXPECT_FALSE(behaviour.has_reject_unknown_sessions());
  EXPECT_EQ(s.steps(0).control().target(), "${peer}");
  EXPECT_EQ(s.steps(0).on_timeout(), ON_TIMEOUT_FAIL);
  EXPECT_FALSE(s.steps(0).optional());
  EXPECT_EQ(s.steps(1).media().min_packets_each_way(), 1);
  EXPECT_DOUBLE_EQ(s.steps(1).media().max_loss_percent(), 100);
  EXPECT_DOUBLE_EQ(s.steps(1).media().max_jitter_ms(), 0);
}

// Test the peer's settings and the behaviour switches, set only when given.
TEST(ScenarioLoaderTest, LoadsPeerAndBehaviour) {
  const LoadResult result = Load(R"(<scenario name="peer">
  <peer user="callee" resource="Talk.v105" role="callee" dialect="g3"
        caps-node="http://example.com/caps" caps-ver="1.0.0.105"
        caps-ext="voice-v1  video-v1" answer-disco="false" answer-pings="true"/>
  <peer-behaviour ack-session-iqs="false" optional="true"/>
  <send from="server"><message/></send>
</scenario>)");
  ASSERT_THAT(Errors(result), IsEmpty());
  const PeerSpec& peer = result.scenario.peer();
  EXPECT_EQ(peer.user(), "callee");
  EXPECT_EQ(peer.resource(), "Talk.v105");
  EXPECT_EQ(peer.role(), ROLE_CALLEE);
  EXPECT_EQ(peer.dialect(), DIALECT_G3);
  EXPECT_EQ(peer.caps_node(), "http://example.com/caps");
  EXPECT_EQ(peer.caps_ver(), "1.0.0.105");
  EXPECT_THAT(peer.caps_ext(), ElementsAre("voice-v1", "video-v1"));
  ASSERT_TRUE(peer.behaviour().has_answer_disco());
  EXPECT_FALSE(peer.behaviour().answer_disco());
  ASSERT_TRUE(peer.behaviour().has_answer_pings());
  EXPECT_TRUE(peer.behaviour().answer_pings());
  EXPECT_FALSE(peer.behaviour().has_send_presence());
  const Step& change = result.scenario.steps(0);
  EXPECT_TRUE(change.optional());
  ASSERT_TRUE(change.peer_behaviour().behaviour().has_ack_session_iqs());
  EXPECT_FALSE(change.peer_behaviour().behaviour().ack_session_iqs());
  EXPECT_FALSE(change.peer_behaviour().behaviour().has_answer_disco());
  EXPECT_EQ(result.scenario.steps(1).send().from(), SendStep::SENDER_SERVER);
}

// Test that stanzas keep prefixes, entities and CDATA as written, lose their
// comments, and still parse.
TEST(ScenarioLoaderTest, StoresStanzaTextAsWritten) {
  const LoadResult result = Load(R"(<scenario name="text">
  <send><!-- before --><message xmlns:g="google:x"><g:y a="&amp;&lt;"/><!--
    two lines
  --><body><![CDATA[<!-- kept -->]]></body></message></send>
  <delay for="1.5s" fuzz="1s..2m"/>
</scenario>)");
  ASSERT_THAT(Errors(result), IsEmpty());
  EXPECT_EQ(result.scenario.steps(0).send().stanza(),
            "<message xmlns:g=\"google:x\"><g:y a=\"&amp;&lt;\"/>\n\n"
            "<body><![CDATA[<!-- kept -->]]></body></message>");
  const Timing& delay = result.scenario.steps(1).delay().duration();
  EXPECT_EQ(delay.ms(), 1500);
  EXPECT_TRUE(delay.is_range());
  EXPECT_EQ(delay.min_ms(), 1000);
  EXPECT_EQ(delay.max_ms(), 120000);
}

// Test that columns count characters, not bytes.
TEST(ScenarioLoaderTest, ColumnsCountCharacters) {
  const LoadResult result = Load(
      "<scenario name=\"caf\xC3\xA9\"><delay for=\"1\"/>"
      "<peer user=\"\xC3\xA9\" role=\"boss\"/></scenario>");
  EXPECT_THAT(Errors(result),
              ElementsAre("inline.xml:1:30: for: invalid duration \"1\": "
                          "missing unit (ms, s or m)",
                          "inline.xml:1:54: role must be \"caller\" or "
                          "\"callee\", got \"boss\""));
}

TEST(ScenarioLoaderTest, ReportsEmptyAndExtraRoots) {
  EXPECT_THAT(Errors(Load("")), ElementsAre("inline.xml:1:1: malformed XML: "
                                            "XML_ERROR_EMPTY_DOCUMENT"));
  EXPECT_THAT(Errors(Load("<scenario name=\"a\"/>\n<scenario name=\"b\"/>")),
              ElementsAre("inline.xml:2:1: <scenario> after the <scenario> "
                          "root"));
}

// Test that every truncation and some corruptions of a real file give errors,
// never a crash, and never a disagreement between tinyxml2 and the scanner.
TEST(ScenarioLoaderTest, SurvivesDamagedFiles) {
  std::ifstream in(Path("seed.xml"), std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty());
  std::vector<std::string> damaged;
  for (size_t size = 0; size < text.size(); ++size) {
    damaged.push_back(text.substr(0, size));
  }
  for (size_t i = 0; i < text.size(); i += 7) {
    for (const char c : {'<', '>', '"', '/', '$', '\0'}) {
      std::string copy = text;
      copy[i] = c;
      damaged.push_back(std::move(copy));
    }
  }
  for (const std::string& variant : damaged) {
    const LoadResult result = Load(variant);
    for (const std::string& error : Errors(result)) {
      ASSERT_THAT(error, Not(HasSubstr("internal error"))) << variant;
    }
  }
}

// Test that markup tinyxml2 refuses is reported where it is and why, not by
// tinyxml2's error name at the line of some enclosing element.
TEST(ScenarioLoaderTest, ReportsWhereAndWhyTinyxml2Refused) {
  EXPECT_THAT(Errors(Load("<scenario name=\"a\">\n  <expect within=\"5s\">\n"
                          "    <iq type=\"result\"/>\n  </expect>\n")),
              ElementsAre("inline.xml:1:1: malformed XML: <scenario> is not "
                          "closed"));
  EXPECT_THAT(Errors(Load("<scenario name=\"a\">\n  <expect within=\"5s\">\n"
                          "    <iq type=\"result\">\n  </expect>\n"
                          "</scenario>\n")),
              ElementsAre("inline.xml:4:3: malformed XML: end tag </expect> "
                          "does not match <iq> (line 3)"));
  EXPECT_THAT(
      Errors(Load("<scenario name=\"a\">\n  <send>\n    <iq type=set/>\n"
                  "  </send>\n</scenario>\n")),
      ElementsAre("inline.xml:3:9: malformed XML: attribute type has an "
                  "unquoted value"));
  EXPECT_THAT(Errors(Load("<scenario name=\"a\">\n  <send>\n"
                          "    <iq id=\"a\" type=\"set\" id=\"b\"/>\n"
                          "  </send>\n</scenario>\n")),
              ElementsAre("inline.xml:3:27: malformed XML: attribute id "
                          "appears twice in <iq>"));
  // Where the scanner finds nothing wrong (an empty document), tinyxml2's
  // error stands: ReportsEmptyAndExtraRoots.
}

// Test that the matcher's own attributes (tc:optional) are checked: known
// names, true or false, never on the root, never on a child that captures.
TEST(ScenarioLoaderTest, ChecksMatcherAttributes) {
  const auto expect = [](const std::string& pattern) {
    return Errors(
        Load(absl::StrCat("<scenario name=\"a\">\n<expect within=\"5s\">",
                          pattern, "</expect>\n</scenario>")));
  };
  constexpr char kTc[] = "xmlns:tc=\"urn:talkcheck:pattern\"";
  EXPECT_THAT(
      expect(absl::StrCat("<iq ", kTc,
                          "><query xmlns=\"urn:a\" tc:optional=\"true\"/>"
                          "</iq>")),
      IsEmpty());
  EXPECT_THAT(expect(absl::StrCat("<iq ", kTc, " tc:optional=\"true\"/>")),
              ElementsAre(HasSubstr("the pattern's root element cannot be "
                                    "optional")));
  EXPECT_THAT(
      expect(absl::StrCat("<iq ", kTc, "><query tc:optional=\"yes\"/></iq>")),
      ElementsAre(HasSubstr("optional must be \"true\" or \"false\"")));
  EXPECT_THAT(
      expect(absl::StrCat("<iq ", kTc, "><query tc:count=\"2\"/></iq>")),
      ElementsAre(HasSubstr("unknown matcher attribute tc:count=\"2\"")));
  EXPECT_THAT(expect(absl::StrCat("<iq ", kTc,
                                  "><query tc:optional=\"true\" id=\"${q}\"/>"
                                  "</iq>")),
              ElementsAre("inline.xml:2:88: an optional <query> cannot "
                          "capture: ${q} must be set before this step"));
  EXPECT_THAT(
      expect(absl::StrCat("<iq ", kTc,
                          "><query xmlns=\"urn:a\" tc:absent=\"true\"/></iq>")),
      IsEmpty());
  EXPECT_THAT(expect(absl::StrCat("<iq ", kTc, " tc:absent=\"true\"/>")),
              ElementsAre(HasSubstr("the pattern's root element cannot be "
                                    "absent")));
  EXPECT_THAT(expect(absl::StrCat("<iq ", kTc,
                                  "><query tc:absent=\"true\" id=\"1\"/>"
                                  "</iq>")),
              ElementsAre(HasSubstr("a tc:absent <query> says only that no "
                                    "child of that name and namespace is "
                                    "there")));
}

// Test that <end> takes a verdict (pass by default) and, but for pass, the
// reason the report gives.
TEST(ScenarioLoaderTest, EndTakesAVerdictAndItsReason) {
  const auto load = [](const std::string& end) {
    return Load(absl::StrCat("<scenario name=\"a\">\n", end, "\n</scenario>"));
  };
  LoadResult loaded =
      load("<end verdict=\"not-applicable\" reason=\"calls in G1\"/>");
  EXPECT_THAT(Errors(loaded), IsEmpty());
  ASSERT_EQ(loaded.scenario.steps_size(), 1);
  EXPECT_EQ(loaded.scenario.steps(0).end().verdict(), EndStep::NOT_APPLICABLE);
  EXPECT_EQ(loaded.scenario.steps(0).end().reason(), "calls in G1");
  loaded = load("<end/>");
  EXPECT_THAT(Errors(loaded), IsEmpty());
  EXPECT_EQ(loaded.scenario.steps(0).end().verdict(), EndStep::PASS);
  EXPECT_THAT(Errors(load("<end verdict=\"not-applicable\"/>")),
              ElementsAre(HasSubstr("<end verdict=\"not-applicable\"> needs "
                                    "reason=")));
  EXPECT_THAT(Errors(load("<end verdict=\"fail\"/>")),
              ElementsAre(HasSubstr("which rule the client broke")));
  EXPECT_THAT(Errors(load("<end verdict=\"skip\" reason=\"x\"/>")),
              ElementsAre(HasSubstr("verdict must be \"pass\", \"fail\" or "
                                    "\"not-applicable\", got \"skip\"")));
}

// Test that markup tinyxml2 lets through is reported where it is.
TEST(ScenarioLoaderTest, ReportsMalformedMarkupTinyxml2Tolerates) {
  EXPECT_THAT(
      Errors(Load("<scenario name=\"a\">\n  </peer user=\"x\"/>\n</scenario>")),
      ElementsAre("inline.xml:2:3: malformed XML: malformed end tag"));
  EXPECT_THAT(Errors(Load("<scenario name=\"a\"/>\n</scenario>\n")),
              ElementsAre("inline.xml:2:1: malformed XML: end tag </scenario> "
                          "without a start"));
  EXPECT_THAT(
      Errors(Load("<scenario name=\"a\">\n  <send><iq a=\"x<\"/></send>\n"
                  "</scenario>")),
      ElementsAre(
          "inline.xml:2:17: malformed XML: '<' in the value of attribute a"));
}

TEST(LoadErrorTest, FormatsFileLineColumn) {
  EXPECT_EQ((LoadError{"a.xml", 3, 7, "bad"}).ToString(), "a.xml:3:7: bad");
  EXPECT_EQ((LoadError{"a.xml", 0, 0, "unreadable"}).ToString(),
            "a.xml: unreadable");
}

// Durations: plain values and fuzzing ranges.
struct TimingCase {
  const char* text;
  int64_t ms, min_ms, max_ms;
  bool is_range;
};

TEST(ParseTimingTest, AcceptsDurationsAndRanges) {
  const TimingCase kCases[] = {
      {"0s", 0, 0, 0, false},
      {"250ms", 250, 250, 250, false},
      {"15s", 15000, 15000, 15000, false},
      {"1.5s", 1500, 1500, 1500, false},
      {"0.001s", 1, 1, 1, false},
      {"2m", 120000, 120000, 120000, false},
      {"1.5m", 90000, 90000, 90000, false},
      {"0s..20s", 20000, 0, 20000, true},
      {"250ms..1.5s", 1500, 250, 1500, true},
      {"5s..5s", 5000, 5000, 5000, true},
  };
  for (const TimingCase& c : kCases) {
    SCOPED_TRACE(c.text);
    absl::StatusOr<Timing> timing = ParseTiming(c.text);
    ASSERT_TRUE(timing.ok()) << timing.status();
    EXPECT_EQ(timing->ms(), c.ms);
    EXPECT_EQ(timing->min_ms(), c.min_ms);
    EXPECT_EQ(timing->max_ms(), c.max_ms);
    EXPECT_EQ(timing->is_range(), c.is_range);
  }
}

TEST(ParseTimingTest, RejectsAnythingElse) {
  const std::pair<const char*, const char*> kCases[] = {
      {"", kTimingHelp},
      {"15 s", kTimingHelp},
      {" 15s", kTimingHelp},
      {"abc", kTimingHelp},
      {"1h", kTimingHelp},
      {"1.s", kTimingHelp},
      {".5s", kTimingHelp},
      {"15", "missing unit (ms, s or m)"},
      {"-5s", "durations cannot be negative"},
      {"0.5ms", "not a whole number of milliseconds"},
      {"1.0005s", "not a whole number of milliseconds"},
      {"1234567890s", "too large"},
      {"0s..", kTimingHelp},
      {"..5s", kTimingHelp},
      {"1s..2s..3s", kTimingHelp},
      {"20s..10s", "the minimum is greater than the maximum"},
      {"0s .. 5s", kTimingHelp},
  };
  for (const auto& [text, why] : kCases) {
    SCOPED_TRACE(text);
    absl::StatusOr<Timing> timing = ParseTiming(text);
    ASSERT_FALSE(timing.ok());
    EXPECT_EQ(timing.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(timing.status().message(), HasSubstr(why));
  }
}

TEST(BuiltinVariableNamesTest, ListsTheRunnersVariables) {
  EXPECT_THAT(BuiltinVariableNames(),
              ElementsAre("cut", "cut_bare", "peer", "peer_bare", "server",
                          "sid", "iq", "last_id"));
}

}  // namespace
}  // namespace talkcheck::harness
