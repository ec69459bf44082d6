// Loader: <one-of> (alternatives) and <repeat> (rounds), flattened into the
// step list with anchors and jumps (scenario.proto, OneOfStep and RepeatStep),
// so that the runner keeps one program counter.
//
// Flattened one-of:          Flattened repeat:
//   one-of head                 repeat head      (anchor H)
//   jump ""   (anchor then1)    body steps...
//   branch 1 steps...           repeat-end -> H
//   jump end
//   jump ""   (anchor then2)
//   branch 2 steps...
//   jump end
//   jump ""   (anchor end)
#include <algorithm>
#include <cstring>
#include <iterator>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "harness/scenario/loader_internal.h"
#include "harness/scenario/variables.h"

namespace talkcheck::harness::scenario_internal {
namespace {

Step Jump(const SourceLocation& where, std::string anchor, std::string to) {
  Step step;
  *step.mutable_location() = where;
  step.set_anchor(std::move(anchor));
  step.mutable_jump()->set_to(std::move(to));
  return step;
}

// "a" for a one-of's first branch, "b" for its second, ...; past "z", the
// branch's number.
std::string BranchLetter(size_t b) {
  return b < 26 ? std::string(1, static_cast<char>('a' + b))
                : absl::StrCat(b + 1);
}

}  // namespace

using tinyxml2::XMLElement;
using tinyxml2::XMLNode;

void Loader::LoadBranchFirst(SourceFile& f, const XMLElement* e, Step& step) {
  // The one-of has the timing and the control flow.
  CheckAttributes(f, e, {"exact", "label", "to"});
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, step);
  LoadExpectBody(f, e, /*nested=*/true, *step.mutable_expect());
  // to="any" on a branch: that branch looks at everything the client sent.
  if (LoadAnyAddress(f, e)) step.mutable_expect()->set_any_address(true);
  // Its captures count for the rest of the branch.
  for (const std::string& name : ReferencedVariables(step.expect().pattern())) {
    if (IsValidVariableName(name) && captures_.count(name) > 0) {
      defined_.insert(name);
    }
  }
  if (!step.label().empty()) expect_label_depth_[step.label()] = branch_depth_;
}

void Loader::LoadOneOf(SourceFile& f, const XMLElement* e,
                       google::protobuf::RepeatedPtrField<Step>& steps) {
  CheckAttributes(
      f, e,
      {"within", "fuzz", "peer", "to", "label", "optional", "on-timeout"});
  Step head;
  head.set_number(NextNumber());
  LoadCommon(f, e, /*timed=*/true, /*nested=*/false, head);
  // The branches' first expects listen on this peer, or (to="any") on
  // everything the client sent.
  LoadStepPeer(f, e, head);
  const bool any_address = LoadAnyAddress(f, e);
  std::optional<Timing> within =
      TimingAttribute(f, e, "within", /*required=*/true);
  if (within) *head.mutable_one_of()->mutable_within() = *within;
  std::vector<const XMLElement*> branches;
  for (const XMLNode* node = e->FirstChild(); node != nullptr;
       node = node->NextSibling()) {
    if (HasText(*node)) {
      TextError(f, *node, e);
      continue;
    }
    const XMLElement* child = node->ToElement();
    if (child == nullptr) continue;
    if (std::strcmp(child->Name(), "branch") != 0) {
      Error(f, child,
            absl::StrCat("<one-of> holds only <branch> elements, found <",
                         child->Name(), ">"));
      continue;
    }
    branches.push_back(child);
  }
  if (branches.size() < 2) {
    Error(f, e, "<one-of> needs at least two <branch> elements");
  }
  const int head_index = steps.size();
  steps.Add(std::move(head));
  const std::string end = NewAnchor();
  const std::set<std::string> defined_before = defined_;
  std::optional<std::set<std::string>> defined_after;
  const int64_t min_before = min_ms_;
  std::optional<int64_t> branch_min;
  ++branch_depth_;
  for (size_t b = 0; b < branches.size(); ++b) {
    const XMLElement* branch = branches[b];
    defined_ = defined_before;
    min_ms_ = 0;
    // Branch b of one-of 4: "4.b.1" (its first expect), "4.b.2", ...
    NumberLevel outer = EnterNumbers(
        absl::StrCat(steps[head_index].number(), ".", BranchLetter(b), "."));
    LoadBranch(f, branch, head_index, within, any_address, end, steps);
    LeaveNumbers(std::move(outer));
    // Captures made in a branch count after the one-of only when every
    // branch makes them.
    if (!defined_after) {
      defined_after = defined_;
    } else {
      std::set<std::string> both;
      std::set_intersection(defined_after->begin(), defined_after->end(),
                            defined_.begin(), defined_.end(),
                            std::inserter(both, both.begin()));
      defined_after = std::move(both);
    }
    branch_min = std::min(branch_min.value_or(min_ms_), min_ms_);
  }
  --branch_depth_;
  defined_ = defined_after.value_or(defined_before);
  min_ms_ = min_before + branch_min.value_or(0);
  steps.Add(Jump(steps[head_index].location(), end, ""));
}

void Loader::LoadBranch(SourceFile& f, const XMLElement* branch, int head_index,
                        const std::optional<Timing>& within, bool any_address,
                        const std::string& end,
                        google::protobuf::RepeatedPtrField<Step>& steps) {
  CheckAttributes(f, branch, {});
  const XMLElement* first = branch->FirstChildElement();
  for (const XMLNode* node = branch->FirstChild(); node != first;
       node = node->NextSibling()) {
    if (HasText(*node)) TextError(f, *node, branch);
  }
  if (first == nullptr || std::strcmp(first->Name(), "expect") != 0) {
    Error(f, first == nullptr ? branch : first,
          "a <branch> starts with an <expect>: the stanza that chooses it");
    return;
  }
  OneOfStep::Branch* alternative =
      steps[head_index].mutable_one_of()->add_branches();
  alternative->mutable_first()->set_number(NextNumber());
  LoadBranchFirst(f, first, *alternative->mutable_first());
  if (any_address)
    alternative->mutable_first()->mutable_expect()->set_any_address(true);
  if (within) {
    *alternative->mutable_first()->mutable_expect()->mutable_within() = *within;
  }
  alternative->set_then(NewAnchor());
  steps.Add(Jump(alternative->first().location(), alternative->then(), ""));
  if (const XMLNode* rest = first->NextSibling()) {
    LoadChildren(f, branch, Container::kBranch, steps, rest);
  }
  steps.Add(Jump(alternative->first().location(), "", end));
}

void Loader::LoadRepeat(SourceFile& f, const XMLElement* e,
                        google::protobuf::RepeatedPtrField<Step>& steps) {
  CheckAttributes(f, e, {"max", "until", "label", "optional"});
  Step head;
  head.set_number(NextNumber());
  LoadCommon(f, e, /*timed=*/false, /*nested=*/false, head);
  head.set_anchor(NewAnchor());
  RepeatStep& repeat = *head.mutable_repeat();
  repeat.set_max(1);
  if (const char* max = Required(f, e, "max")) {
    int value = 0;
    if (!absl::ascii_isdigit(*max) || !absl::SimpleAtoi(max, &value) ||
        value < 1 || value > kMaxRepeatRounds) {
      AttributeError(f, e, "max",
                     absl::StrCat("max must be a whole number from 1 to ",
                                  kMaxRepeatRounds,
                                  " (kMaxRepeatRounds), got \"", max, "\""));
    } else {
      repeat.set_max(value);
    }
  }
  const char* until = e->Attribute("until");
  if (until != nullptr) repeat.set_until(until);
  const int head_index = steps.size();
  steps.Add(std::move(head));
  const std::set<std::string> defined_before = defined_;
  const int64_t min_before = min_ms_;
  min_ms_ = 0;
  const int depth = branch_depth_;
  NumberLevel outer =
      EnterNumbers(absl::StrCat(steps[head_index].number(), "."));
  LoadChildren(f, e, Container::kRepeat, steps);
  LeaveNumbers(std::move(outer));
  const int end_index = steps.size();
  if (end_index == head_index + 1) {
    Error(f, e, "<repeat> needs at least one step");
  }
  // Captures first made in the body are made afresh each round.
  for (const std::string& name : defined_) {
    if (defined_before.count(name) == 0) {
      steps[head_index].mutable_repeat()->add_fresh(name);
    }
  }
  if (until != nullptr) {
    bool found = false;
    for (int i = head_index + 1; i < end_index && !found; ++i) {
      const Step& step = steps[i];
      found = step.label() == until && step.has_expect();
      for (const OneOfStep::Branch& branch : step.one_of().branches()) {
        found = found || branch.first().label() == until;
      }
    }
    if (!found) {
      AttributeError(f, e, "until",
                     absl::StrCat("until names no <expect> inside this "
                                  "<repeat> labelled \"",
                                  until, "\""));
    } else if (expect_label_depth_[until] == depth) {
      AttributeWarning(
          f, e, "until",
          absl::StrCat("the expect labelled \"", until,
                       "\" is in every round and not optional: the repeat "
                       "always ends after its first round (put it in a "
                       "<one-of> branch)"));
    }
  }
  Step end;
  end.set_number(steps[head_index].number());
  *end.mutable_location() = steps[head_index].location();
  end.set_optional(steps[head_index].optional());
  end.mutable_repeat_end()->set_head(steps[head_index].anchor());
  steps.Add(std::move(end));
  // With `until` one round may be enough; without, every round runs.
  const int64_t body = min_ms_;
  min_ms_ = min_before +
            (until != nullptr ? body : body * steps[head_index].repeat().max());
}

}  // namespace talkcheck::harness::scenario_internal
