// Mt19937_64: std::mt19937_64's exact sequence, for less work per seed.
//
// Every fuzz schedule seeds its own engines (the server's, the runner's, the
// client's, the schedule's own, the media fate's) and draws a few dozen
// numbers from each; the standard engine fills all 312 state words at
// seeding and twists them all at the first draw, most of what an engine cost
// a schedule. This one seeds a state word and twists it only when a draw
// needs it. The twist is the standard in-place one, word k after words
// 0..k-1, so doing word k at draw k reads the same values the whole twist
// would; the first twist reads seeded words up to k + 156, so seeding goes
// that far ahead and no farther. Same seed, same numbers as std::mt19937_64
// (mt19937_64_test.cc compares them): replay files and campaign seeds stay
// valid.
#ifndef TALKCHECK_BASE_MT19937_64_H_
#define TALKCHECK_BASE_MT19937_64_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace talkcheck {

class Mt19937_64 {
 public:
  using result_type = uint64_t;
  static constexpr result_type default_seed = 5489u;

  explicit Mt19937_64(result_type seed = default_seed) { Seed(seed); }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() {
    return std::numeric_limits<result_type>::max();
  }

  void seed(result_type value = default_seed) { Seed(value); }

  result_type operator()() {
    if (next_ == kWords) next_ = 0;  // a generation used up: the next one
    const size_t k = next_++;
    // Only the first generation reads seeded words ahead of it; every word is
    // seeded by its 156th draw.
    if (seeded_ < kWords) {
      SeedThrough(k < kShift ? k + kShift : std::min(k + 1, kWords - 1));
    }
    Twist(k);
    return Temper(state_[k]);
  }

  void discard(unsigned long long count) {
    for (; count > 0; --count) (*this)();
  }

 private:
  static constexpr size_t kWords = 312;  // n
  static constexpr size_t kShift = 156;  // m
  static constexpr uint64_t kUpperMask = ~uint64_t{0} << 31;
  static constexpr uint64_t kLowerMask = ~kUpperMask;
  static constexpr uint64_t kMatrix = 0xb5026f5aa96619e9ULL;

  void Seed(result_type value) {
    state_[0] = value;
    seeded_ = 1;
    next_ = 0;
  }

  // Fills the state words up to and including `last` as seeding does.
  void SeedThrough(size_t last) {
    for (; seeded_ <= last; ++seeded_) {
      const uint64_t previous = state_[seeded_ - 1];
      state_[seeded_] = 6364136223846793005ULL * (previous ^ (previous >> 62)) +
                        static_cast<uint64_t>(seeded_);
    }
  }

  // Word k of the next generation, from words k and k + 1 (word 0 already
  // twisted, for the last word) and the word kShift ahead (behind, once
  // twisted, past the middle).
  void Twist(size_t k) {
    const size_t after = k + 1 == kWords ? 0 : k + 1;
    const size_t far = k < kWords - kShift ? k + kShift : k + kShift - kWords;
    const uint64_t y = (state_[k] & kUpperMask) | (state_[after] & kLowerMask);
    state_[k] = state_[far] ^ (y >> 1) ^ ((state_[after] & 1) ? kMatrix : 0);
  }

  static uint64_t Temper(uint64_t z) {
    z ^= (z >> 29) & 0x5555555555555555ULL;
    z ^= (z << 17) & 0x71d67fffeda60000ULL;
    z ^= (z << 37) & 0xfff7eee000000000ULL;
    z ^= z >> 43;
    return z;
  }

  std::array<uint64_t, kWords> state_;
  size_t seeded_ = 0;  // words seeded so far (all, from draw 156 on)
  size_t next_ = 0;    // the next word to twist and draw
};

}  // namespace talkcheck

#endif  // TALKCHECK_BASE_MT19937_64_H_
