// Values made from a scenario's text (a regex, a parsed pattern) once per
// thread and shared after: a fuzz campaign starts the same steps and matches
// the same values thousands of times.
//
// Example:
//   thread_local TextCache<CompiledRegex> regexes;
//   std::shared_ptr<const CompiledRegex> regex =
//       regexes.Get(source, [&] { return CompileRegex(source); });
#ifndef TALKCHECK_HARNESS_SCENARIO_TEXT_CACHE_H_
#define TALKCHECK_HARNESS_SCENARIO_TEXT_CACHE_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"

namespace talkcheck::harness {

// Not thread-safe: meant as a thread_local, so no lock is needed. Bounded
// (cleared once it holds kMaxEntries), as some texts carry one run's values.
template <typename T>
class TextCache {
 public:
  static constexpr size_t kMaxEntries = 1024;

  // The value made from `text`, calling `make()` (returning a T) only the
  // first time.
  template <typename Make>
  std::shared_ptr<const T> Get(const std::string& text, Make make) {
    if (auto it = values_.find(text); it != values_.end()) return it->second;
    if (values_.size() >= kMaxEntries) values_.clear();
    auto value = std::make_shared<const T>(make());
    values_.emplace(text, value);
    return value;
  }

 private:
  absl::flat_hash_map<std::string, std::shared_ptr<const T>> values_;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCENARIO_TEXT_CACHE_H_
