#include "reference_client/process_faults.h"

#include <signal.h>

#include <cstdlib>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "xmpp/element.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {
namespace {

// 2,000 messages a second: a flood for any scenario's expectations, small
// enough that talkcheck's record of it stays in the megabytes until the
// scenario's deadline.
constexpr int kFloodBatch = 20;
constexpr absl::Duration kFloodInterval = absl::Milliseconds(10);

}  // namespace

MessageFlood::MessageFlood(Clock& clock, ClientStream& stream, xmpp::Jid to)
    : clock_(clock), stream_(stream), to_(std::move(to)) {
  SendBatch();
}

void MessageFlood::SendBatch() {
  ++round_;
  for (int i = 0; i < kFloodBatch; ++i) {
    xmpp::Element message(xmpp::ns::kClient, "message");
    message.SetAttr("to", to_.ToString());
    message.AddChild(xmpp::ns::kClient, "body")
        .SetText(absl::StrCat("flood ", round_, ".", i));
    stream_.Send(message);
  }
  timer_ = clock_.CallAfter(kFloodInterval, [this] { SendBatch(); });
}

std::unique_ptr<MessageFlood> CommitProcessFaultsOnInitiate(
    const FaultSet& faults, Clock& clock, ClientStream& stream,
    const xmpp::Jid& caller) {
  if (faults.count(Fault::kCrashOnInitiate)) {
    // Die of the signal as a real crash would, even where a handler is
    // installed (AddressSanitizer's turns SIGSEGV into a report and exit 1).
    signal(SIGSEGV, SIG_DFL);
    raise(SIGSEGV);
  }
  if (faults.count(Fault::kAbortOnInitiate)) std::abort();
  if (faults.count(Fault::kHangOnInitiate)) raise(SIGSTOP);
  if (!faults.count(Fault::kFloodOnInitiate)) return nullptr;
  return std::make_unique<MessageFlood>(clock, stream, caller);
}

}  // namespace talkcheck::reference_client
