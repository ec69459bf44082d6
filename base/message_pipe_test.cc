#include "base/message_pipe.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <string>
#include <vector>

namespace talkcheck {
namespace {

// Collects what one end receives.
struct Received {
  std::string data;
  std::vector<std::string> chunks;
  int closes = 0;
  // The data as it stood when on_closed ran.
  std::string data_at_close;
};

void Collect(MessagePipeEnd<std::string>& end, Received& received) {
  end.SetHandlers(
      [&received](std::string& chunk) {
        received.chunks.emplace_back(chunk);
        received.data.append(chunk.data(), chunk.size());
      },
      [&received] {
        ++received.closes;
        received.data_at_close = received.data;
      });
}

class MessagePipeTest : public ::testing::Test {
 protected:
  // Runs everything runnable; returns how many handlers ran.
  size_t Poll() {
    io_.restart();
    return io_.poll();
  }

  boost::asio::io_context io_;
};

// Verifies that chunks arrive in order, both ways, and only through io.
TEST_F(MessagePipeTest, DeliversInOrderBothWays) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  Received at_a, at_b;
  Collect(*a, at_a);
  Collect(*b, at_b);
  a->Write("one ");
  a->Write("two ");
  b->Write("back");
  a->Write("three");
  Poll();
  EXPECT_EQ(at_b.chunks, (std::vector<std::string>{"one ", "two ", "three"}));
  EXPECT_EQ(at_a.data, "back");
  EXPECT_EQ(at_a.closes + at_b.closes, 0);
}

// Verifies that nothing is delivered inside Write(), Close() or SetHandlers().
TEST_F(MessagePipeTest, NeverDeliversSynchronously) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  Received at_b;
  a->Write("early");
  Collect(*b, at_b);
  a->Write("late");
  a->Close();
  EXPECT_EQ(at_b.data, "");
  EXPECT_EQ(at_b.closes, 0);
  Poll();
  EXPECT_EQ(at_b.data, "earlylate");
  EXPECT_EQ(at_b.closes, 1);
}

// Verifies that data written before the reader set its handlers, and a close,
// are held until it does.
TEST_F(MessagePipeTest, HoldsDataUntilHandlersAreSet) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  a->Write("held ");
  a->Write("bytes");
  a.reset();
  EXPECT_EQ(Poll(), 0u);
  Received at_b;
  Collect(*b, at_b);
  Poll();
  EXPECT_EQ(at_b.data_at_close, "held bytes");
  EXPECT_EQ(at_b.closes, 1);
}

// Verifies that a close reaches the other end after the pending data, once,
// and that Close() is idempotent and stops further writes.
TEST_F(MessagePipeTest, CloseComesAfterData) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  Received at_a, at_b;
  Collect(*a, at_a);
  Collect(*b, at_b);
  a->Write("last words");
  a->Close();
  a->Close();
  a->Write("ignored");
  EXPECT_FALSE(a->is_open());
  EXPECT_TRUE(b->is_open());
  Poll();
  EXPECT_EQ(at_b.data_at_close, "last words");
  EXPECT_EQ(at_b.closes, 1);
  // Half-close: the closed end still hears the other side until it closes.
  b->Write("reply");
  b->Close();
  Poll();
  EXPECT_EQ(at_a.data_at_close, "reply");
  EXPECT_EQ(at_a.closes, 1);
  EXPECT_EQ(at_b.closes, 1);
}

// Verifies that destroying an end delivers what it wrote, then on_closed, and
// that writes toward a destroyed end go nowhere.
TEST_F(MessagePipeTest, DestroyingAnEndClosesIt) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  Received at_b;
  Collect(*b, at_b);
  a->Write("bye");
  a.reset();
  b->Write("to nobody");
  Poll();
  EXPECT_EQ(at_b.data_at_close, "bye");
  EXPECT_EQ(at_b.closes, 1);
}

// Verifies that a handler may destroy its own end mid-delivery: nothing more
// reaches it, and the other end sees the close.
TEST_F(MessagePipeTest, HandlerMayDestroyItsEnd) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  Received at_a;
  Collect(*a, at_a);
  std::vector<std::string> at_b;
  b->SetHandlers(
      [&at_b, &b = b](std::string& chunk) {
        at_b.emplace_back(chunk);
        b.reset();
      },
      [] { ADD_FAILURE() << "on_closed after destruction"; });
  a->Write("first");
  a->Write("second");
  a->Close();
  Poll();
  EXPECT_EQ(at_b, std::vector<std::string>{"first"});
  EXPECT_EQ(at_a.closes, 1);
}

// Verifies that deliveries already posted are harmless once both ends are
// gone.
TEST_F(MessagePipeTest, PostedDeliveriesOutliveBothEnds) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  bool called = false;
  b->SetHandlers([&called](std::string&) { called = true; },
                 [&called] { called = true; });
  a->Write("pending");
  a.reset();
  b.reset();
  Poll();
  EXPECT_FALSE(called);
}

// Verifies that a handler may replace the handlers; later chunks go to the new
// ones.
TEST_F(MessagePipeTest, HandlerMayReplaceHandlers) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  std::string first, second;
  MessagePipeEnd<std::string>* reader = b.get();
  b->SetHandlers(
      [&, reader](std::string& chunk) {
        first.append(chunk.data(), chunk.size());
        reader->SetHandlers(
            [&second](std::string& chunk) {
              second.append(chunk.data(), chunk.size());
            },
            nullptr);
      },
      nullptr);
  a->Write("1");
  a->Write("2");
  a->Write("3");
  a->Close();
  Poll();
  EXPECT_EQ(first, "1");
  EXPECT_EQ(second, "23");
}

// Verifies that a busy pipe takes turns with other work on the io_context.
TEST_F(MessagePipeTest, OneMessagePerTurn) {
  auto [a, b] = MakeMessagePipe<std::string>(io_);
  std::vector<std::string> order;
  b->SetHandlers([&order](std::string& chunk) { order.emplace_back(chunk); },
                 nullptr);
  a->Write("x");
  a->Write("y");
  boost::asio::post(io_, [&order] { order.push_back("other"); });
  Poll();
  EXPECT_EQ(order, (std::vector<std::string>{"x", "other", "y"}));
}

}  // namespace
}  // namespace talkcheck
