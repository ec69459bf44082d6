#include "harness/scenario/text_cache.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

// Test that a value is made once per text and shared after, and that a full
// cache starts over rather than growing.
TEST(TextCacheTest, MakesEachTextOnceAndStaysBounded) {
  TextCache<std::string> cache;
  int made = 0;
  auto upper = [&](const std::string& text) {
    return cache.Get(text, [&] {
      ++made;
      return text + "!";
    });
  };
  const std::shared_ptr<const std::string> a = upper("a");
  EXPECT_EQ(*a, "a!");
  EXPECT_EQ(upper("a"), a);
  EXPECT_EQ(made, 1);
  EXPECT_EQ(*upper("b"), "b!");
  EXPECT_EQ(made, 2);

  // Full, it still holds "a"; the next new text clears it, so "a" is made
  // again, and the value handed out before stays valid.
  const int full = static_cast<int>(TextCache<std::string>::kMaxEntries);
  for (int i = 2; i < full; ++i) upper(absl::StrCat("text ", i));
  EXPECT_EQ(made, full);
  EXPECT_EQ(upper("a"), a);
  upper("one more");
  EXPECT_EQ(made, full + 1);
  const std::shared_ptr<const std::string> again = upper("a");
  EXPECT_EQ(made, full + 2);
  EXPECT_NE(again, a);
  EXPECT_EQ(*a, "a!");
}

}  // namespace
}  // namespace talkcheck::harness
