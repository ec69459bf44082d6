// Durations ("250ms", "1.5s", "2m"), timings (a duration or a range "A..B")
// and the timing attributes of steps with their `fuzz` companion.
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "harness/scenario/loader_internal.h"
#include "harness/scenario/scenario_loader.h"

namespace talkcheck::harness {
namespace {

constexpr char kTimingHelp[] =
    "expected a number with a unit (ms, s or m) such as \"250ms\", \"1.5s\" "
    "or \"2m\", or a range \"A..B\"";

absl::StatusOr<int64_t> ParseDurationMs(absl::string_view text) {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid duration \"", text, "\": ", why));
  };
  if (absl::StartsWith(text, "-")) {
    return invalid("durations cannot be negative");
  }
  size_t i = 0;
  while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
  const absl::string_view whole = text.substr(0, i);
  absl::string_view fraction;
  if (i < text.size() && text[i] == '.') {
    const size_t begin = ++i;
    while (i < text.size() && absl::ascii_isdigit(text[i])) ++i;
    fraction = text.substr(begin, i - begin);
    if (fraction.empty()) return invalid(kTimingHelp);
  }
  if (whole.empty()) return invalid(kTimingHelp);
  const absl::string_view unit = text.substr(i);
  int64_t scale;
  if (unit == "ms") {
    scale = 1;
  } else if (unit == "s") {
    scale = 1000;
  } else if (unit == "m") {
    scale = 60000;
  } else if (unit.empty()) {
    return invalid("missing unit (ms, s or m)");
  } else {
    return invalid(kTimingHelp);
  }
  // Nine digits each way keep the arithmetic inside int64.
  if (whole.size() > 9 || fraction.size() > 9) return invalid("too large");
  int64_t whole_value = 0, fraction_value = 0, denominator = 1;
  if (!absl::SimpleAtoi(whole, &whole_value)) return invalid(kTimingHelp);
  if (!fraction.empty() && !absl::SimpleAtoi(fraction, &fraction_value)) {
    return invalid(kTimingHelp);
  }
  for (size_t k = 0; k < fraction.size(); ++k) denominator *= 10;
  if (fraction_value * scale % denominator != 0) {
    return invalid("not a whole number of milliseconds");
  }
  return whole_value * scale + fraction_value * scale / denominator;
}

}  // namespace

absl::StatusOr<Timing> ParseTiming(absl::string_view text) {
  Timing timing;
  const size_t dots = text.find("..");
  if (dots == absl::string_view::npos) {
    absl::StatusOr<int64_t> ms = ParseDurationMs(text);
    if (!ms.ok()) return ms.status();
    timing.set_ms(*ms);
    timing.set_min_ms(*ms);
    timing.set_max_ms(*ms);
    return timing;
  }
  absl::StatusOr<int64_t> min = ParseDurationMs(text.substr(0, dots));
  if (!min.ok()) return min.status();
  absl::StatusOr<int64_t> max = ParseDurationMs(text.substr(dots + 2));
  if (!max.ok()) return max.status();
  if (*min > *max) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid range \"", text,
                     "\": the minimum is greater than the maximum"));
  }
  timing.set_is_range(true);
  timing.set_ms(*max);
  timing.set_min_ms(*min);
  timing.set_max_ms(*max);
  return timing;
}

namespace scenario_internal {

using tinyxml2::XMLElement;

std::optional<Timing> Loader::TimingAttribute(const SourceFile& f,
                                              const XMLElement* e,
                                              const char* name, bool required) {
  const char* value = required ? Required(f, e, name) : e->Attribute(name);
  if (value == nullptr) return std::nullopt;
  absl::StatusOr<Timing> timing = ParseTiming(value);
  if (!timing.ok()) {
    AttributeError(f, e, name,
                   absl::StrCat(name, ": ", timing.status().message()));
    return std::nullopt;
  }
  if (const char* fuzz = e->Attribute("fuzz"); fuzz != nullptr) {
    absl::StatusOr<Timing> range = ParseTiming(fuzz);
    if (!range.ok()) {
      AttributeError(f, e, "fuzz",
                     absl::StrCat("fuzz: ", range.status().message()));
    } else if (!range->is_range()) {
      AttributeError(
          f, e, "fuzz",
          absl::StrCat("fuzz must be a range \"A..B\", got \"", fuzz, "\""));
    } else if (timing->is_range()) {
      AttributeError(
          f, e, "fuzz",
          absl::StrCat("fuzz given but ", name, " is already a range"));
    } else {
      timing->set_is_range(true);
      timing->set_min_ms(range->min_ms());
      timing->set_max_ms(range->max_ms());
    }
  }
  return *timing;
}

}  // namespace scenario_internal
}  // namespace talkcheck::harness
