// The reference client: a small, correct Google Talk voice client (PROTOCOL.md
// §9's libjingle 0.4 behaviour), the default client under test.
//
// On top of a logged-in `ClientStream` it advertises voice caps (legacy
// XEP-0115, ext="voice-v1") and answers the matching disco#info; answers
// incoming calls (ack the initiate, G2 transport-accept, candidates before
// accept, accept with the supported subset keeping the offered ids and name
// spelling, or reject *before* the ack when no codec is common); places calls
// (G1 or G2, falling back to G1 when `candidates` arrive); starts a new
// candidate generation every 20 s while not writable; keeps libjingle's timers
// (15 s for every session iq reply, 50 s for writability counted from the
// initiate, 180 s of ringing); and terminates cleanly (acking the peer's
// terminate). Each `Fault` switches on exactly one misbehaviour.
//
// Media (call_media.h): once a call is accepted and its rtp channel is
// writable, the client sends RTP on the best writable connection with LJ04's
// send codec (PROTOCOL.md §2.2, §4.3), by default echoing the peer's payloads
// so that the harness can measure the round-trip time, and checks the peer's
// stream against the codec the peer should send with. It stops while the
// channel is not writable and when the call ends.
#ifndef TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_H_
#define TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_H_

#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/random/bit_gen_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/clock.h"
#include "reference_client/call_media.h"
#include "reference_client/client_stream.h"
#include "reference_client/faults.h"
#include "xmpp/jid.h"

namespace talkcheck::media_sim {
class DatagramNetwork;  // media_sim/datagram_network.h
}  // namespace talkcheck::media_sim

namespace talkcheck::reference_client {

struct Codec {
  int id = 0;
  std::string name;
  int clockrate = 0;  // 0: not stated
};

struct VoiceClientOptions {
  // Codecs this client supports (matched per PROTOCOL.md §2.2: id < 96 by id,
  // else by case-sensitive name; a clockrate stated on both sides must agree).
  // Empty means the default, in offer order: ISAC 103/16000, iLBC 102/8000,
  // PCMU 0/8000, PCMA 8/8000, CN 13/8000 (codecs.cc).
  std::vector<Codec> codecs;
  // How an outgoing call offers transports.
  // kG3 is libjingle >= 0.5: it answers a hybrid (G3) initiate in Jingle
  // (reference_client/jingle_messages.h) and places its own calls as G1 (the
  // Gingle half of a hybrid initiate; it writes no Jingle half).
  enum class Dialect { kG1, kG2, kG3 } dialect = Dialect::kG1;
  // Incoming calls: accept after this long (the user "answers");
  // InfiniteDuration rings until Answer() or Reject() (talkcheck's default:
  // its callee scenarios answer through control steps).
  absl::Duration auto_answer_after = absl::ZeroDuration();
  // libjingle timers (PROTOCOL.md §6).
  absl::Duration iq_timeout = absl::Seconds(15);
  absl::Duration writable_timeout = absl::Seconds(50);
  absl::Duration ring_timeout = absl::Seconds(180);
  absl::Duration generation_period = absl::Seconds(20);
  // The libjingle timers above, K times as long (K = 0.1: the 15 s iq timeout
  // is 1.5 s), for a harness that scales its scenarios alike.
  void ScaleTimers(double k) {
    iq_timeout *= k;
    writable_timeout *= k;
    ring_timeout *= k;
    generation_period *= k;
    late_ack_delay *= k;
    drop_early_ack_delay *= k;
  }
  // The faults' own delays, scaled with the timers so that a fault stays on
  // the same side of them. late-ack: past libjingle's 15 s reply timeout.
  // drop-early-candidates: the initiate is acked this late (a slow client),
  // and the candidates that arrive meanwhile are lost.
  absl::Duration late_ack_delay = absl::Seconds(20);
  absl::Duration drop_early_ack_delay = absl::Seconds(1);
  std::string caps_ver = "1.0.0.104";
  // Learn a contact's voice support as clients without Google's hard-coded
  // bundles do (reference_client/contact_caps.h): ask disco#info of its
  // `node#voice-v1` on its caps presence, and refuse to call a JID before
  // the answer names Google voice. Off: a call goes to any JID (LJ04 reads
  // the ext tokens, PROTOCOL.md §7).
  bool voice_caps_from_disco = false;
  // What goes in the RTP the client sends once a call is up: the payload of
  // the newest packet received (the harness's round-trip measurement), its
  // own pattern, or no RTP at all (the peer's is still checked).
  enum class MediaMode { kEcho, kGenerate, kOff } media_mode = MediaMode::kEcho;
  // Where the client's GICE sockets come from (not owned; must outlive the
  // client). Null: real UDP sockets on the client's io_context.
  media_sim::DatagramNetwork* network = nullptr;
  // Which candidates each allocation round announces. With stun or relay the
  // client asks google:jingleinfo once Start()ed (no `to`, as LJ04) and
  // gathers from the first STUN server and the first relay listed there
  // (media_sim/candidate_gatherer.h; hosts must be IP literals). Rounds made
  // before the answer, or when a server fails, go without that kind. Real UDP
  // only. Default: host only, no jingleinfo query.
  struct CandidateTypes {
    bool host = true;
    bool stun = false;
    bool relay = false;
  } candidates;
  // Where the relay answers create_session: jingleinfo names only the host,
  // and Google's relays served HTTP on port 80 (PROTOCOL.md §5.2).
  uint16_t relay_http_port = 80;
  // The address its host candidates bind to and announce (IPv4 or IPv6
  // literal).
  std::string media_address = "127.0.0.1";
  FaultSet faults;
};

// What happened, for tests and the in-process adapter.
struct CallEvent {
  enum class Type {
    kIncoming,    // initiate received (`reason` holds the caller's JID)
    kRinging,     // our initiate was acked
    kAccepted,    // call accepted (either side)
    kWritable,    // the rtp channel became writable
    kTerminated,  // session over; `reason` says why
    kRejected,    // either side rejected (for us: the user, or no common codec)
  };
  Type type;
  std::string sid;
  std::string reason;
  // kTerminated and kRejected of a call that had media: its final figures.
  std::optional<CallMediaStats> media;
};

// "host,stun,relay" or any non-empty subset, as the --candidates flags take
// it; kInvalidArgument naming anything else.
absl::StatusOr<VoiceClientOptions::CandidateTypes> ParseCandidateTypes(
    absl::string_view list);

// The codecs a `--codecs` list names, in its order: each entry NAME (one of
// Google's 2005 offer, PROTOCOL.md §2.1, or G722, GSM, speex) with Google's id
// and clock rate, or NAME/ID or NAME/ID/CLOCKRATE. Names are kept as written
// (matching dynamic ids is case-sensitive, as in LJ04).
// Example: ParseCodecList("PCMU,PCMA"), ParseCodecList("iLBC").
// kInvalidArgument naming a bad or unknown entry, or for an empty list.
absl::StatusOr<std::vector<Codec>> ParseCodecList(absl::string_view list);

class VoiceClient {
 public:
  // `stream` must be connected (ready) before Start(). Nothing is owned.
  VoiceClient(boost::asio::io_context& io, Clock& clock, absl::BitGenRef bitgen,
              ClientStream& stream, VoiceClientOptions options);
  ~VoiceClient();

  // Sends presence with caps and starts handling stanzas (replaces the stream's
  // stanza handler until the VoiceClient is destroyed).
  void Start();

  // Places a call to `callee` (a full JID). kFailedPrecondition before Start().
  absl::Status Call(const xmpp::Jid& callee);
  // Answers / rejects the newest ringing incoming call; hangs up the newest
  // call (kFailedPrecondition when there is none). With `remote`, only a call
  // with that full JID counts (talkcheck's `<control peer="bob">`). Ending a
  // call does not wait for the peer's ack.
  absl::Status Answer(const std::optional<xmpp::Jid>& remote = std::nullopt);
  absl::Status Reject(const std::optional<xmpp::Jid>& remote = std::nullopt);
  absl::Status Hangup(const std::optional<xmpp::Jid>& remote = std::nullopt);

  void set_event_handler(std::function<void(const CallEvent&)> handler);
  bool in_call() const;
  // The media figures of the live call `sid`; nullopt when there is no such
  // call or it has not been accepted yet.
  std::optional<CallMediaStats> media_stats(absl::string_view sid) const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_VOICE_CLIENT_H_
