// `talkcheck matrix`: the scenario library against several clients in one
// run, and one table of which client passes which scenario and shows which
// quirk of PROTOCOL.md §8 (harness/report/quirks.h). Each client is a column,
// run as `talkcheck run` runs one client (RunCommand: its parallel worlds,
// --jobs, --time_scale, --filter, --tags); its reports, one HTML page per
// scenario and the whole run's HTML, JSON and JUnit XML, go under
// OUT_DIR/NAME/, and the table to --html and --json.
//
//   talkcheck matrix --client=reference
//       --client='pcmu=reference --codecs=PCMU,PCMA'
//       --client_cmd='other=./other-client --server {host}:{port} ...'
//       --out_dir=/tmp/matrix scenarios/*.xml
#ifndef TALKCHECK_HARNESS_MATRIX_COMMAND_H_
#define TALKCHECK_HARNESS_MATRIX_COMMAND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "harness/run/world.h"
#include "harness/run_command.h"

namespace talkcheck::harness {

// One column: a named client under test.
struct MatrixColumn {
  std::string name;
  ClientSpec client;
};

// One --client value: "[NAME=]reference[ --fault=F][ --codecs=C]
// [ --dialect=D][ --answer_after=T]", the bundled reference client so
// configured (NAME defaults to "reference").
absl::StatusOr<MatrixColumn> ParseReferenceColumn(const std::string& value);

// One --client_cmd value: "[NAME=]CMD", a command as `talkcheck run
// --client_cmd` takes it. NAME (letters, digits, '.', '_', '-') defaults to
// the command's first word without its directory.
absl::StatusOr<MatrixColumn> ParseCommandColumn(const std::string& value);

// Every --client and --client_cmd of a command line, in order ("--flag=V" or
// "--flag V"; absl keeps only the last of a repeated flag).
absl::StatusOr<std::vector<MatrixColumn>> MatrixColumnsFromArgs(int argc,
                                                                char** argv);

struct MatrixCommandOptions {
  // What every column shares: the files, seed, --jobs, --time_scale,
  // --filter, --tags, --profile, the clock, --candidates... Its client fields
  // are replaced by each column's.
  RunCommandOptions run;
  std::vector<MatrixColumn> columns;
  // Where each column's reports go (OUT_DIR/NAME/); empty: "matrix" in
  // $TEST_UNDECLARED_OUTPUTS_DIR under bazel test, else ./talkcheck-matrix.
  std::string out_dir;
  // The table (empty: matrix.html and matrix.json in the output directory).
  std::string html;
  std::string json;
  // Exit as `talkcheck run` would for the worst column, instead of 0 once the
  // matrix is written.
  bool fail_on_any = false;
};

// 0 once the matrix is written, whatever its cells say (1, 2 or 3 with
// `fail_on_any`, as harness/report/exit_codes.h); 2 when it cannot be made.
int MatrixCommand(const MatrixCommandOptions& options);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_MATRIX_COMMAND_H_
