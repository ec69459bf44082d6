// An in-memory XMPP connection between an in-process client and the fake
// server (base/message_pipe.h underneath): each write is either stream text
// (a header, the closing tag, a stream error: what is not one whole element)
// or one top-level element.
//
// How an element crosses is the pipe's `Handover`, the same for both ends:
//   kText      it is serialized, and the receiver frames and parses the bytes
//              as it would a socket's: a virtual run reads what each side
//              wrote (talkcheck run --clock=virtual, replays, the tests);
//   kElements  it is handed over as the element itself, for timeout fuzzing's
//              campaigns, where serializing, framing and parsing each stanza
//              twice were a seventh of a schedule (docs/fuzzing.md).
// Each write is one delivery either way, so the two orders of events are the
// same, and so are the runs: ScheduleRunTest compares their reports whole.
//
// Example:
//   auto [client, server] = MakeStreamPipe(io, StreamPipeEnd::Handover::kText);
//   server->SetHandlers([](absl::string_view text) { /* frame it */ },
//                       [](xmpp::Element element) { /* a whole element */ },
//                       [] { /* closed */ });
//   client->WriteText("<stream:stream ...>");
//   client->WriteElement(iq);  // text or element, by the handover
#ifndef TALKCHECK_XMPP_STREAM_PIPE_H_
#define TALKCHECK_XMPP_STREAM_PIPE_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "base/message_pipe.h"
#include "xmpp/element.h"

namespace talkcheck::xmpp {

class StreamPipeEnd {
 public:
  enum class Handover { kText, kElements };

  // One write: `element` when set, else `text`.
  struct Message {
    std::string text;
    std::optional<Element> element;
  };

  StreamPipeEnd(std::unique_ptr<MessagePipeEnd<Message>> end, Handover handover)
      : end_(std::move(end)), handover_(handover) {}

  // Stream text, as written to a socket; empty text is not a write.
  void WriteText(std::string text);
  // One top-level element of a stream whose default namespace is
  // jabber:client: serialized as it would be for a socket under kText.
  void WriteElement(Element element);

  // `on_text` gets text writes, `on_element` elements handed over whole
  // (kElements; serialized for `on_text` when `on_element` is empty: an end
  // that reads bytes only gets bytes), `on_closed` the other end's close; as
  // MessagePipeEnd::SetHandlers.
  void SetHandlers(std::function<void(absl::string_view)> on_text,
                   std::function<void(Element)> on_element,
                   std::function<void()> on_closed);

  void Close() { end_->Close(); }
  bool is_open() const { return end_->is_open(); }
  Handover handover() const { return handover_; }

 private:
  std::unique_ptr<MessagePipeEnd<Message>> end_;
  Handover handover_;
};

// A connected pair with the same handover at both ends; as MakeMessagePipe.
std::pair<std::unique_ptr<StreamPipeEnd>, std::unique_ptr<StreamPipeEnd>>
MakeStreamPipe(boost::asio::io_context& io, StreamPipeEnd::Handover handover);

}  // namespace talkcheck::xmpp

#endif  // TALKCHECK_XMPP_STREAM_PIPE_H_
