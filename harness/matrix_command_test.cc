#include "harness/matrix_command.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace talkcheck::harness {
namespace {

using ::testing::HasSubstr;

TEST(MatrixColumnTest, BareReference) {
  absl::StatusOr<MatrixColumn> column = ParseReferenceColumn("reference");
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(column->name, "reference");
  EXPECT_EQ(column->client.Describe(), "reference");
}

TEST(MatrixColumnTest, NamedReferenceWithFlags) {
  absl::StatusOr<MatrixColumn> column = ParseReferenceColumn(
      "pcmu=reference --codecs=PCMU,PCMA --fault=no-ack --dialect=g2 "
      "--answer_after=3s");
  ASSERT_TRUE(column.ok()) << column.status();
  EXPECT_EQ(column->name, "pcmu");
  EXPECT_EQ(column->client.codecs, "PCMU,PCMA");
  EXPECT_EQ(column->client.faults, "no-ack");
  EXPECT_EQ(column->client.dialect, "g2");
  EXPECT_EQ(column->client.answer_after, absl::Seconds(3));
  EXPECT_TRUE(column->client.command.empty());
}

TEST(MatrixColumnTest, ReferenceRefusesOtherClientsAndFlags) {
  EXPECT_THAT(ParseReferenceColumn("gabble").status().message(),
              HasSubstr("--client_cmd"));
  EXPECT_THAT(ParseReferenceColumn("x=reference --jobs=2").status().message(),
              HasSubstr("'--jobs=2' is not a reference client flag"));
  EXPECT_FALSE(ParseReferenceColumn("reference --answer_after=soon").ok());
}

TEST(MatrixColumnTest, CommandNamedOrByItsProgram) {
  absl::StatusOr<MatrixColumn> named =
      ParseCommandColumn("lj=./client --server={host}:{port}");
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(named->name, "lj");
  EXPECT_EQ(named->client.command, "./client --server={host}:{port}");
  absl::StatusOr<MatrixColumn> unnamed =
      ParseCommandColumn("/opt/bin/my-client --server={host}:{port}");
  ASSERT_TRUE(unnamed.ok()) << unnamed.status();
  EXPECT_EQ(unnamed->name, "my-client");
  EXPECT_EQ(unnamed->client.command,
            "/opt/bin/my-client --server={host}:{port}");
  EXPECT_FALSE(ParseCommandColumn("name=  ").ok());
}

TEST(MatrixColumnTest, EveryClientFlagInOrder) {
  std::vector<std::string> args = {"talkcheck",
                                   "matrix",
                                   "--client=reference",
                                   "--jobs=2",
                                   "--client_cmd",
                                   "b=./b {port}",
                                   "-client=c=reference --fault=no-ack",
                                   "x.xml",
                                   "--",
                                   "--client=ignored"};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  absl::StatusOr<std::vector<MatrixColumn>> columns =
      MatrixColumnsFromArgs(static_cast<int>(argv.size()), argv.data());
  ASSERT_TRUE(columns.ok()) << columns.status();
  ASSERT_EQ(columns->size(), 3u);
  EXPECT_EQ((*columns)[0].name, "reference");
  EXPECT_EQ((*columns)[1].name, "b");
  EXPECT_EQ((*columns)[1].client.command, "./b {port}");
  EXPECT_EQ((*columns)[2].name, "c");
  EXPECT_EQ((*columns)[2].client.faults, "no-ack");
}

TEST(MatrixCommandTest, RefusesNoClientAndTwinNames) {
  MatrixCommandOptions options;
  options.run.files = {"x.xml"};
  EXPECT_EQ(MatrixCommand(options), 2);
  options.columns = {*ParseReferenceColumn("reference"),
                     *ParseReferenceColumn("reference --fault=no-ack")};
  EXPECT_EQ(MatrixCommand(options), 2);
}

}  // namespace
}  // namespace talkcheck::harness
