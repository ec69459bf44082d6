#include "harness/report/report_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "harness/report/report.pb.h"

namespace talkcheck::harness {
namespace {

// Where each of `needles` first occurs in `text`, in the order given.
std::vector<size_t> Positions(const std::string& text,
                              const std::vector<std::string>& needles) {
  std::vector<size_t> at;
  for (const std::string& needle : needles) at.push_back(text.find(needle));
  return at;
}

// Verifies that a report's maps come out sorted by key, whatever order they
// were filled in: protobuf iterates a map in an order that varies from
// process to process, and the same campaign's JSON differed run to run.
TEST(ProtoJsonTest, MapsAreWrittenInKeyOrder) {
  MediaReport forward;
  MediaReport backward;
  std::vector<std::string> names;
  std::vector<std::string> types;
  for (int i = 0; i < 40; ++i) {
    names.push_back(absl::StrCat("\"finding-", 100 + i, "\""));
    (*forward.mutable_findings())[absl::StrCat("finding-", 100 + i)] = i;
    (*backward.mutable_findings())[absl::StrCat("finding-", 139 - i)] = 39 - i;
    // Numeric keys in numeric order (8 before 96 before 100).
    const int type = i < 20 ? 8 + i : 80 + i;
    types.push_back(absl::StrCat("\"", type, "\": \"", i + 1, "\""));
    (*forward.mutable_received_payload_types())[type] = i + 1;
  }
  for (int i = 39; i >= 0; --i) {
    const int type = i < 20 ? 8 + i : 80 + i;
    (*backward.mutable_received_payload_types())[type] = i + 1;
  }

  absl::StatusOr<std::string> a = ProtoJson(forward);
  absl::StatusOr<std::string> b = ProtoJson(backward);
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(*a, *b);
  const std::vector<size_t> name_at = Positions(*a, names);
  const std::vector<size_t> type_at = Positions(*a, types);
  EXPECT_THAT(name_at, ::testing::Not(::testing::Contains(std::string::npos)));
  EXPECT_THAT(type_at, ::testing::Not(::testing::Contains(std::string::npos)));
  EXPECT_TRUE(std::is_sorted(name_at.begin(), name_at.end())) << *a;
  EXPECT_TRUE(std::is_sorted(type_at.begin(), type_at.end())) << *a;
  // The rest of the mapping is as before: .proto names, zeros written.
  EXPECT_THAT(*a, ::testing::HasSubstr("\"packets_received\": \"0\""));
}

}  // namespace
}  // namespace talkcheck::harness
