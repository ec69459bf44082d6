#include "xmpp/stream_pipe.h"

#include "xmpp/namespaces.h"

namespace talkcheck::xmpp {

void StreamPipeEnd::WriteText(std::string text) {
  if (text.empty()) return;
  end_->Write(Message{std::move(text), std::nullopt});
}

void StreamPipeEnd::WriteElement(Element element) {
  if (handover_ == Handover::kText) {
    return end_->Write(Message{element.ToString(ns::kClient), std::nullopt});
  }
  end_->Write(Message{{}, std::move(element)});
}

void StreamPipeEnd::SetHandlers(std::function<void(absl::string_view)> on_text,
                                std::function<void(Element)> on_element,
                                std::function<void()> on_closed) {
  end_->SetHandlers(
      [on_text = std::move(on_text),
       on_element = std::move(on_element)](Message& message) {
        if (message.element.has_value() && on_element) {
          on_element(*std::move(message.element));
        } else if (message.element.has_value()) {
          // An end that reads only bytes gets them.
          if (on_text) on_text(message.element->ToString(ns::kClient));
        } else if (on_text) {
          on_text(message.text);
        }
      },
      std::move(on_closed));
}

std::pair<std::unique_ptr<StreamPipeEnd>, std::unique_ptr<StreamPipeEnd>>
MakeStreamPipe(boost::asio::io_context& io, StreamPipeEnd::Handover handover) {
  auto [a, b] = MakeMessagePipe<StreamPipeEnd::Message>(io);
  return {std::make_unique<StreamPipeEnd>(std::move(a), handover),
          std::make_unique<StreamPipeEnd>(std::move(b), handover)};
}

}  // namespace talkcheck::xmpp
