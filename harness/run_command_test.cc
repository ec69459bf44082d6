#include "harness/run_command.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

TEST(SelectedTest, EverythingWithoutFilterOrTags) {
  EXPECT_TRUE(Selected("callee-g1-basic", {}, "", {}));
}

TEST(SelectedTest, GlobsIncludeAndExclude) {
  EXPECT_TRUE(Selected("callee-g1-basic", {}, "callee-*", {}));
  EXPECT_FALSE(Selected("caller-g1-basic", {}, "callee-*", {}));
  EXPECT_TRUE(Selected("caller-g1-basic", {}, "callee-*,caller-*", {}));
  EXPECT_FALSE(Selected("ring-timeout", {}, "-*-timeout", {}));
  EXPECT_TRUE(Selected("redirect", {}, "-*-timeout", {}));
  EXPECT_FALSE(Selected("ack-timeout", {}, "a*,-*-timeout", {}));
  EXPECT_TRUE(Selected("accept-codec-subset", {}, "a*,-*-timeout", {}));
}

TEST(SelectedTest, TagsIncludeAndExclude) {
  EXPECT_TRUE(Selected("ring-timeout", {"slow"}, "", {"slow"}));
  EXPECT_FALSE(Selected("redirect", {}, "", {"slow"}));
  EXPECT_FALSE(Selected("ring-timeout", {"slow"}, "", {"-slow"}));
  EXPECT_TRUE(Selected("redirect", {}, "", {"-slow"}));
  EXPECT_TRUE(Selected("x", {"media", "g2"}, "", {"g1", "g2"}));
}

TEST(SelectedTest, FilterAndTagsBothApply) {
  EXPECT_FALSE(Selected("ring-timeout", {"slow"}, "callee-*", {"slow"}));
  EXPECT_TRUE(Selected("callee-x", {"slow"}, "callee-*", {"slow"}));
}

TEST(StartOrderTest, LongestDeadlineFirstTiesInTheOrderGiven) {
  EXPECT_THAT(StartOrder({60'000, 240'000, 30'000, 60'000, 150'000}),
              ::testing::ElementsAre(1, 4, 0, 3, 2));
  EXPECT_THAT(StartOrder({}), ::testing::IsEmpty());
}

}  // namespace
}  // namespace talkcheck::harness
