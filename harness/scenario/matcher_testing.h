// Shared by the matcher's tests: stanzas from PROTOCOL.md Appendix A, a
// Parse() that fails the test on bad XML, and the MatcherTest fixture that
// runs Match() with its own Variables.
#ifndef TALKCHECK_HARNESS_SCENARIO_MATCHER_TESTING_H_
#define TALKCHECK_HARNESS_SCENARIO_MATCHER_TESTING_H_

#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "harness/scenario/matcher.h"
#include "harness/scenario/variables.h"
#include "xmpp/element.h"

namespace talkcheck::harness {

inline constexpr char kSid[] = "3688330360";

// PROTOCOL.md Appendix A.1, step 1 (comments dropped: stanzas may not carry
// them).
inline constexpr char kInitiate[] = R"(
<iq type="set" id="c1" from="alice@example.com/Talk.v104" to="bob@example.com/Talk.v104">
  <session xmlns="http://www.google.com/session" type="initiate" id="3688330360"
           initiator="alice@example.com/Talk.v104">
    <description xmlns="http://www.google.com/session/phone">
      <payload-type id="103" name="ISAC"/>
      <payload-type id="97"  name="IPCMWB"/>
      <payload-type id="102" name="iLBC"/>
      <payload-type id="4"   name="G723"/>
      <payload-type id="100" name="EG711U"/>
      <payload-type id="101" name="EG711A"/>
      <payload-type id="0"   name="PCMU"/>
      <payload-type id="8"   name="PCMA"/>
      <payload-type id="13"  name="CN"/>
    </description>
  </session>
</iq>)";

// A.1 step 3 with both channels' candidates in one message, rtcp first.
inline constexpr char kCandidates[] = R"(
<iq type="set" id="b7" to="alice@example.com/Talk.v104">
  <session xmlns="http://www.google.com/session" type="candidates" id="3688330360"
           initiator="alice@example.com/Talk.v104">
    <candidate name="rtcp" address="10.0.0.5" port="50124" preference="1" username="R1xh2FjIkLmNoPq8"
               password="ZX9yWvUt8sRqPoNm" protocol="udp" generation="0" type="local" network="0"/>
    <candidate name="rtp" address="10.0.0.5" port="50123" preference="1" username="Q0xh2FjIkLmNoPq8"
               password="ZX9yWvUt8sRqPoNm" protocol="udp" generation="0" type="local" network="0"/>
  </session>
</iq>)";

// A.1 step 5: the accept carries a subset of the offer.
inline constexpr char kAccept[] = R"(
<iq type="set" id="b9" to="alice@example.com/Talk.v104">
  <session xmlns="http://www.google.com/session" type="accept" id="3688330360"
           initiator="alice@example.com/Talk.v104">
    <description xmlns="http://www.google.com/session/phone">
      <payload-type id="103" name="ISAC"/>
      <payload-type id="0" name="PCMU"/>
    </description>
  </session>
</iq>)";

inline xmpp::Element Parse(absl::string_view xml) {
  absl::StatusOr<xmpp::Element> element = xmpp::ParseElement(xml);
  EXPECT_TRUE(element.ok()) << element.status() << "\n" << xml;
  return element.ok() ? *std::move(element) : xmpp::Element("", "unparsable");
}

class MatcherTest : public ::testing::Test {
 protected:
  MatchResult Run(absl::string_view pattern, absl::string_view actual,
                  bool exact = false) {
    MatchOptions options;
    options.exact = exact;
    MatchResult result = Match(Parse(pattern), Parse(actual), vars_, options);
    EXPECT_EQ(result.matched, result.difference.empty()) << result.difference;
    return result;
  }

  // The difference of a match that must fail.
  std::string Difference(absl::string_view pattern, absl::string_view actual,
                         bool exact = false) {
    MatchResult result = Run(pattern, actual, exact);
    EXPECT_FALSE(result.matched);
    return result.difference;
  }

  std::string Var(absl::string_view name) const {
    const std::string* value = vars_.Get(name);
    return value == nullptr ? "<unset>" : *value;
  }

  Variables vars_;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCENARIO_MATCHER_TESTING_H_
