// libFuzzer target: the stanza model's round trip (issue 13 §1, §3).
//
// Input: the bytes a client sends after its stream header. Property: every
// element the framer frames and ParseElement accepts (with the stream's
// namespace bindings) serialises to text that parses back to the same tree, and
// that text is itself accepted by a fresh framer. Also ParseElement alone on
// the raw input: whatever it accepts round-trips too. Refusals are stream
// errors, never anything else.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/fuzz/fuzz_check.h"
#include "xmpp/element.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"

namespace {

using talkcheck::xmpp::Element;
using talkcheck::xmpp::GetStreamCondition;
using talkcheck::xmpp::NamespaceScope;
using talkcheck::xmpp::ParseElement;
using talkcheck::xmpp::StreamFramer;

constexpr char kHeader[] =
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
    "version='1.0'>";

void CheckRoundTrip(absl::string_view xml, const NamespaceScope& scope) {
  absl::StatusOr<Element> first = ParseElement(xml, scope);
  if (!first.ok()) {
    FUZZ_CHECK(GetStreamCondition(first.status()).has_value(),
               "refusal is not a stream error: " << first.status());
    return;
  }
  const std::string wire = first->ToString();
  absl::StatusOr<Element> second = ParseElement(wire);
  FUZZ_CHECK(second.ok(), "accepted "
                              << absl::CHexEscape(xml) << "\nwritten as "
                              << absl::CHexEscape(wire)
                              << "\nwhich does not parse: " << second.status());
  FUZZ_CHECK(*first == *second,
             "accepted " << absl::CHexEscape(xml) << "\nwritten as "
                         << absl::CHexEscape(wire) << "\nwhich parses to "
                         << absl::CHexEscape(second->ToString()));
  // What the server writes must pass another server's framer. Its limits are
  // policy, not syntax: ParseElement alone has none (an 832-byte name parsed
  // directly was refused by the default 256-byte max_name_bytes), so lift them.
  talkcheck::xmpp::FramerLimits unlimited;
  unlimited.max_element_bytes = SIZE_MAX;
  unlimited.max_depth = SIZE_MAX;
  unlimited.max_attributes = SIZE_MAX;
  unlimited.max_name_bytes = SIZE_MAX;
  StreamFramer framer(unlimited);
  std::vector<StreamFramer::Event> events;
  const absl::Status framed = framer.Feed(absl::StrCat(kHeader, wire), events);
  FUZZ_CHECK(framed.ok(), "written as "
                              << absl::CHexEscape(wire)
                              << "\nwhich the framer refuses: " << framed);
  FUZZ_CHECK(
      events.size() == 2 && events[1].type == StreamFramer::EventType::kElement,
      "written as " << absl::CHexEscape(wire) << "\nwhich frames as "
                    << events.size() << " events");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  FUZZ_CHECK(framer.Feed(kHeader, events).ok(), "header refused");
  (void)framer.Feed(input, events);
  for (const StreamFramer::Event& event : events) {
    if (event.type != StreamFramer::EventType::kElement) continue;
    CheckRoundTrip(event.xml, framer.scope());
  }
  CheckRoundTrip(input, NamespaceScope::ClientStream());
  return 0;
}
