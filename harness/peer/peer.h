// The simulated Google Talk peer: a resource attached to the fake server
// in-process (no socket) that a scenario speaks through.
//
// Everything the client under test sends to the peer lands in the peer's inbox,
// where the runner's expects look for it. Independently of the scenario, the
// peer behaves like libjingle 0.4 (PROTOCOL.md §9) unless told otherwise: it
// acknowledges every session iq, answers disco#info for its caps `node#ext`,
// answers libjingle's "unknown session" error for session messages about
// sessions it does not know, and runs GICE on the candidates it announced
// (media_sim), answering the client's pings. Candidates are generated on demand
// (`${candidates:rtp}` in a scenario) from real UDP sockets on the media
// address (set_media_address; 127.0.0.1 unless the scenario or the command
// line says otherwise), or
// from an in-memory network (set_network) on the virtual clock. With the STUN
// and relay servers talkcheck started (set_candidate_servers), a round can
// also gather `stun` and `relay` candidates (GatherCandidates; in a scenario
// `${candidates:rtp:relay}`, see scenarios/README.md), real UDP only.
#ifndef TALKCHECK_HARNESS_PEER_PEER_H_
#define TALKCHECK_HARNESS_PEER_PEER_H_

#include <boost/asio/io_context.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "fake_server/server.h"
#include "harness/peer/negotiation.h"
#include "harness/scenario/scenario.pb.h"
#include "media_sim/candidate_gatherer.h"
#include "media_sim/gice_channel.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::harness {

// The peer's behaviour switches with defaults applied (all on).
struct EffectiveBehaviour {
  bool ack_session_iqs = true;
  bool answer_disco = true;
  bool send_presence = true;
  bool answer_pings = true;
  bool reject_unknown_sessions = true;
  // Only as a G2 callee: see PeerBehaviour.transport_accept.
  bool transport_accept = true;
  bool unknown_channel_error = true;
  // Applies the fields `update` sets.
  void Apply(const PeerBehaviour& update);
};

// Which kinds of candidate a round gathers or a placeholder writes.
struct CandidateKinds {
  bool host = true;
  bool stun = false;
  bool relay = false;
  // Only host: what a round needs no server for.
  bool host_only() const { return host && !stun && !relay; }
};

// Parses "host,stun,relay" (any non-empty subset, any order).
absl::StatusOr<CandidateKinds> ParseCandidateKinds(absl::string_view list);

// The servers a peer's rounds may gather stun / relay candidates from.
struct CandidateServers {
  std::optional<boost::asio::ip::udp::endpoint> stun;
  std::optional<media_sim::RelayServerAddress> relay;
};

class SimulatedPeer {
 public:
  // A stanza the client under test sent to the peer.
  struct Received {
    absl::Duration time;
    xmpp::Element stanza;
    bool consumed = false;
  };

  // Nothing is owned; all must outlive the peer. `on_receive` runs after each
  // stanza lands in the inbox (and after the automatic answers went out).
  SimulatedPeer(boost::asio::io_context& io, Clock& clock,
                absl::BitGenRef bitgen, fake_server::FakeServer& server,
                const PeerSpec& spec, std::function<void()> on_receive);
  ~SimulatedPeer();

  // Creates the peer's account and logs it in. Sends caps presence when the
  // behaviour says so.
  absl::Status Attach();

  const xmpp::Jid& jid() const { return jid_; }
  EffectiveBehaviour& behaviour() { return behaviour_; }

  // Sends a stanza as the peer (`from` is stamped by the server). Session ids
  // of initiates it sends become known sessions.
  void Send(xmpp::Element stanza);
  void SendPresence();

  std::deque<Received>& inbox() { return inbox_; }

  // `<candidate .../>` elements (no namespace declaration: they inherit the
  // enclosing <session> or <transport>) for channel `name`: the current
  // generation, allocating the first one when needed, or a new generation when
  // `next` is set.
  absl::StatusOr<std::string> CandidatesXml(const std::string& name, bool next);
  // The same, writing only the current round's candidates of `kinds`.
  absl::StatusOr<std::string> CandidatesXml(const std::string& name, bool next,
                                            const CandidateKinds& kinds);

  // Starts a new round for channel `name` (the first one when there is no
  // channel yet) with the candidates of `kinds`, from the servers of
  // set_candidate_servers. `done` runs once, never synchronously, unless the
  // peer is destroyed first: OK once the round is in the channel, or why a
  // kind asked for could not be gathered (no such server, or the server's
  // failure); the round then is not made. Bounded by the gatherer's 5 s.
  void GatherCandidates(const std::string& name, const CandidateKinds& kinds,
                        std::function<void(absl::Status)> done);
  void set_candidate_servers(CandidateServers servers) {
    servers_ = std::move(servers);
  }

  // Decides each automatic session-iq ack (numbered from 0 in the order the
  // iqs arrive): sent after the returned delay, or withheld (nullopt). The
  // timeout fuzzer's late and missing acks; by default every ack goes at once.
  using AckPolicy = std::function<std::optional<absl::Duration>(int ordinal)>;
  void set_ack_policy(AckPolicy policy) { ack_policy_ = std::move(policy); }

  // The GICE channel for `name`, or nullptr when no candidates were generated
  // for it.
  media_sim::GiceChannel* channel(const std::string& name);

  // Where the GICE channels made from now on get their sockets (not owned;
  // must outlive the peer). Null, the default: real UDP on the io_context.
  // Set before the first ${candidates:...} for a run with no socket.
  void set_network(media_sim::DatagramNetwork* network) { network_ = network; }

  // The address the peer's media sockets bind to and its host candidates
  // announce (IPv4 or IPv6 literal). The scenario's `<peer media-address>`
  // wins over this. Set before the first ${candidates:...}.
  void set_media_address(std::string address) {
    media_address_ = std::move(address);
  }

  // The codecs the session's initiate and accept settled (harness/peer/
  // negotiation.h), from every session iq sent or received so far.
  const Negotiation& negotiation() const { return negotiation_; }

  // How many disco#info gets of the client the peer answered.
  int disco_answers() const { return disco_answers_; }

 private:
  void OnStanza(xmpp::Element received);
  bool HandleSessionIq(const xmpp::Element& iq, const xmpp::Element& session);
  bool HandleJingleIq(const xmpp::Element& iq, const xmpp::Element& jingle);
  // The automatic ack of a session iq (late or withheld by the ack policy);
  // `initiate` (the <session> of an initiate, else null) may draw the G2
  // callee's transport-accept after it. False when acks are switched off.
  bool AckSessionIq(const xmpp::Element& iq, const xmpp::Element* initiate);
  void AnswerDisco(const xmpp::Element& iq, const xmpp::Element& query);
  void LearnRemoteCandidates(const xmpp::Element& container);
  void SendIqReply(const xmpp::Element& iq, xmpp::Element reply);
  // The G2 callee's transport-accept for `initiate`, when the peer's dialect
  // is G2, the initiate offers the p2p transport and the behaviour says so.
  void MaybeSendTransportAccept(const xmpp::Element& iq,
                                const xmpp::Element& initiate);
  media_sim::GiceChannel& ChannelFor(const std::string& name);

  boost::asio::io_context& io_;
  Clock& clock_;
  absl::BitGenRef bitgen_;
  fake_server::FakeServer& server_;
  PeerSpec spec_;
  std::function<void()> on_receive_;
  xmpp::Jid jid_;
  EffectiveBehaviour behaviour_;
  std::unique_ptr<fake_server::VirtualSession> session_;
  std::deque<Received> inbox_;
  std::set<std::string> known_sessions_;
  AckPolicy ack_policy_;
  int acks_decided_ = 0;
  int transport_accepts_sent_ = 0;
  int disco_answers_ = 0;
  std::vector<std::unique_ptr<Timer>> late_acks_;
  media_sim::DatagramNetwork* network_ = nullptr;
  std::string media_address_ = "127.0.0.1";
  Negotiation negotiation_;
  std::map<std::string, std::unique_ptr<media_sim::GiceChannel>> channels_;
  CandidateServers servers_;
  // Rounds being gathered; destroyed with the peer, which cancels them.
  std::vector<std::unique_ptr<media_sim::CandidateGatherer>> gatherers_;
  std::vector<std::unique_ptr<Timer>> gather_timers_;
  // Every candidate the client announced, by channel name.
  std::map<std::string, std::vector<media_sim::Candidate>> remote_candidates_;
};

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_PEER_PEER_H_
