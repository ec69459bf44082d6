// ParseElementWithTinyxml2: ParseElement as it was before its one-pass parser
// (element_parser.cc), kept for the differential fuzzer and the benchmark:
// tinyxml2's tree turned into Elements, with namespaces resolved and references
// decoded and checked.
#include "xmpp/element_parser_tinyxml2.h"

#include <tinyxml2.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <forward_list>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "xmpp/element.h"
#include "xmpp/markup_scan.h"
#include "xmpp/namespace_bindings.h"
#include "xmpp/stream_error.h"
#include "xmpp/xml_decode.h"
#include "xmpp/xml_syntax.h"

namespace talkcheck::xmpp {
namespace {

using internal::AppendCData;
using internal::AppendWhitespace;
using internal::BadPrefix;
using internal::DecodeAttribute;
using internal::DecodeText;
using internal::FindInvalidUtf8;
using internal::IsNamespaceDeclaration;
using internal::LineAt;
using internal::NamespaceBindings;
using internal::NotWellFormed;
using internal::Restricted;
using internal::SplitQName;
using internal::WhitespaceRun;

}  // namespace

// Turns tinyxml2's tree (parsed with entity processing off, so values arrive
// raw) into Elements: resolves namespaces, decodes and checks references, and
// puts back the whitespace-only text the pre-scan recorded.
class Tinyxml2ElementBuilder {
 public:
  // `scope` outlives the parser, so views into its strings stay valid.
  Tinyxml2ElementBuilder(const NamespaceScope& scope,
                         const std::vector<WhitespaceRun>& runs)
      : bindings_(scope), runs_(runs) {}

  // Builds `out` from `source`, with the bindings of its ancestors in force.
  absl::Status Build(const tinyxml2::XMLElement& source,
                     std::unique_ptr<Element>& out) {
    const int index = element_index_++;
    const int line = source.GetLineNum();
    const size_t mark = bindings_.mark();
    // Declarations first: they apply to the element's own name and attributes.
    struct RawAttribute {
      absl::string_view name;
      const char* value;
    };
    absl::InlinedVector<RawAttribute, 8> raw;
    for (const tinyxml2::XMLAttribute* a = source.FirstAttribute();
         a != nullptr; a = a->Next()) {
      const absl::string_view name = a->Name();
      absl::string_view declared;
      bool is_default;
      if (IsNamespaceDeclaration(name, declared, is_default)) {
        if (absl::Status s =
                bindings_.Declare(declared, is_default, a->Value(), line);
            !s.ok()) {
          return s;
        }
      } else {
        raw.push_back({name, a->Value()});
      }
    }

    absl::string_view prefix, local;
    if (!SplitQName(source.Name(), prefix, local)) {
      return NotWellFormed(
          absl::StrCat("element name '", source.Name(), "' is not a QName"),
          line);
    }
    const absl::string_view* uri = bindings_.Lookup(prefix);
    if (uri == nullptr) return BadPrefix(prefix, line);
    out = std::make_unique<Element>(*uri, local);
    Element& target = *out;
    target.line_ = line;

    target.attributes_.reserve(raw.size());
    bool any_prefixed = false;
    for (const RawAttribute& a : raw) {
      if (!SplitQName(a.name, prefix, local)) {
        return NotWellFormed(
            absl::StrCat("attribute name '", a.name, "' is not a QName"), line);
      }
      // Unprefixed attributes are in no namespace, whatever the default.
      absl::string_view attribute_ns;
      if (!prefix.empty()) {
        uri = bindings_.Lookup(prefix);
        if (uri == nullptr) return BadPrefix(prefix, line);
        attribute_ns = *uri;
        any_prefixed = true;
      }
      std::string value;
      if (absl::Status s = DecodeAttribute(a.value, line, value); !s.ok()) {
        return s;
      }
      target.attributes_.push_back(Attribute{
          std::string(attribute_ns), std::string(local), std::move(value)});
    }
    // tinyxml2 rejects repeated names as written; two prefixes bound to one URI
    // can still name the same attribute.
    // One hash lookup per attribute, so the check stays linear.
    if (any_prefixed) {
      absl::flat_hash_set<std::pair<absl::string_view, absl::string_view>> seen;
      seen.reserve(target.attributes_.size());
      for (const Attribute& a : target.attributes_) {
        if (!seen.emplace(a.ns, a.name).second) {
          return NotWellFormed(
              absl::StrCat("attribute '", a.name, "' repeated"), line);
        }
      }
    }

    int child_count = 0;
    for (const tinyxml2::XMLNode* c = source.FirstChild(); c != nullptr;
         c = c->NextSibling()) {
      ++child_count;
    }
    target.nodes_.reserve(child_count);
    int slot = 0;
    for (const tinyxml2::XMLNode* child = source.FirstChild(); child != nullptr;
         child = child->NextSibling(), ++slot) {
      InsertWhitespace(index, slot, target);
      if (const tinyxml2::XMLElement* e = child->ToElement()) {
        Element::Node& node = target.nodes_.emplace_back();
        if (absl::Status s = Build(*e, node.element); !s.ok()) return s;
      } else if (const tinyxml2::XMLText* t = child->ToText()) {
        std::string& sink = TextSink(target);
        const absl::Status s =
            t->CData() ? AppendCData(t->Value(), t->GetLineNum(), sink)
                       : DecodeText(t->Value(), t->GetLineNum(), sink);
        if (!s.ok()) return s;
        if (sink.empty()) target.nodes_.pop_back();
      } else {
        // The pre-scan reports these first; kept for safety.
        return Restricted("a comment or declaration", child->GetLineNum());
      }
    }
    InsertWhitespace(index, slot, target);
    bindings_.Truncate(mark);
    return absl::OkStatus();
  }

  bool AllWhitespaceInserted() const { return next_run_ == runs_.size(); }

 private:
  // The element's last text node to append to, created when the last node is an
  // element (so runs stay merged).
  static std::string& TextSink(Element& target) {
    if (target.nodes_.empty() || target.nodes_.back().element != nullptr) {
      target.nodes_.emplace_back();
    }
    return target.nodes_.back().text;
  }

  void InsertWhitespace(int element, int slot, Element& target) {
    while (next_run_ < runs_.size() && runs_[next_run_].element == element &&
           runs_[next_run_].slot == slot) {
      std::string& sink = TextSink(target);
      AppendWhitespace(runs_[next_run_].text, sink);
      ++next_run_;
    }
  }

  NamespaceBindings bindings_;
  const std::vector<WhitespaceRun>& runs_;
  size_t next_run_ = 0;
  int element_index_ = 0;
};

// ---------------------------------------------------------------------------------------
// Parsing

absl::StatusOr<Element> ParseElementWithTinyxml2(absl::string_view xml,
                                                 const NamespaceScope& scope) {
  // tinyxml2 reads a C string, so it would stop at a NUL (which XML forbids
  // anyway).
  if (const void* nul = std::memchr(xml.data(), '\0', xml.size())) {
    return NotWellFormed("NUL byte",
                         LineAt(xml, static_cast<const char*>(nul)));
  }
  if (FindInvalidUtf8(xml, /*xml_chars_only=*/false) != xml.size()) {
    return StreamError(StreamCondition::kNotWellFormed, "invalid UTF-8");
  }
  std::vector<WhitespaceRun> runs;
  if (absl::Status s = ScanMarkup(xml, runs); !s.ok()) return s;

  // Entity processing off: references are decoded (and checked) by
  // ElementParser, which tinyxml2 would otherwise pass through silently when
  // unknown. One document per thread keeps its setup out of the per-stanza
  // cost.
  thread_local tinyxml2::XMLDocument document(/*processEntities=*/false,
                                              tinyxml2::PRESERVE_WHITESPACE);
  const tinyxml2::XMLError error = document.Parse(xml.data(), xml.size());
  if (error == tinyxml2::XML_ELEMENT_DEPTH_EXCEEDED) {
    return StreamError(StreamCondition::kPolicyViolation,
                       "elements nested too deeply");
  }
  if (error != tinyxml2::XML_SUCCESS) {
    return NotWellFormed(
        absl::StrCat("malformed XML (",
                     tinyxml2::XMLDocument::ErrorIDToName(error), ")"),
        document.ErrorLineNum());
  }
  const tinyxml2::XMLElement* root = document.RootElement();
  if (root == nullptr) return NotWellFormed("no element", 1);

  std::unique_ptr<Element> result;
  Tinyxml2ElementBuilder parser(scope, runs);
  absl::Status status = parser.Build(*root, result);
  if (status.ok() && !parser.AllWhitespaceInserted()) {
    status =
        absl::InternalError("whitespace bookkeeping out of step with tinyxml2");
  }
  if (!status.ok()) return status;
  return std::move(*result);
}

}  // namespace talkcheck::xmpp
