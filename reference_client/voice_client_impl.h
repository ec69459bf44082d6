// The voice client's state and its members, shared by voice_client.cc
// (presence, disco, session signalling, call control) and
// voice_client_transport.cc (GICE channel, candidates and their generations,
// writability, RTP). Private to the target.
#ifndef TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_IMPL_H_
#define TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_IMPL_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/clock.h"
#include "media_sim/candidate.h"
#include "media_sim/candidate_gatherer.h"
#include "media_sim/gice_channel.h"
#include "reference_client/call_media.h"
#include "reference_client/client_stream.h"
#include "reference_client/codecs.h"
#include "reference_client/contact_caps.h"
#include "reference_client/session_messages.h"
#include "reference_client/voice_client.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"

namespace talkcheck::reference_client {

class VoiceClient::Impl {
 public:
  Impl(boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
       ClientStream& stream, VoiceClientOptions options)
      : io_(io),
        clock_(clock),
        bitgen_(bitgen),
        stream_(stream),
        options_(std::move(options)) {
    if (options_.codecs.empty()) options_.codecs = DefaultCodecs();
  }
  ~Impl() { stream_.set_stanza_handler(nullptr); }

  void Start();
  absl::Status Call(const xmpp::Jid& callee);
  absl::Status Answer(const std::optional<xmpp::Jid>& remote);
  absl::Status Reject(const std::optional<xmpp::Jid>& remote);
  absl::Status Hangup(const std::optional<xmpp::Jid>& remote);
  bool in_call() const { return !sessions_.empty(); }
  std::optional<CallMediaStats> media_stats(absl::string_view sid) const;

  std::function<void(const CallEvent&)> event_handler_;

 private:
  struct Session {
    uint64_t serial = 0;
    std::string sid;
    std::string initiator;  // exactly as on the wire
    std::string remote;     // the peer's full JID: `to` of what we send
    bool incoming = false;
    enum class State { kSentInitiate, kReceivedInitiate, kAccepted };
    State state = State::kSentInitiate;
    // Candidates go out as G2 transport-info (true) or G1 candidates (false).
    bool g2 = false;
    // Opened by a hybrid initiate that we answer in Jingle (Dialect::kG3):
    // every message of ours goes out as Jingle, theirs come in as Jingle.
    bool jingle = false;
    bool transport_accepted = false;
    bool ringing = false;
    bool initiate_acked = false;  // incoming: our ack of the initiate is out
    bool writable = false;
    std::vector<PayloadType> accept;  // incoming: what we will accept
    // The peer's list: incoming, the initiate's; outgoing, the accept's.
    std::vector<PayloadType> remote_codecs;
    // Ours as sent: outgoing, the initiate's; incoming, the accept's.
    std::vector<PayloadType> local_codecs;
    std::unique_ptr<media_sim::GiceChannel> channel;
    // From the accept on (receiving only in MediaMode::kOff). Declared after
    // `channel`, which it sends on, so that it goes first.
    std::unique_ptr<CallMedia> media;
    std::vector<media_sim::Candidate>
        sent_candidates;  // remembered for the G1 fallback
    std::optional<media_sim::Candidate> first_candidate;
    std::unique_ptr<Timer> writable_timer;
    std::unique_ptr<Timer> generation_timer;
    std::unique_ptr<Timer> ring_timer;
    std::unique_ptr<Timer> answer_timer;
    // The round being gathered with stun / relay candidates, if any.
    std::unique_ptr<media_sim::CandidateGatherer> gatherer;

    SessionKey key() const { return {sid, initiator}; }
  };
  struct SessionRef {
    SessionKey key;
    uint64_t serial;
  };

  bool Has(Fault fault) const { return options_.faults.count(fault) > 0; }
  // Whether `s` is the call the user picked (`remote`; any call when unset).
  bool IsPicked(const Session& s,
                const std::optional<xmpp::Jid>& remote) const {
    return !remote || Has(Fault::kNewestCallOnly) ||
           s.remote == remote->ToString();
  }
  Session* Find(const SessionRef& ref);
  SessionRef Ref(const Session& s) const { return {s.key(), s.serial}; }
  // The newest live session that `filter` accepts.
  template <typename F>
  Session* Newest(F filter);
  void Emit(CallEvent::Type type, const std::string& sid,
            const std::string& reason,
            std::optional<CallMediaStats> media = std::nullopt);

  void SendPresence();
  void OnStanza(const xmpp::Element& stanza);
  // With voice_caps_from_disco: asks a contact's node#voice-v1.
  void OnPresence(const xmpp::Element& presence);
  void OnIq(const xmpp::Element& iq);
  void AnswerDisco(const xmpp::Element& iq, const xmpp::Element& query);
  void OnSessionIq(const xmpp::Element& iq, const xmpp::Element& session);
  // A Jingle message of a session answered in Jingle, read as its Gingle twin.
  void OnJingleIq(const xmpp::Element& iq, const xmpp::Element& jingle);
  void OnInitiate(const xmpp::Element& iq, const xmpp::Element& session);
  void OnAccept(Session& s, const xmpp::Element& iq,
                const xmpp::Element& session);
  void OnRedirect(Session& s, const xmpp::Element& iq,
                  const xmpp::Element& session);
  void OnTransportAccept(Session& s, const xmpp::Element& iq,
                         const xmpp::Element& session);
  void OnCandidates(Session& s, const xmpp::Element& iq,
                    const xmpp::Element& session, bool g1_format);

  // Acknowledges a session iq, as the ack faults allow. `initiate_of` is the
  // session whose initiate this acks.
  void AckSessionIq(const xmpp::Element& iq, bool is_terminate,
                    Session* initiate_of = nullptr);
  void SendError(const xmpp::Element& iq, absl::string_view type,
                 absl::string_view condition, absl::string_view text,
                 const xmpp::Element* extra = nullptr);
  // Sends a session message about `s`, tracked with the 15 s reply timer.
  void SendSessionMessage(Session& s, absl::string_view type,
                          std::vector<xmpp::Element> children = {});
  void OnSessionReply(const SessionRef& ref, const std::string& type,
                      const absl::StatusOr<xmpp::Element>& reply);

  void StartTransport(Session& s);
  void NewGeneration(Session& s);
  // A round with stun / relay candidates; false when there is nothing beyond
  // the host candidate to gather (no such kind asked, or no server known).
  bool GatherGeneration(Session& s);
  void OnGathered(const SessionRef& ref, media_sim::GatherResult result);
  void QueryJingleInfo();
  void OnJingleInfo(const xmpp::Element& reply);
  void ArmGenerationTimer(Session& s);
  void ArmWritableTimer(Session& s);
  void SendCandidates(Session& s,
                      const std::vector<media_sim::Candidate>& candidates);
  void OnWritable(const SessionRef& ref, bool writable);
  // Creates the call's media once it is accepted (codecs of PROTOCOL.md §2.2)
  // and turns sending on or off with writability.
  void StartMedia(Session& s);
  void UpdateMedia(Session& s);
  void SendAccept(Session& s);
  // Description (our codecs) and, in G2, the empty transport offer.
  std::vector<xmpp::Element> InitiateChildren(const Session& s);
  // Ends the session: sends an empty terminate if asked, stops its transport
  // and timers, and reports `type`.
  void EndSession(Session& s, CallEvent::Type type, const std::string& reason,
                  bool send_terminate, bool emit = true);
  // Faults case-insensitive-codecs and match-dynamic-by-id: the accept built
  // from our codecs with the wrong matching rule and our own spelling.
  std::vector<PayloadType> FaultyAccept(
      const std::vector<PayloadType>& offer) const;
  // Fault terminate-again-on-timeout: a terminate re-sent whenever it goes
  // unanswered for the iq timeout.
  void SendTerminateUntilAcked(const std::string& remote,
                               const std::string& sid,
                               const std::string& initiator);

  boost::asio::io_context& io_;
  Clock& clock_;
  absl::BitGenRef bitgen_;
  ClientStream& stream_;
  VoiceClientOptions options_;

  std::map<SessionKey, std::unique_ptr<Session>> sessions_;
  // Ended sessions wait here until the current callback has unwound.
  std::vector<std::unique_ptr<Session>> ended_;
  std::unique_ptr<Timer> cleanup_timer_;
  bool cleanup_pending_ = false;
  std::vector<std::unique_ptr<Timer>> delayed_acks_;
  uint64_t next_serial_ = 1;
  bool started_ = false;
  // From google:jingleinfo, when stun / relay candidates are wanted.
  std::optional<boost::asio::ip::udp::endpoint> stun_server_;
  std::optional<media_sim::RelayServerAddress> relay_server_;
  // Contacts' voice support, learnt by disco (voice_caps_from_disco).
  ContactCaps contact_caps_;
  // Callbacks handed to the stream check this, since the stream may outlive us.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_IMPL_H_
