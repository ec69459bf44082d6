// libFuzzer target: the XML stream framer (issue 13 §3).
//
// Input: one byte choosing the chunk size, then the bytes a client sends (the
// seeds start with a stream header). Properties: the framer never crashes;
// feeding the stream in chunks gives the same events and the same final status
// as feeding it whole; once Feed fails, it keeps returning that failure; every
// refusal is a stream error.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "tests/fuzz/fuzz_check.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"

namespace {

using talkcheck::xmpp::StreamFramer;

// Small limits, so the fuzzer reaches the limit paths with small inputs.
talkcheck::xmpp::FramerLimits Limits() {
  talkcheck::xmpp::FramerLimits limits;
  limits.max_element_bytes = 4096;
  limits.max_depth = 8;
  limits.max_attributes = 8;
  limits.max_name_bytes = 32;
  return limits;
}

bool SameEvents(const std::vector<StreamFramer::Event>& a,
                const std::vector<StreamFramer::Event>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].type != b[i].type || a[i].xml != b[i].xml ||
        a[i].header != b[i].header) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t chunk = 1 + data[0] % 64;
  const absl::string_view stream(reinterpret_cast<const char*>(data) + 1,
                                 size - 1);

  StreamFramer whole(Limits());
  std::vector<StreamFramer::Event> whole_events;
  const absl::Status whole_status = whole.Feed(stream, whole_events);
  if (!whole_status.ok()) {
    FUZZ_CHECK(talkcheck::xmpp::GetStreamCondition(whole_status).has_value(),
               "refusal is not a stream error: " << whole_status);
    std::vector<StreamFramer::Event> more;
    FUZZ_CHECK(whole.Feed("<x/>", more) == whole_status,
               "a failed framer forgot its failure");
    FUZZ_CHECK(more.empty(), "a failed framer produced events");
  }

  StreamFramer chunked(Limits());
  std::vector<StreamFramer::Event> chunked_events;
  absl::Status chunked_status;
  for (size_t at = 0; at < stream.size() && chunked_status.ok(); at += chunk) {
    chunked_status = chunked.Feed(stream.substr(at, chunk), chunked_events);
  }
  FUZZ_CHECK(chunked_status == whole_status,
             "chunks of " << chunk << ": " << chunked_status
                          << " vs whole: " << whole_status);
  FUZZ_CHECK(SameEvents(chunked_events, whole_events),
             "chunks of " << chunk
                          << " framed differently: " << chunked_events.size()
                          << " vs " << whole_events.size() << " events");
  FUZZ_CHECK(chunked.mid_construct() == whole.mid_construct() &&
                 chunked.stream_open() == whole.stream_open() &&
                 chunked.closed() == whole.closed(),
             "chunks of " << chunk << " end in another state");
  return 0;
}
