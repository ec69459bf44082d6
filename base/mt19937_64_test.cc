#include "base/mt19937_64.h"

#include <cstdint>
#include <random>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/random/distributions.h"
#include "gtest/gtest.h"

namespace talkcheck {
namespace {

// The same numbers as the standard engine, across several generations (a
// generation is 312 draws), from seeds of every shape.
TEST(Mt19937_64Test, DrawsTheStandardEnginesSequence) {
  for (const uint64_t seed :
       {uint64_t{0}, uint64_t{1}, uint64_t{5489}, uint64_t{0x9e3779b97f4a7c15},
        ~uint64_t{0}, uint64_t{1} << 63}) {
    std::mt19937_64 expected(seed);
    Mt19937_64 engine(seed);
    for (int i = 0; i < 312 * 4 + 7; ++i) {
      ASSERT_EQ(engine(), expected()) << "seed " << seed << ", draw " << i;
    }
  }
}

TEST(Mt19937_64Test, DefaultSeedReseedAndDiscardMatchTheStandardEngine) {
  std::mt19937_64 expected;
  Mt19937_64 engine;
  EXPECT_EQ(engine(), expected());
  engine.discard(400);
  expected.discard(400);
  EXPECT_EQ(engine(), expected());
  // Reseeding mid-generation starts over, as the standard engine does.
  engine.seed(42);
  expected.seed(42);
  for (int i = 0; i < 700; ++i) ASSERT_EQ(engine(), expected()) << i;
}

// Distributions draw through it as through the standard engine (what the
// runner and the server do via absl::BitGenRef).
TEST(Mt19937_64Test, DistributionsGiveTheSameValues) {
  std::mt19937_64 expected(7);
  Mt19937_64 engine(7);
  absl::BitGenRef expected_ref(expected);
  absl::BitGenRef engine_ref(engine);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(absl::Uniform<uint32_t>(engine_ref),
              absl::Uniform<uint32_t>(expected_ref));
    ASSERT_EQ(absl::Uniform(engine_ref, 0, 17),
              absl::Uniform(expected_ref, 0, 17));
    std::uniform_int_distribution<int> d(-5, 1000);
    ASSERT_EQ(d(engine), d(expected));
  }
}

}  // namespace
}  // namespace talkcheck
