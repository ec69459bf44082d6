#include "harness/scenario/variables.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace talkcheck::harness {
namespace {

bool IsNameStart(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

bool IsNameChar(char c) {
  return IsNameStart(c) || (c >= '0' && c <= '9') || c == ':' || c == '.' ||
         c == '-';
}

void AppendXmlEscaped(absl::string_view value, std::string& out) {
  // Runs of plain characters are appended whole (ids, JIDs and addresses
  // have none to escape).
  size_t pos = 0;
  while (pos < value.size()) {
    const size_t special = value.find_first_of("&<>\"'", pos);
    if (special == absl::string_view::npos) break;
    out.append(value.data() + pos, special - pos);
    switch (value[special]) {
      case '&':
        out.append("&amp;");
        break;
      case '<':
        out.append("&lt;");
        break;
      case '>':
        out.append("&gt;");
        break;
      case '"':
        out.append("&quot;");
        break;
      default:
        out.append("&apos;");
        break;
    }
    pos = special + 1;
  }
  out.append(value.data() + pos, value.size() - pos);
}

// One pass over `text` shared by Substitute and ReferencedVariables, so both
// agree on what `$${` and an unterminated `${` mean. Calls `on_literal` for
// runs of plain text and `on_reference` for each `${name}`; stops with
// kInvalidArgument at an unterminated reference.
template <typename OnLiteral, typename OnReference>
absl::Status Scan(absl::string_view text, OnLiteral on_literal,
                  OnReference on_reference) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t dollar = text.find('$', pos);
    if (dollar == absl::string_view::npos) break;
    if (text.substr(dollar, 3) == "$${") {
      on_literal(text.substr(pos, dollar - pos));
      on_literal("${");
      pos = dollar + 3;
      continue;
    }
    if (text.substr(dollar, 2) != "${") {
      on_literal(text.substr(pos, dollar + 1 - pos));
      pos = dollar + 1;
      continue;
    }
    const size_t close = text.find('}', dollar + 2);
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unterminated '${' at offset ", dollar, " in '", text, "'"));
    }
    on_literal(text.substr(pos, dollar - pos));
    if (absl::Status s =
            on_reference(text.substr(dollar + 2, close - dollar - 2));
        !s.ok()) {
      return s;
    }
    pos = close + 1;
  }
  on_literal(text.substr(pos));
  return absl::OkStatus();
}

}  // namespace

void Variables::Set(absl::string_view name, absl::string_view value) {
  auto it = values_.find(name);
  if (it == values_.end()) {
    values_.emplace(std::string(name), std::string(value));
  } else {
    it->second.assign(value.data(), value.size());
  }
}

const std::string* Variables::Get(absl::string_view name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return &it->second;
  return under_ == nullptr ? nullptr : under_->Get(name);
}

void Variables::Erase(absl::string_view name) {
  auto it = values_.find(name);
  if (it != values_.end()) values_.erase(it);
}

absl::StatusOr<std::string> Variables::Substitute(absl::string_view text,
                                                  bool escape_xml) const {
  std::string out;
  out.reserve(text.size());
  absl::Status status = Scan(
      text,
      [&](absl::string_view literal) {
        out.append(literal.data(), literal.size());
      },
      [&](absl::string_view name) -> absl::Status {
        if (!IsValidVariableName(name)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "invalid variable name '", name, "' in '", text, "'"));
        }
        const std::string* value = Get(name);
        if (value == nullptr) {
          return absl::NotFoundError(
              absl::StrCat("undefined variable '", name, "'"));
        }
        if (out.size() + value->size() > kMaxSubstitutedBytes) {
          return absl::ResourceExhaustedError(absl::StrCat(
              "substituting ${", name, "} makes the text longer than ",
              kMaxSubstitutedBytes, " bytes (kMaxSubstitutedBytes)"));
        }
        if (escape_xml) {
          AppendXmlEscaped(*value, out);
        } else {
          out.append(*value);
        }
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return out;
}

std::vector<std::string> ReferencedVariables(absl::string_view text) {
  std::vector<std::string> names;
  // Returns what was found before an unterminated `${`: the loader reports
  // that error through Substitute, and the names seen so far are still real.
  (void)Scan(
      text, [](absl::string_view) {},
      [&](absl::string_view name) {
        if (std::find(names.begin(), names.end(), name) == names.end()) {
          names.emplace_back(name);
        }
        return absl::OkStatus();
      });
  return names;
}

bool IsValidVariableName(absl::string_view name) {
  if (name.empty() || !IsNameStart(name[0])) return false;
  return std::all_of(name.begin() + 1, name.end(), IsNameChar);
}

}  // namespace talkcheck::harness
