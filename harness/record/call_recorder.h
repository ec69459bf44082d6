// The call recorder of `talkcheck record`: watches every stanza the fake
// server routes between the accounts being recorded and keeps the iqs of the
// first call between two of them (Google session `initiate` to its
// `terminate` or `reject` and the answer to it), with their times.
//
// Example:
//   CallRecorder recorder({alice, bob});
//   server.router().AddObserver(
//       [&](const fake_server::RoutedStanza& s) { recorder.OnRouted(s); });
//   ... io.run_one() until recorder.ended() or a timeout ...
//   absl::StatusOr<RecordedCall> call = recorder.Result();
#ifndef TALKCHECK_HARNESS_RECORD_CALL_RECORDER_H_
#define TALKCHECK_HARNESS_RECORD_CALL_RECORDER_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "fake_server/router.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::harness {

// One iq of the call as its sender sent it.
struct RecordedStanza {
  absl::Duration time;  // the server clock's, when routed
  xmpp::Jid from;       // full JID of the sender
  xmpp::Element stanza;
};

struct RecordedCall {
  std::string sid;
  xmpp::Jid caller;  // full JIDs
  xmpp::Jid callee;
  std::vector<RecordedStanza> stanzas;  // in the order routed
  // Whether the session ended (terminate or reject) within the recording.
  bool ended = false;
};

class CallRecorder {
 public:
  // `accounts`: the bare JIDs whose calls to each other are recorded.
  explicit CallRecorder(std::vector<xmpp::Jid> accounts);

  // Router observer: call for every routed stanza.
  void OnRouted(const fake_server::RoutedStanza& routed);

  // A call has begun (its initiate was routed).
  bool started() const { return !call_.sid.empty(); }
  // The call is over: its terminate or reject was answered, or a second call
  // began (an error Result() reports).
  bool done() const { return answered_end_ || !second_call_.empty(); }
  // Its terminate or reject went out (its answer may still come).
  bool ending() const { return call_.ended; }

  // The recorded call. kNotFound when no call happened; kFailedPrecondition
  // when a second call began while recording (record one call at a time).
  absl::StatusOr<RecordedCall> Result() const;

 private:
  bool IsAccount(const xmpp::Jid& jid) const;

  std::vector<xmpp::Jid> accounts_;
  RecordedCall call_;
  std::string end_id_;  // id of the terminate / reject iq
  bool answered_end_ = false;
  std::string second_call_;  // a description of the call that came second
};

// The Google session element of an iq, or nullptr.
const xmpp::Element* SessionOf(const xmpp::Element& iq);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RECORD_CALL_RECORDER_H_
