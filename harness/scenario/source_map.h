// Where elements and attributes stand in a scenario file's text.
//
// tinyxml2 builds the tree but records neither columns nor where an element's
// content begins and ends. SourceMap scans the same text, pairs what it finds
// with tinyxml2's elements, and answers "file:line:column" questions for the
// loader; it also reports the malformed markup tinyxml2 lets through.
// StripComments prepares a step's stanza text without moving its lines.
//
// Internal to the scenario loader.
#ifndef TALKCHECK_HARNESS_SCENARIO_SOURCE_MAP_H_
#define TALKCHECK_HARNESS_SCENARIO_SOURCE_MAP_H_

#include <tinyxml2.h>

#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace talkcheck::harness::scenario_internal {

// One element as scanned: offsets into the text.
struct ElementSpan {
  std::string name;
  size_t start = 0;          // the '<' of the start tag
  size_t content_begin = 0;  // just after the start tag
  size_t content_end = 0;  // the '<' of the end tag (content_begin when empty)
  std::vector<std::pair<std::string, size_t>> attributes;  // name, offset
};

// Positions of one document's elements and attributes. Holds a view of the
// text passed to Build() and pointers to the document's elements: both must
// outlive it.
class SourceMap {
 public:
  // Where the text is not well-formed (tinyxml2 lets some of it through).
  struct Malformed {
    size_t offset;
    std::string message;
  };

  // Scans `text`, which tinyxml2 parsed as `doc`. Returns what is malformed,
  // if anything; otherwise pairs the scanned elements with tinyxml2's in
  // document order and sets paired().
  std::optional<Malformed> Build(absl::string_view text,
                                 const tinyxml2::XMLDocument& doc);

  // Scans `text` alone, for a text tinyxml2 refused: where it is malformed
  // and why, which tinyxml2's errors do not say (a mismatched end tag is
  // reported at the line of the start tag's parent). Position() then answers
  // for `text`.
  std::optional<Malformed> Check(absl::string_view text);

  // False if tinyxml2's tree and the scan disagree (a bug in the scanner).
  bool paired() const { return paired_; }

  // 1-based line and column (in code points) of a byte offset.
  std::pair<int, int> Position(size_t offset) const;

  // The offset of `needle` on (1-based) `line`, if it is there.
  std::optional<size_t> Find(int line, absl::string_view needle) const;

  const ElementSpan& Span(const tinyxml2::XMLElement* e) const {
    return spans_[by_element_.at(e)];
  }

  std::pair<int, int> ElementPosition(const tinyxml2::XMLElement* e) const {
    return Position(Span(e).start);
  }

  std::pair<int, int> AttributePosition(const tinyxml2::XMLElement* e,
                                        absl::string_view name) const;

  // The text between the element's start and end tags, exactly as written.
  absl::string_view Content(const tinyxml2::XMLElement* e) const;

 private:
  // Tokenises the text: comments, CDATA, processing instructions and other
  // `<!...>` constructs are skipped; tags are checked and recorded.
  std::optional<Malformed> Scan();
  // The name at `i` (advanced past it); empty if there is none.
  absl::string_view ScanName(size_t& i) const;
  void SkipSpace(size_t& i) const;
  // A start, end or empty-element tag at `i`.
  std::optional<Malformed> ScanTag(size_t& i, std::vector<size_t>& open);
  // Pairs tinyxml2's elements (pre-order) with the scanned spans.
  bool Pair(const tinyxml2::XMLNode& node, size_t& next);

  absl::string_view text_;
  std::vector<size_t> line_starts_;
  std::vector<ElementSpan> spans_;
  std::unordered_map<const tinyxml2::XMLElement*, size_t> by_element_;
  bool paired_ = false;
};

// Removes XML comments (outside CDATA sections and attribute values), keeping
// their line breaks.
std::string StripComments(absl::string_view text);

}  // namespace talkcheck::harness::scenario_internal

#endif  // TALKCHECK_HARNESS_SCENARIO_SOURCE_MAP_H_
