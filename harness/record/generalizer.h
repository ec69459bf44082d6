// The generalizer of `talkcheck record`: turns the values of one recorded call
// that differ from run to run (JIDs, session ids, iq ids, candidate addresses,
// ports, usernames and passwords, SSRCs) into scenario variables, so that the
// scenario written from the recording replays against a new run of the client.
//
// Stanzas are rewritten in the order they were recorded. A value the client
// under test (CUT) sent becomes a capture at first sight (`${cut_port}`) and a
// reference to it afterwards; a value the peer sent becomes a variable the
// scenario defines (`${sid}`, `${iq}`, a `<var>`), and the peer's candidates
// become the simulated peer's own (`${candidates:rtp}`), since the recorded
// peer's sockets are gone. What stays literal is the structure: element
// names, types, codecs, candidate names, preferences and generations.
//
// Example:
//   Generalizer g(cut_jid, peer_jid, "localhost");
//   xmpp::Element initiate = ...;  // the peer's
//   g.Generalize(Side::kPeer, initiate);  // id="${iq}", session id="${sid}"
#ifndef TALKCHECK_HARNESS_RECORD_GENERALIZER_H_
#define TALKCHECK_HARNESS_RECORD_GENERALIZER_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::harness {

// Who sent a recorded stanza: the side that becomes the client under test, or
// the side the simulated peer plays.
enum class Side { kCut, kPeer };

// A `<var>` the scenario must declare for the generalized stanzas.
struct DeclaredVariable {
  std::string name;
  std::string value;
};

class Generalizer {
 public:
  // `cut` and `peer`: the full JIDs of the two sides; `domain`: the server's.
  Generalizer(xmpp::Jid cut, xmpp::Jid peer, std::string domain);

  // Peer iq ids the CUT answers when another peer iq went out in between, so
  // `${last_id}` no longer names them: these get a `<var>` of their own. The
  // scenario writer finds them before the first Generalize (PeerIdsAnsweredLate
  // below).
  void set_stable_peer_ids(std::set<std::string> ids) {
    stable_peer_ids_ = std::move(ids);
  }

  // Rewrites `stanza`, sent by `side`, in place. Call in recorded order.
  void Generalize(Side side, xmpp::Element& stanza);

  // The `<var>`s the rewritten stanzas use, in order of first use.
  const std::vector<DeclaredVariable>& declared() const { return declared_; }

 private:
  void GeneralizeTree(Side side, xmpp::Element& element, bool root);
  // The replacement of `value` (attribute `attribute` of `element`), or
  // `value` itself when it is not a per-run value.
  std::string Replace(Side side, const xmpp::Element& element,
                      absl::string_view attribute, const std::string& value,
                      bool root);
  std::string ReplaceIqId(Side side, const std::string& value);
  // A CUT value of `kind` seen for the first time: a new capture.
  std::string NewCapture(absl::string_view kind, const std::string& value);
  // Replaces the peer's <candidate> children of `element` with the simulated
  // peer's placeholders, one per channel.
  void ReplacePeerCandidates(xmpp::Element& element);
  // `text` with every JID of the call in it replaced.
  std::string ReplaceJidsIn(std::string text) const;

  // Raw JID -> replacement, full JIDs before the bare ones they contain.
  std::vector<std::pair<std::string, std::string>> jids_;
  // Per-run values seen so far -> their replacement (`${name}` or a text
  // with variables in it).
  std::map<std::string, std::string> known_;
  std::map<std::string, int> captures_per_kind_;
  std::set<std::string> stable_peer_ids_;
  // The peer's own iq ids -> `${iq}`, or a `<var>` of their own when the CUT
  // answers them late.
  std::map<std::string, std::string> peer_ids_;
  int peer_sessions_ = 0;
  std::map<std::string, int> peer_generation_;  // channel -> newest round
  std::vector<DeclaredVariable> declared_;
};

// The ids of the peer's iqs that the CUT answers (result or error) after the
// peer sent another iq: `${last_id}` cannot name them in the scenario.
// `stanzas` in recorded order, each with its sender.
std::set<std::string> PeerIdsAnsweredLate(
    const std::vector<std::pair<Side, const xmpp::Element*>>& stanzas);

// "cut_port", "cut_port_second", "cut_port_third", ...: names that lint's
// one-typo check does not take for misspellings of each other (`_2` and `_3`
// would be one replaced character apart).
std::string OrdinalName(absl::string_view base, int ordinal);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_RECORD_GENERALIZER_H_
