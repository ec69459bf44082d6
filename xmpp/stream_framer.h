// An incremental framer for an XMPP XML stream (RFC 6120 §4, §11).
//
// Bytes go in as they come off the socket, whatever the read boundaries; events
// come out: the stream header once (after an optional XML declaration), then
// one complete top-level element (stanza, or `<auth/>`, `<starttls/>`, ...) at
// a time as its raw text, then the stream close. Whitespace between top-level
// elements (keep-alives) is skipped.
//
// The framer enforces what RFC 6120 §11.1 restricts and what stanza boundaries
// need: no DOCTYPE, no processing instruction other than the leading XML
// declaration, no comments, no entity declarations or references other than the
// five predefined entities and character references, valid UTF-8 (a multi-byte
// character may be split across reads), balanced tags, and the size limit per
// top-level element. A violation returns a stream error status (stream_error.h)
// and the framer accepts nothing more.
//
// Example:
//   FramerLimits limits;
//   limits.max_element_bytes = 65536;
//   StreamFramer framer(limits);
//   std::vector<StreamFramer::Event> events;
//   absl::Status status = framer.Feed(bytes, events);
//   for (const auto& e : events) {
//     if (e.type == StreamFramer::EventType::kElement)
//       HandleStanza(ParseElement(e.xml, framer.scope()));
//   }
#ifndef TALKCHECK_XMPP_STREAM_FRAMER_H_
#define TALKCHECK_XMPP_STREAM_FRAMER_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "xmpp/element.h"

namespace talkcheck::xmpp {

struct FramerLimits {
  // Largest top-level element (its whole text) accepted; larger ones are a
  // policy-violation stream error. Also bounds the stream header.
  size_t max_element_bytes = 256 * 1024;
  // Deepest nesting accepted inside one top-level element.
  size_t max_depth = 64;
  // Most attributes on one element (namespace declarations included); more is
  // a policy-violation stream error. Parsing cost grows with the square of the
  // attribute count (tinyxml2 checks each new name against every earlier one),
  // so this bounds the CPU one element can cost.
  size_t max_attributes = 256;
  // Longest element name (prefix included), in bytes; policy-violation beyond.
  size_t max_name_bytes = 256;
};

class StreamFramer {
 public:
  enum class EventType {
    kStreamOpen,   // `header` holds the parsed stream header (no children)
    kElement,      // `xml` holds one complete top-level element's text
    kStreamClose,  // `</stream:stream>` (or the header's own close tag) arrived
  };
  struct Event {
    EventType type;
    std::string xml;
    Element header{"", ""};
  };

  explicit StreamFramer(FramerLimits limits = {});

  // Consumes `data` and appends every event it completes to `events`. On a
  // violation returns a stream error; events completed before it are still
  // appended.
  absl::Status Feed(absl::string_view data, std::vector<Event>& events);

  // Expects a new stream header (after STARTTLS or SASL success, RFC 6120
  // §5.4.3.3, §6.4.6). Discards any buffered input.
  void Reset();

  // Changes the limits for what comes next (e.g. wider ones once the client
  // has authenticated). Keeps the stream's state.
  void set_limits(const FramerLimits& limits) { limits_ = limits; }
  const FramerLimits& limits() const { return limits_; }

  // The namespace bindings declared by the current stream header (default
  // namespace and prefixes), to parse elements with. ClientStream() before any
  // header.
  const NamespaceScope& scope() const { return scope_; }

  bool stream_open() const { return state_ == State::kInStream; }
  // Some of a construct (declaration, header, top-level element) has arrived
  // and its end has not: a stanza is on its way.
  bool mid_construct() const { return in_construct_; }
  bool closed() const { return state_ == State::kClosed; }

 private:
  enum class State { kBeforeHeader, kInStream, kClosed, kFailed };

  // Where the scanner stands in the XML grammar; defined in stream_framer.cc.
  // Value 0 is the start of a stream.
  enum class Lex : uint8_t;

  absl::Status Fail(absl::Status status);
  // Runs the state machine over [p, end). `construct` is where the construct
  // being framed (declaration, header, top-level element) starts within this
  // chunk.
  absl::Status Scan(const char* p, const char* end, const char*& construct,
                    std::vector<Event>& events);
  // The whole text of the construct ending at `p` (buffered part plus this
  // chunk's).
  absl::StatusOr<std::string> TakeConstruct(const char* construct,
                                            const char* p);
  absl::Status CompleteDeclaration(absl::string_view text);
  absl::Status CompleteHeader(std::string text, bool self_closed,
                              std::vector<Event>& events);
  bool Utf8Step(unsigned char c);

  FramerLimits limits_;
  State state_ = State::kBeforeHeader;
  NamespaceScope scope_ = NamespaceScope::ClientStream();
  absl::Status failure_;  // returned again by every Feed() after a violation
  std::string buffer_;    // bytes of the incomplete construct being framed

  // Scanner state carried across Feed() calls, so no byte is scanned twice.
  Lex lex_{};
  Lex ref_return_{};  // state to resume after an entity or char reference
  // buffer_ (possibly empty) holds the start of an unfinished construct.
  bool in_construct_ = false;
  bool in_header_ = false;       // the start tag is the stream header
  bool closing_stream_ = false;  // the end tag closes the stream
  bool decl_question_ = false;   // last declaration byte was '?'
  char quote_ = 0;               // delimiter of the attribute value
  uint8_t cdata_brackets_ = 0;   // consecutive ']' inside CDATA (0..2)
  // Bytes after "<!" ("--", "[CDATA[", "DOCTYPE", ...) or "<?" matched so far.
  uint8_t keyword_len_ = 0;
  char keyword_[8] = {};
  // Entity reference name: its length (saturating) and first bytes, enough to
  // recognise amp, lt, gt, quot and apos.
  uint32_t ref_len_ = 0;
  char ref_name_[4] = {};
  size_t attributes_ = 0;        // attributes of the start tag being scanned
  uint32_t char_ref_value_ = 0;  // character reference being accumulated
  uint32_t char_ref_digits_ = 0;
  size_t end_matched_ = 0;      // bytes of the expected end-tag name matched
  size_t open_name_start_ = 0;  // offset in names_ of the open start tag
  // Names of the open elements of the current top-level element, concatenated;
  // name_starts_ holds each one's offset (its size is the depth). Reused across
  // stanzas so the steady state allocates nothing per element.
  std::string names_;
  std::vector<size_t> name_starts_;
  // The header's qualified name ("stream:stream"): the close tag must match.
  std::string header_qname_;
  int utf8_pending_ = 0;  // continuation bytes still expected
  // Allowed range of the next continuation byte (narrower after E0, ED, F0,
  // F4).
  unsigned char utf8_lower_ = 0x80;
  unsigned char utf8_upper_ = 0xBF;
};

}  // namespace talkcheck::xmpp

#endif  // TALKCHECK_XMPP_STREAM_FRAMER_H_
