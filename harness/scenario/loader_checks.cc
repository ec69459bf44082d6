// Loader: reading a file into tinyxml2 and the SourceMap, placing errors at
// file:line:column, and the attribute readers every step shares.
#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "harness/scenario/loader_internal.h"

namespace talkcheck::harness::scenario_internal {

using tinyxml2::XMLElement;
using tinyxml2::XMLNode;

bool HasText(const XMLNode& node) {
  const tinyxml2::XMLText* text = node.ToText();
  return text != nullptr &&
         !absl::StripAsciiWhitespace(text->Value() ? text->Value() : "")
              .empty();
}

LoadError Loader::At(const SourceFile& f, const XMLElement* e) const {
  const auto [line, column] = f.map.ElementPosition(e);
  return LoadError{f.path, line, column, ""};
}

LoadError Loader::AtAttribute(const SourceFile& f, const XMLElement* e,
                              absl::string_view attribute) const {
  const auto [line, column] = f.map.AttributePosition(e, attribute);
  return LoadError{f.path, line, column, ""};
}

void Loader::Error(const SourceFile& f, const XMLElement* e,
                   std::string message) {
  errors_.push_back(At(f, e));
  errors_.back().message = std::move(message);
}

void Loader::AttributeError(const SourceFile& f, const XMLElement* e,
                            absl::string_view attribute, std::string message) {
  errors_.push_back(AtAttribute(f, e, attribute));
  errors_.back().message = std::move(message);
}

void Loader::Warning(const SourceFile& f, const XMLElement* e,
                     std::string message) {
  warnings_.push_back(At(f, e));
  warnings_.back().message = std::move(message);
}

void Loader::AttributeWarning(const SourceFile& f, const XMLElement* e,
                              absl::string_view attribute,
                              std::string message) {
  warnings_.push_back(AtAttribute(f, e, attribute));
  warnings_.back().message = std::move(message);
}

LoadError Loader::AtValue(const SourceFile& f, const XMLElement* e,
                          absl::string_view value) const {
  if (value.empty()) return At(f, e);
  const ElementSpan& span = f.map.Span(e);
  size_t offset;
  if (const size_t at = f.map.Content(e).find(value);
      at != absl::string_view::npos) {
    offset = span.content_begin + at;
  } else if (const size_t in_tag =
                 absl::string_view(f.text)
                     .substr(span.start, span.content_begin - span.start)
                     .find(value);
             in_tag != absl::string_view::npos) {
    // In the step's own attributes (<control target="${who}"/>).
    offset = span.start + in_tag;
  } else {
    return At(f, e);
  }
  const auto [line, column] = f.map.Position(offset);
  return LoadError{f.path, line, column, ""};
}

void Loader::ValueError(const SourceFile& f, const XMLElement* e,
                        absl::string_view value, std::string message) {
  errors_.push_back(AtValue(f, e, value));
  errors_.back().message = std::move(message);
}

bool Loader::Parse(SourceFile& f) {
  f.doc.Parse(f.text.data(), f.text.size());
  // The scanner says where and why: in a text tinyxml2 refused, whose error
  // names only the kind, at a line that is not always the one at fault ("end
  // tag </expect> does not match <iq>", "<scenario> is not closed"), and in
  // markup tinyxml2 lets through (stray end tags, end tags with attributes).
  if (std::optional<SourceMap::Malformed> malformed =
          f.doc.Error() ? f.map.Check(f.text) : f.map.Build(f.text, f.doc)) {
    const auto [line, column] = f.map.Position(malformed->offset);
    errors_.push_back(LoadError{f.path, line, column,
                                "malformed XML: " + malformed->message});
    return false;
  }
  if (f.doc.Error()) {
    // ErrorStr() reads "Error=NAME ErrorID=N (0xN) Line number=L: detail".
    std::string message = absl::StrCat("malformed XML: ", f.doc.ErrorName());
    const absl::string_view full = f.doc.ErrorStr();
    if (const size_t at = full.find("Line number="); at != full.npos) {
      if (const size_t colon = full.find(": ", at); colon != full.npos) {
        absl::StrAppend(&message, ": ", full.substr(colon + 2));
      }
    }
    errors_.push_back(LoadError{f.path, std::max(f.doc.ErrorLineNum(), 1), 1,
                                std::move(message)});
    return false;
  }
  if (!f.map.paired()) {
    errors_.push_back(
        LoadError{f.path, 1, 1,
                  "internal error: source scanner disagrees with tinyxml2"});
    return false;
  }
  return true;
}

void Loader::CheckAttributes(const SourceFile& f, const XMLElement* e,
                             const std::vector<absl::string_view>& allowed) {
  for (const tinyxml2::XMLAttribute* a = e->FirstAttribute(); a != nullptr;
       a = a->Next()) {
    if (std::find(allowed.begin(), allowed.end(), a->Name()) != allowed.end()) {
      continue;
    }
    AttributeError(
        f, e, a->Name(),
        allowed.empty()
            ? absl::StrCat("<", e->Name(), "> takes no attributes, found \"",
                           a->Name(), "\"")
            : absl::StrCat("unknown attribute \"", a->Name(), "\" on <",
                           e->Name(),
                           ">; allowed: ", absl::StrJoin(allowed, ", ")));
  }
}

const char* Loader::Required(const SourceFile& f, const XMLElement* e,
                             const char* name) {
  const char* value = e->Attribute(name);
  if (value == nullptr) {
    Error(f, e,
          absl::StrCat("<", e->Name(), "> requires the attribute \"", name,
                       "\""));
  }
  return value;
}

std::optional<bool> Loader::Bool(const SourceFile& f, const XMLElement* e,
                                 const char* name) {
  const char* value = e->Attribute(name);
  if (value == nullptr) return std::nullopt;
  if (std::strcmp(value, "true") == 0) return true;
  if (std::strcmp(value, "false") == 0) return false;
  AttributeError(f, e, name,
                 absl::StrCat(name, " must be \"true\" or \"false\", got \"",
                              value, "\""));
  return std::nullopt;
}

void Loader::CheckNoContent(const SourceFile& f, const XMLElement* e) {
  for (const XMLNode* child = e->FirstChild(); child != nullptr;
       child = child->NextSibling()) {
    if (child->ToElement() != nullptr || HasText(*child)) {
      Error(f, e, absl::StrCat("<", e->Name(), "> takes no content"));
      return;
    }
  }
}

void Loader::TextError(const SourceFile& f, const XMLNode& text,
                       const XMLElement* parent) {
  // tinyxml2 gives the line of the text's first non-blank character; the column
  // is where that word is found on the line.
  const absl::string_view word = absl::StripAsciiWhitespace(text.Value());
  const int line = text.GetLineNum();
  int column = 1;
  const absl::string_view head =
      word.substr(0, std::min<size_t>(16, word.find_first_of("\r\n")));
  if (std::optional<size_t> offset = f.map.Find(line, head)) {
    column = f.map.Position(*offset).second;
  }
  std::string shown(word.substr(0, 20));
  if (word.size() > 20) absl::StrAppend(&shown, "...");
  errors_.push_back(LoadError{f.path, line, column,
                              absl::StrCat("unexpected text \"", shown,
                                           "\" in <", parent->Name(), ">")});
}

}  // namespace talkcheck::harness::scenario_internal
