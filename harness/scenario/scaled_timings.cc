#include "harness/scenario/scaled_timings.h"

#include <cstdint>

namespace talkcheck::harness {
namespace {

void Scale(Timing& t, double k) {
  t.set_ms(static_cast<int64_t>(t.ms() * k));
  t.set_min_ms(static_cast<int64_t>(t.min_ms() * k));
  t.set_max_ms(static_cast<int64_t>(t.max_ms() * k));
}

void ScaleStep(Step& step, double k) {
  switch (step.kind_case()) {
    case Step::kExpect:
      return Scale(*step.mutable_expect()->mutable_within(), k);
    case Step::kExpectNone:
      return Scale(*step.mutable_expect_none()->mutable_period(), k);
    case Step::kDelay:
      return Scale(*step.mutable_delay()->mutable_duration(), k);
    case Step::kAnyOrder:
      Scale(*step.mutable_any_order()->mutable_within(), k);
      for (Step& inner : *step.mutable_any_order()->mutable_steps())
        ScaleStep(inner, k);
      return;
    case Step::kOneOf:
      Scale(*step.mutable_one_of()->mutable_within(), k);
      for (auto& branch : *step.mutable_one_of()->mutable_branches())
        ScaleStep(*branch.mutable_first(), k);
      return;
    default:
      return;
  }
}

}  // namespace

Scenario ScaleTimings(const Scenario& scenario, double k) {
  Scenario out = scenario;
  if (out.has_timeout()) Scale(*out.mutable_timeout(), k);
  for (Step& step : *out.mutable_steps()) ScaleStep(step, k);
  return out;
}

}  // namespace talkcheck::harness
