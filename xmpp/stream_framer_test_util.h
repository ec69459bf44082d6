// Helpers shared by the stream framer's tests: feed a stream in pieces and
// describe what came out in a form that compares with good messages.
#ifndef TALKCHECK_XMPP_STREAM_FRAMER_TEST_UTIL_H_
#define TALKCHECK_XMPP_STREAM_FRAMER_TEST_UTIL_H_

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"

namespace talkcheck::xmpp::framer_testing {

inline constexpr char kHeader[] =
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
    "version='1.0'>";

// A canonical, printable form of an event, so sequences compare with good
// messages.
inline std::string Describe(const StreamFramer::Event& event) {
  switch (event.type) {
    case StreamFramer::EventType::kStreamOpen: {
      std::string out =
          absl::StrCat("open {", event.header.ns(), "}", event.header.name());
      for (const Attribute& attr : event.header.attributes()) {
        absl::StrAppend(&out, " {", attr.ns, "}", attr.name, "=", attr.value);
      }
      return out;
    }
    case StreamFramer::EventType::kElement:
      return absl::StrCat("element ", event.xml);
    case StreamFramer::EventType::kStreamClose:
      return absl::StrCat("close ", event.xml);
  }
  return "?";
}

struct Outcome {
  absl::Status status;
  std::vector<std::string> events;
};

// Feeds `data` in pieces of the given sizes (the last repeats), stopping at an
// error.
inline Outcome FeedInPieces(StreamFramer& framer, absl::string_view data,
                            std::vector<size_t> sizes) {
  Outcome outcome;
  std::vector<StreamFramer::Event> events;
  size_t i = 0;
  for (size_t pos = 0; pos < data.size();) {
    const size_t n =
        std::min(sizes[std::min(i, sizes.size() - 1)], data.size() - pos);
    ++i;
    outcome.status = framer.Feed(data.substr(pos, n), events);
    pos += n;
    if (!outcome.status.ok()) break;
  }
  for (const auto& e : events) outcome.events.push_back(Describe(e));
  return outcome;
}

inline Outcome FeedAll(absl::string_view data, FramerLimits limits = {}) {
  StreamFramer framer(limits);
  return FeedInPieces(framer, data, {data.size() + 1});
}

inline std::optional<StreamCondition> ConditionOf(absl::string_view data) {
  return GetStreamCondition(FeedAll(data).status);
}

inline std::string InStream(absl::string_view body) {
  return absl::StrCat(kHeader, body);
}

}  // namespace talkcheck::xmpp::framer_testing

#endif  // TALKCHECK_XMPP_STREAM_FRAMER_TEST_UTIL_H_
