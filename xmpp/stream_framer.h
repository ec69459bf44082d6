// An incremental framer for an XMPP XML stream (RFC 6120 §4, §11).
//
// Bytes go in as they come off the socket, whatever the read boundaries; events come out:
// the stream header once (after an optional XML declaration), then one complete top-level
// element (stanza, or `<auth/>`, `<starttls/>`, ...) at a time as its raw text, then the
// stream close. Whitespace between top-level elements (keep-alives) is skipped.
//
// The framer enforces what RFC 6120 §11.1 restricts and what stanza boundaries need: no
// DOCTYPE, no processing instruction other than the leading XML declaration, no comments,
// no entity declarations or references other than the five predefined entities and
// character references, valid UTF-8 (a multi-byte character may be split across reads),
// balanced tags, and the size limit per top-level element. A violation returns a stream
// error status (stream_error.h) and the framer accepts nothing more.
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
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "xmpp/element.h"

namespace talkcheck::xmpp {

struct FramerLimits {
  // Largest top-level element (its whole text) accepted; larger ones are a
  // policy-violation stream error. Also bounds the stream header.
  size_t max_element_bytes = 256 * 1024;
  // Deepest nesting accepted inside one top-level element.
  size_t max_depth = 64;
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

  // Consumes `data` and appends every event it completes to `events`. On a violation
  // returns a stream error; events completed before it are still appended.
  absl::Status Feed(absl::string_view data, std::vector<Event>& events);

  // Expects a new stream header (after STARTTLS or SASL success, RFC 6120 §5.4.3.3,
  // §6.4.6). Discards any buffered input.
  void Reset();

  // The namespace bindings declared by the current stream header (default namespace and
  // prefixes), to parse elements with. ClientStream() before any header.
  const NamespaceScope& scope() const { return scope_; }

  bool stream_open() const { return state_ == State::kInStream; }
  bool closed() const { return state_ == State::kClosed; }

 private:
  enum class State { kBeforeHeader, kInStream, kClosed, kFailed };

  // Implementation state; see stream_framer.cc.
  absl::Status Fail(absl::Status status);

  FramerLimits limits_;
  State state_ = State::kBeforeHeader;
  NamespaceScope scope_;
  std::string buffer_;  // bytes of the incomplete construct being framed
  // Scanner state carried across Feed() calls (private to the .cc); the implementer
  // may add fields here.
  size_t scan_pos_ = 0;
  size_t depth_ = 0;
  int utf8_pending_ = 0;  // continuation bytes still expected
};

}  // namespace talkcheck::xmpp

#endif  // TALKCHECK_XMPP_STREAM_FRAMER_H_
