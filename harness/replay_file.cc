#include "harness/replay_file.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include "absl/strings/str_cat.h"
#include "harness/schedule.h"

namespace talkcheck::harness {

std::string ReplayText(const Replay& replay) {
  std::string body;
  google::protobuf::TextFormat::PrintToString(replay, &body);
  std::string header = absl::StrCat(
      "# talkcheck replay: run ", replay.run(), " of the campaign with seed ",
      replay.campaign_seed(), ", shrunk.\n# Reproduce with: talkcheck replay ",
      "THIS_FILE\n");
  for (const Perturbation& p : replay.schedule().perturbations())
    absl::StrAppend(&header, "#   ", Describe(p), "\n");
  return header + body;
}

absl::StatusOr<Replay> ParseReplay(const std::string& text) {
  // Collects the parser's first complaint with its position.
  class Errors : public google::protobuf::io::ErrorCollector {
   public:
    void AddError(int line, int column, const std::string& message) override {
      if (first.empty())
        first = absl::StrCat(line + 1, ":", column + 1, ": ", message);
    }
    std::string first;
  };
  Errors errors;
  google::protobuf::TextFormat::Parser parser;
  parser.RecordErrorsTo(&errors);
  Replay replay;
  if (!parser.ParseFromString(text, &replay)) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a talkcheck replay: ", errors.first));
  }
  if (replay.scenario().empty())
    return absl::InvalidArgumentError("the replay names no scenario");
  return replay;
}

}  // namespace talkcheck::harness
