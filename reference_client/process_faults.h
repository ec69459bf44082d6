// The faults that act on the reference client's own process (faults.h,
// IsProcessFault): what the client under test does when it crashes, hangs or
// floods in the middle of a scenario, for proving that talkcheck still ends
// the run by its deadline and writes its report (issue 13 §4). Committed by
// the reference client binary (main.cc) only.
#ifndef TALKCHECK_REFERENCE_CLIENT_PROCESS_FAULTS_H_
#define TALKCHECK_REFERENCE_CLIENT_PROCESS_FAULTS_H_

#include <memory>

#include "base/clock.h"
#include "reference_client/client_stream.h"
#include "reference_client/faults.h"
#include "xmpp/jid.h"

namespace talkcheck::reference_client {

// Messages to one JID, a batch every few milliseconds, for as long as it
// lives.
class MessageFlood {
 public:
  MessageFlood(Clock& clock, ClientStream& stream, xmpp::Jid to);

 private:
  void SendBatch();

  Clock& clock_;
  ClientStream& stream_;
  const xmpp::Jid to_;
  int round_ = 0;
  std::unique_ptr<Timer> timer_;
};

// Commits the process faults of `faults` on an incoming initiate from
// `caller`: SIGSEGV, abort(), SIGSTOP (these do not return), or a flood of
// messages to `caller` (null when there is nothing to flood). The VoiceClient
// leaves the initiate unacked under kFloodOnInitiate.
std::unique_ptr<MessageFlood> CommitProcessFaultsOnInitiate(
    const FaultSet& faults, Clock& clock, ClientStream& stream,
    const xmpp::Jid& caller);

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_PROCESS_FAULTS_H_
