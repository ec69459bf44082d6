#include "harness/fuzz/replay_file.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "harness/fuzz/schedule.h"

namespace talkcheck::harness {
namespace {

// A perturbation's description quotes scenario text (its aim), which may hold a
// line break; escaped, so that each description stays one comment line and the
// file parses back.
std::string CommentText(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += absl::CHexEscape(std::string(1, c));
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string ReplayText(const Replay& replay, const Scenario* scenario) {
  std::string body;
  google::protobuf::TextFormat::PrintToString(replay, &body);
  std::string header = absl::StrCat(
      "# talkcheck replay: run ", replay.run(), " of the campaign with seed ",
      replay.campaign_seed(), ", shrunk.\n# Reproduce with: talkcheck replay ",
      "THIS_FILE\n", "# The scenario path is relative to this file.\n");
  // Whatever client the campaign ran, a developer can check a fixed build
  // against the same schedule.
  absl::StrAppend(&header,
                  "# To try another build of the client (or another client): "
                  "talkcheck replay --client_cmd='...' THIS_FILE\n");
  const double scale = replay.time_scale() > 0 ? replay.time_scale() : 1.0;
  for (const Perturbation& p : replay.schedule().perturbations())
    absl::StrAppend(&header, "#   ", CommentText(Describe(p, scenario, scale)),
                    "\n");
  return header + body;
}

std::string ScenarioPathForReplay(const std::string& scenario,
                                  const std::string& replay_dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path relative = fs::relative(fs::absolute(scenario, ec),
                                         fs::absolute(replay_dir, ec), ec);
  return ec || relative.empty() ? scenario : relative.string();
}

std::string ResolveScenarioPath(const std::string& replay_file,
                                const std::string& scenario) {
  namespace fs = std::filesystem;
  const fs::path path(scenario);
  if (path.is_absolute()) return scenario;
  const fs::path beside = fs::path(replay_file).parent_path() / path;
  std::error_code ec;
  if (fs::exists(beside, ec)) return beside.lexically_normal().string();
  return scenario;
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
