#include "harness/matrix_command.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "harness/repeated_flags.h"
#include "harness/report/exit_codes.h"
#include "harness/report/html_report.h"
#include "harness/report/matrix.pb.h"
#include "harness/report/matrix_html.h"
#include "harness/report/quirks.h"
#include "harness/report/report_files.h"
#include "harness/report/report_writer.h"
#include "harness/scenario/scenario_files.h"

namespace talkcheck::harness {
namespace {

namespace fs = std::filesystem;

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '-';
}

// `text` as a file name: characters other than IsNameChar become '_'.
std::string FileName(absl::string_view text) {
  std::string name(text);
  for (char& c : name)
    if (!IsNameChar(c)) c = '_';
  if (name.empty() || name == "." || name == "..") name = "_";
  return name;
}

// Splits "NAME=REST" when the text before the first '=' is a name; else
// returns an empty name and `value` whole.
std::pair<std::string, std::string> SplitName(const std::string& value) {
  const size_t equals = value.find('=');
  if (equals == 0 || equals == std::string::npos) return {"", value};
  for (size_t i = 0; i < equals; ++i)
    if (!IsNameChar(value[i])) return {"", value};
  return {value.substr(0, equals), value.substr(equals + 1)};
}

// The options of `talkcheck run` for one column, its reports in `dir`.
absl::StatusOr<RunCommandOptions> ColumnRunOptions(
    const RunCommandOptions& shared, const MatrixColumn& column,
    const fs::path& dir) {
  RunCommandOptions options = shared;
  const ClientSpec& client = column.client;
  options.client_cmd = client.command;
  options.faults = client.faults;
  options.dialect = client.dialect;
  options.codecs = client.codecs;
  options.answer_after = client.answer_after;
  absl::StatusOr<reference_client::VoiceClientOptions> reference =
      ReferenceClientOptions(client.faults, client.dialect, client.codecs,
                             client.answer_after);
  if (!reference.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "client ", column.name, ": ", reference.status().message()));
  }
  reference->candidates = shared.reference.candidates;
  reference->media_address = shared.reference.media_address;
  options.reference = *std::move(reference);
  options.client_log =
      client.command.empty() ? "" : (dir / "client.log").string();
  options.junit = (dir / "junit.xml").string();
  options.json = (dir / "report.json").string();
  options.html = (dir / "report.html").string();
  // As `talkcheck run` keeps its capture under bazel test, one per column.
  if (std::getenv("TEST_UNDECLARED_OUTPUTS_DIR") != nullptr &&
      !shared.virtual_clock)
    options.pcap = (dir / "talkcheck.pcap").string();
  return options;
}

fs::path OutDir(const MatrixCommandOptions& options) {
  if (!options.out_dir.empty()) return options.out_dir;
  if (const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR"))
    return fs::path(outputs) / "matrix";
  return "talkcheck-matrix";
}

// What `file` has to put before a path relative to `out_dir` to reach it:
// "" in the same directory, else e.g. "out/" or "../m/".
std::string PrefixFrom(const fs::path& file, const fs::path& out_dir) {
  const fs::path from = fs::absolute(file).lexically_normal().parent_path();
  const fs::path to = fs::absolute(out_dir).lexically_normal();
  const std::string relative = to.lexically_relative(from).generic_string();
  if (relative.empty() || relative == ".") return "";
  return relative + "/";
}

// A scenario's own HTML report, as `talkcheck run --html` writes it for a run
// of that scenario alone.
std::string ScenarioHtml(const ScenarioResult& result) {
  RunReport alone;
  alone.set_seed(result.seed());
  *alone.add_scenarios() = result;
  CountVerdicts(alone);
  return HtmlReport(alone);
}

// talkcheck run's exit code for a column's run, made comparable: the worse
// of two (3 never ready, 2 error, 1 failed, 0 passed).
int Worse(int a, int b) {
  auto rank = [](int code) {
    return code == kExitNotReady ? 3
           : code == kExitError  ? 2
           : code == kExitFail   ? 1
                                 : 0;
  };
  return rank(a) >= rank(b) ? a : b;
}

// One line per scenario: its verdict and quirks for each client.
void PrintTable(const MatrixReport& matrix, std::ostream& out) {
  out << "\nmatrix (" << matrix.clients_size() << " clients: ";
  std::vector<std::string> names;
  for (const MatrixClient& client : matrix.clients())
    names.push_back(client.name());
  out << absl::StrJoin(names, ", ") << ")\n";
  const int columns = matrix.clients_size();
  for (int row = 0; row < matrix.scenarios_size(); ++row) {
    std::string line = matrix.scenarios(row).name();
    for (int column = 0; column < columns; ++column) {
      const MatrixCell& cell = matrix.cells(row * columns + column);
      absl::StrAppend(&line, "  ", cell.client(), ":",
                      ScenarioVerdictLabel(cell.verdict()));
      for (const QuirkObservation& q : cell.quirks())
        if (q.state() == SHOWN) absl::StrAppend(&line, " shows ", q.quirk());
    }
    out << line << "\n";
  }
}

}  // namespace

absl::StatusOr<MatrixColumn> ParseReferenceColumn(const std::string& value) {
  auto [name, spec] = SplitName(value);
  std::vector<std::string> words =
      absl::StrSplit(spec, absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (words.empty() || words[0] != "reference") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--client wants [NAME=]reference[ --fault=F --codecs=C --dialect=D "
        "--answer_after=T] (use --client_cmd for any other client), not '",
        value, "'"));
  }
  MatrixColumn column;
  column.name = name.empty() ? "reference" : name;
  for (size_t i = 1; i < words.size(); ++i) {
    absl::string_view word = words[i];
    if (absl::ConsumePrefix(&word, "--fault=")) {
      column.client.faults = std::string(word);
    } else if (absl::ConsumePrefix(&word, "--codecs=")) {
      column.client.codecs = std::string(word);
    } else if (absl::ConsumePrefix(&word, "--dialect=")) {
      column.client.dialect = std::string(word);
    } else if (absl::ConsumePrefix(&word, "--answer_after=")) {
      if (!absl::ParseDuration(word, &column.client.answer_after)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "--client ", column.name, ": bad --answer_after '", word, "'"));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "--client ", column.name, ": '", words[i],
          "' is not a reference client flag (--fault, --codecs, --dialect, "
          "--answer_after)"));
    }
  }
  return column;
}

absl::StatusOr<MatrixColumn> ParseCommandColumn(const std::string& value) {
  auto [name, command] = SplitName(value);
  if (absl::StripAsciiWhitespace(command).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--client_cmd wants [NAME=]COMMAND, not '", value, "'"));
  }
  MatrixColumn column;
  column.client.command = command;
  if (name.empty()) {
    std::vector<std::string> words =
        absl::StrSplit(command, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    name = FileName(fs::path(words[0]).filename().string());
  }
  column.name = name;
  return column;
}

absl::StatusOr<std::vector<MatrixColumn>> MatrixColumnsFromArgs(int argc,
                                                                char** argv) {
  std::vector<MatrixColumn> columns;
  for (const auto& [flag, value] :
       RepeatedFlagValues({"client", "client_cmd"}, argc, argv)) {
    absl::StatusOr<MatrixColumn> column = flag == "client_cmd"
                                              ? ParseCommandColumn(value)
                                              : ParseReferenceColumn(value);
    if (!column.ok()) return column.status();
    columns.push_back(*std::move(column));
  }
  return columns;
}

int MatrixCommand(const MatrixCommandOptions& options) {
  if (options.columns.empty()) {
    std::cerr << "talkcheck matrix: no client: give --client or --client_cmd "
                 "for each column\n";
    return kExitError;
  }
  std::set<std::string> names;
  for (const MatrixColumn& column : options.columns) {
    if (!names.insert(column.name).second) {
      std::cerr << "talkcheck matrix: two clients named '" << column.name
                << "': name them (--client=NAME=reference ..., "
                   "--client_cmd=NAME=COMMAND)\n";
      return kExitError;
    }
  }
  // The scenarios as loaded, for their tags and profile-marked steps.
  LoadOptions load_options;
  for (const auto& [name, value] : options.run.runner.variables)
    load_options.extra_variables.push_back(name);
  std::vector<LoadedScenario> loaded;
  if (!LoadScenarioFiles(options.run.files, load_options, loaded, std::cerr))
    return kExitError;
  std::map<std::pair<std::string, std::string>, const Scenario*> scenarios;
  for (const LoadedScenario& item : loaded) {
    if (absl::StatusOr<std::vector<std::string>> probed =
            ProbedQuirks(item.scenario);
        !probed.ok()) {
      std::cerr << "talkcheck matrix: " << item.file << ": "
                << probed.status().message() << "\n";
      return kExitError;
    }
    scenarios[{item.file, item.scenario.name()}] = &item.scenario;
  }

  const fs::path out_dir = OutDir(options);
  MatrixReport matrix;
  matrix.set_seed(options.run.runner.seed);
  matrix.set_profile(options.run.profile);
  std::vector<RunReport> runs;
  int worst = kExitPass;
  for (const MatrixColumn& column : options.columns) {
    const fs::path dir = out_dir / FileName(column.name);
    std::error_code error;
    fs::create_directories(dir, error);
    if (error) {
      std::cerr << "talkcheck matrix: " << dir << ": " << error.message()
                << "\n";
      return kExitError;
    }
    absl::StatusOr<RunCommandOptions> run =
        ColumnRunOptions(options.run, column, dir);
    if (!run.ok()) {
      std::cerr << "talkcheck matrix: " << run.status().message() << "\n";
      return kExitError;
    }
    std::cout << "== " << column.name << ": " << column.client.Describe()
              << std::endl;
    RunReport report;
    const int code = RunCommand(*run, &report);
    // Nothing ran: bad input, which every column would meet alike.
    if (report.scenarios().empty()) return kExitError;
    if (!runs.empty() && report.scenarios_size() != runs[0].scenarios_size()) {
      std::cerr << "talkcheck matrix: " << column.name << " ran "
                << report.scenarios_size() << " scenarios, the first client "
                << runs[0].scenarios_size() << "\n";
      return kExitError;
    }
    worst = Worse(worst, code);
    MatrixClient& client = *matrix.add_clients();
    client.set_name(column.name);
    client.set_spec(column.client.Describe());
    client.set_passed(report.passed());
    client.set_failed(report.failed());
    client.set_errors(report.errors());
    client.set_not_applicable(report.not_applicable());
    const std::string base = FileName(column.name);
    client.set_report_html(base + "/report.html");
    client.set_report_json(base + "/report.json");
    runs.push_back(std::move(report));
  }

  // Rows in the order of the first column's run (every column runs the same
  // selection, in the order given).
  for (const ScenarioResult& first : runs[0].scenarios()) {
    MatrixScenario& row = *matrix.add_scenarios();
    row.set_name(first.name());
    row.set_file(first.file());
    auto scenario = scenarios.find({first.file(), first.name()});
    if (scenario == scenarios.end()) continue;
    absl::StatusOr<std::vector<std::string>> probed =
        ProbedQuirks(*scenario->second);
    if (probed.ok())
      for (const std::string& quirk : *probed) row.add_quirks(quirk);
  }
  for (int row = 0; row < matrix.scenarios_size(); ++row) {
    for (size_t column = 0; column < runs.size(); ++column) {
      const ScenarioResult& result = runs[column].scenarios(row);
      const std::string& name = matrix.clients(column).name();
      MatrixCell& cell = *matrix.add_cells();
      cell.set_client(name);
      cell.set_scenario(result.name());
      cell.set_verdict(result.verdict());
      cell.set_failure(result.failure());
      *cell.mutable_warnings() = result.warnings();
      for (QuirkObservation& q :
           ObserveQuirks(*scenarios.at({result.file(), result.name()}), result))
        *cell.add_quirks() = std::move(q);
      cell.set_report(
          absl::StrCat(FileName(name), "/", FileName(result.name()), ".html"));
      if (absl::Status s = WriteFile((out_dir / cell.report()).string(),
                                     ScenarioHtml(result));
          !s.ok()) {
        std::cerr << "talkcheck matrix: " << s.message() << "\n";
        return kExitError;
      }
    }
  }

  if (!options.run.quiet) PrintTable(matrix, std::cout);
  const fs::path html =
      options.html.empty() ? out_dir / "matrix.html" : fs::path(options.html);
  const fs::path json =
      options.json.empty() ? out_dir / "matrix.json" : fs::path(options.json);
  absl::StatusOr<std::string> json_text = ProtoJson(matrix);
  absl::Status written = json_text.ok() ? WriteFile(json.string(), *json_text)
                                        : json_text.status();
  if (written.ok())
    written =
        WriteFile(html.string(), MatrixHtml(matrix, PrefixFrom(html, out_dir)));
  if (!written.ok()) {
    std::cerr << "talkcheck matrix: " << written.message() << "\n";
    return kExitError;
  }
  std::cout << "matrix: " << html.string() << ", " << json.string()
            << "; reports in " << out_dir.string() << "/\n";
  return options.fail_on_any ? worst : kExitPass;
}

}  // namespace talkcheck::harness
