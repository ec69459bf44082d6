#include "reference_client/faults.h"

#include <set>
#include <string>

#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::reference_client {
namespace {

using ::testing::HasSubstr;

// Test that a few names are the kebab-case of their enumerators.
TEST(FaultsTest, NamesAreKebabCase) {
  EXPECT_EQ(FaultName(Fault::kNoAck), "no-ack");
  EXPECT_EQ(FaultName(Fault::kLateAck), "late-ack");
  EXPECT_EQ(FaultName(Fault::kRenumberedCodecIds), "renumbered-codec-ids");
  EXPECT_EQ(FaultName(Fault::kNoFallbackToG1), "no-fallback-to-g1");
  EXPECT_EQ(FaultName(Fault::kMediaToStaleGeneration),
            "media-to-stale-generation");
  EXPECT_EQ(FaultName(Fault::kSsrcChange), "ssrc-change");
}

// Test that every fault has a distinct, well-formed name that parses back.
TEST(FaultsTest, EveryFaultRoundTrips) {
  std::set<std::string> seen;
  for (Fault fault : AllFaults()) {
    const std::string name(FaultName(fault));
    EXPECT_TRUE(seen.insert(name).second) << name;
    for (char c : name) {
      EXPECT_TRUE(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '-')
          << name;
    }
    absl::StatusOr<Fault> parsed = ParseFault(name);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, fault);
  }
  EXPECT_EQ(AllFaults().size(), 53u);
}

// Test that an unknown name is refused with the list of valid names.
TEST(FaultsTest, UnknownNameListsValidNames) {
  absl::StatusOr<Fault> parsed = ParseFault("no-such-fault");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(parsed.status().message(), HasSubstr("no-such-fault"));
  EXPECT_THAT(parsed.status().message(), HasSubstr("no-ack"));
  EXPECT_THAT(parsed.status().message(), HasSubstr("ssrc-change"));
  EXPECT_FALSE(ParseFault("NoAck").ok());
  EXPECT_FALSE(ParseFault("no_ack").ok());
}

// Test that comma-separated lists parse, ignoring blanks and duplicates.
TEST(FaultsTest, ParsesLists) {
  absl::StatusOr<FaultSet> none = ParseFaults("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  absl::StatusOr<FaultSet> two = ParseFaults("no-ack, wrong-initiator,,no-ack");
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(*two, (FaultSet{Fault::kNoAck, Fault::kWrongInitiator}));

  absl::StatusOr<FaultSet> bad = ParseFaults("no-ack,bogus");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("bogus"));
}

}  // namespace
}  // namespace talkcheck::reference_client
