#include "xmpp/stream_pipe.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "xmpp/namespaces.h"

namespace talkcheck::xmpp {
namespace {

using Handover = StreamPipeEnd::Handover;

// What one end received, each write as "text:..." or "element:<xml>".
std::vector<std::string> Receive(boost::asio::io_context& io,
                                 StreamPipeEnd& end) {
  std::vector<std::string> got;
  end.SetHandlers(
      [&got](absl::string_view text) {
        got.push_back(absl::StrCat("text:", text));
      },
      [&got](Element element) {
        got.push_back(absl::StrCat("element:", element.ToString()));
      },
      [&got] { got.push_back("closed"); });
  io.restart();
  io.poll();
  return got;
}

Element Iq() {
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "set").SetAttr("id", "a&b");
  iq.AddChild(Element(ns::kSession, "session")).SetAttr("type", "initiate");
  return iq;
}

// Verifies that under kText an element crosses as the bytes a socket would
// carry, in order with the text around it.
TEST(StreamPipeTest, TextHandoverSerializesElements) {
  boost::asio::io_context io;
  auto [client, server] = MakeStreamPipe(io, Handover::kText);
  client->WriteText("<stream:stream>");
  client->WriteElement(Iq());
  client->WriteText("");  // not a write
  client->Close();
  EXPECT_EQ(Receive(io, *server),
            (std::vector<std::string>{"text:<stream:stream>",
                                      "text:" + Iq().ToString(), "closed"}));
  EXPECT_EQ(server->handover(), Handover::kText);
}

// Verifies that under kElements the element itself crosses, equal to what
// parsing its serialization gives, in order with the text around it.
TEST(StreamPipeTest, ElementHandoverPassesTheElement) {
  boost::asio::io_context io;
  auto [client, server] = MakeStreamPipe(io, Handover::kElements);
  std::optional<Element> sent;
  server->SetHandlers(
      nullptr, [&sent](Element element) { sent = std::move(element); },
      nullptr);
  client->WriteElement(Iq());
  io.poll();
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(*sent, Iq());
  absl::StatusOr<Element> reparsed = ParseElement(Iq().ToString());
  ASSERT_TRUE(reparsed.ok());
  EXPECT_EQ(*sent, *reparsed);

  auto [a, b] = MakeStreamPipe(io, Handover::kElements);
  a->WriteText("<stream:stream>");
  a->WriteElement(Iq());
  a->WriteText("</stream:stream>");
  EXPECT_EQ(Receive(io, *b),
            (std::vector<std::string>{"text:<stream:stream>",
                                      "element:" + Iq().ToString(),
                                      "text:</stream:stream>"}));
}

}  // namespace
}  // namespace talkcheck::xmpp
