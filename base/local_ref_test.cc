#include "base/local_ref.h"

#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace talkcheck {
namespace {

// Counts live instances, to see when the shared object goes.
struct Tracked {
  explicit Tracked(int* live, std::string name)
      : live(live), name(std::move(name)) {
    ++*live;
  }
  ~Tracked() { --*live; }
  int* live;
  std::string name;
};

TEST(LocalRefTest, NullByDefault) {
  LocalRef<int> ref;
  EXPECT_FALSE(ref);
  EXPECT_EQ(ref.get(), nullptr);
  EXPECT_EQ(ref.owners(), 0u);
  LocalRef<int> from_null = nullptr;
  EXPECT_FALSE(from_null);
  LocalRef<int> copy = ref;
  EXPECT_FALSE(copy);
}

TEST(LocalRefTest, TheLastOwnerDestroysTheObject) {
  int live = 0;
  {
    LocalRef<Tracked> first = LocalRef<Tracked>::Make(&live, "a");
    EXPECT_EQ(live, 1);
    EXPECT_EQ(first->name, "a");
    {
      LocalRef<Tracked> second = first;
      EXPECT_EQ(second.get(), first.get());
      EXPECT_EQ(first.owners(), 2u);
      LocalRef<Tracked> third = std::move(second);
      EXPECT_FALSE(
          second);  // NOLINT(bugprone-use-after-move): moved-from is null
      EXPECT_EQ(first.owners(), 2u);
    }
    EXPECT_EQ(live, 1);
    EXPECT_EQ(first.owners(), 1u);
  }
  EXPECT_EQ(live, 0);
}

TEST(LocalRefTest, AssignmentReleasesTheOldObject) {
  int live = 0;
  LocalRef<Tracked> ref = LocalRef<Tracked>::Make(&live, "old");
  LocalRef<Tracked> other = LocalRef<Tracked>::Make(&live, "new");
  EXPECT_EQ(live, 2);
  ref = other;
  EXPECT_EQ(live, 1);
  EXPECT_EQ(ref->name, "new");
  EXPECT_EQ(other.owners(), 2u);
  ref = ref;  // self-assignment keeps it
  EXPECT_EQ(ref->name, "new");
  EXPECT_EQ(other.owners(), 2u);
  other = nullptr;
  EXPECT_EQ(live, 1);
  ref = nullptr;
  EXPECT_EQ(live, 0);
}

// What the network's deliveries rely on: a handler that drops the only
// stored reference to itself while it runs still runs to its end, held by
// the copy its caller made.
TEST(LocalRefTest, ACopyKeepsARunningFunctionAliveWhenItsOwnerDropsIt) {
  using Handler = std::function<void()>;
  LocalRef<Handler> stored;
  auto witness = std::make_shared<int>(0);
  std::weak_ptr<int> witness_alive = witness;
  stored = LocalRef<Handler>::Make([&stored, witness = std::move(witness)] {
    stored = nullptr;  // the owner lets go mid-call
    ++*witness;        // the captures are still there
  });
  const LocalRef<Handler> held = stored;
  (*held)();
  EXPECT_FALSE(stored);
  EXPECT_EQ(held.owners(), 1u);
  ASSERT_FALSE(witness_alive.expired());
  EXPECT_EQ(*witness_alive.lock(), 1);
}

}  // namespace
}  // namespace talkcheck
