#include "harness/report/report_files.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace talkcheck::harness {

std::string XmlSafe(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c < 0x20 && c != '\n' && c != '\t' && c != '\r') {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

absl::StatusOr<std::string> ProtoJson(
    const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  // A zero (0 packets, step index 0, loss 0 %) is a figure, not a gap.
  options.always_print_primitive_fields = true;
  // MessageToJsonString writes map entries in the map's iteration order,
  // which protobuf varies from process to process: the same campaign gave
  // its violations by oracle in a different order each run. Deterministic
  // serialisation sorts them by key, and the JSON keeps that order.
  std::string binary;
  {
    google::protobuf::io::StringOutputStream stream(&binary);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    if (!message.SerializeToCodedStream(&coded)) {
      return absl::InternalError("JSON report: cannot serialise the report");
    }
  }
  constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com";
  const google::protobuf::Descriptor& descriptor = *message.GetDescriptor();
  const std::unique_ptr<google::protobuf::util::TypeResolver> resolver(
      google::protobuf::util::NewTypeResolverForDescriptorPool(
          std::string(kTypeUrlPrefix), descriptor.file()->pool()));
  auto status = google::protobuf::util::BinaryToJsonString(
      resolver.get(), absl::StrCat(kTypeUrlPrefix, "/", descriptor.full_name()),
      binary, &json, options);
  if (!status.ok()) {
    return absl::InternalError(
        absl::StrCat("JSON report: ", status.ToString()));
  }
  return json;
}

void WriteReportFiles(std::string junit_path, const std::string& junit_xml,
                      const std::string& json_path,
                      const absl::StatusOr<std::string>& json) {
  if (junit_path.empty()) {
    if (const char* xml_output = std::getenv("XML_OUTPUT_FILE"))
      junit_path = xml_output;
  }
  if (!junit_path.empty()) {
    if (absl::Status s = WriteFile(junit_path, junit_xml); !s.ok())
      std::cerr << "talkcheck: " << s.message() << "\n";
  }
  if (!json_path.empty() && (!json.ok() || !WriteFile(json_path, *json).ok())) {
    std::cerr << "talkcheck: cannot write the JSON report to " << json_path
              << "\n";
  }
}

absl::Status WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << contents;
  file.close();
  if (!file) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace talkcheck::harness
