// The transport half of the voice client: its GICE channel, the candidates it
// sends (G1 or G2 format) and receives, generations and the writability timer,
// and the RTP that flows on the channel once the call is up.
#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "media_sim/candidate.h"
#include "media_sim/gice_channel.h"
#include "media_sim/rtp.h"
#include "reference_client/call_media.h"
#include "reference_client/codecs.h"
#include "reference_client/session_messages.h"
#include "reference_client/voice_client_impl.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace ns = xmpp::ns;
using media_sim::Candidate;
using xmpp::Element;
using MediaMode = VoiceClientOptions::MediaMode;

namespace {

// ssrc-change: the packets sent before the client switches to a new SSRC.
constexpr uint64_t kSsrcChangeAfterPackets = 50;

}  // namespace

void VoiceClient::Impl::OnCandidates(Session& s, const Element& iq,
                                     const Element& session, bool g1_format) {
  std::vector<const Element*> elements;
  if (g1_format) {
    elements = session.FindChildren(ns::kGoogleSession, "candidate");
  } else {
    for (const Element* transport :
         session.FindChildren(ns::kGoogleP2p, "transport")) {
      for (const Element* c :
           transport->FindChildren(ns::kGoogleP2p, "candidate")) {
        elements.push_back(c);
      }
    }
  }
  std::vector<Candidate> candidates;
  for (const Element* element : elements) {
    CandidateError error;
    absl::StatusOr<Candidate> candidate = ReadCandidate(*element, error);
    if (!candidate.ok() && Has(Fault::kLaxCandidates)) continue;
    if (!candidate.ok()) {
      if (!error.unknown_channel.empty()) {
        Element extra(ns::kGoogleP2p, "unknown-channel-name");
        extra.SetAttr("name", error.unknown_channel);
        return SendError(iq, "modify", "bad-request", error.text, &extra);
      }
      return SendError(iq, "modify", "bad-request", error.text);
    }
    candidates.push_back(*std::move(candidate));
  }
  AckSessionIq(iq, false);

  // A G1 `candidates` message in a G2 session as caller before the
  // transport-accept: an old (G1) callee, for which LJ04 fakes the
  // transport-accept, enters compatibility mode and re-sends everything sent
  // so far as `candidates` (PROTOCOL.md §3.4). Only the caller falls back:
  // LJ04's callee chose its transport with the initiate (ChooseTransport), so
  // Session::OnCandidatesMessage finds `transport_` set, takes the candidates
  // and goes on with transport-info (docs/protocol-notes.md, "Dialects").
  if (g1_format && s.g2 && !s.incoming && !s.transport_accepted) {
    if (Has(Fault::kNoFallbackToG1)) return;
    s.g2 = false;
    s.transport_accepted = true;
    if (!s.sent_candidates.empty() && !Has(Fault::kNoCandidates)) {
      SendCandidates(s, s.sent_candidates);
    }
  }
  if (Has(Fault::kDropEarlyCandidates) && s.incoming && !s.initiate_acked) {
    return;  // lost: they came before we acked the initiate
  }
  if (s.channel == nullptr) return;
  for (const Candidate& candidate : candidates) {
    if (candidate.protocol == "udp") s.channel->AddRemoteCandidate(candidate);
  }
}

// ---------------------------------------------------------------------------
// Transport

void VoiceClient::Impl::StartTransport(Session& s) {
  if (s.channel != nullptr) return;
  media_sim::GiceOptions gice;
  gice.channel_name = "rtp";
  gice.network = options_.network;
  gice.bind_address = options_.media_address;
  gice.fault_no_ping_responses = Has(Fault::kNoPingResponses);
  gice.fault_username_without_remote = Has(Fault::kUsernameWithoutRemote);
  gice.fault_media_before_writable = Has(Fault::kMediaBeforeWritable);
  gice.fault_media_to_stale_generation = Has(Fault::kMediaToStaleGeneration);
  gice.fault_abandon_timed_out_pairs = Has(Fault::kAbandonTimedOutPairs);
  gice.fault_no_keepalive = Has(Fault::kNoKeepalive);
  // wrong-payload-type, ssrc-change and stalled-timestamps are the RTP's
  // (StartMedia).
  s.channel = std::make_unique<media_sim::GiceChannel>(io_, clock_, bitgen_,
                                                       std::move(gice));
  const SessionRef ref = Ref(s);
  s.channel->set_writable_handler(
      [this, ref](bool writable) { OnWritable(ref, writable); });
  // The channel is the session's own, so the session outlives every call of
  // this handler: no lookup by key per packet. Before the accept there is no
  // media to check the packet against yet.
  Session* const session = &s;
  s.channel->set_packet_handler(
      [session](absl::string_view packet,
                const boost::asio::ip::udp::endpoint&) {
        if (session->media != nullptr) session->media->OnPacket(packet);
      });
  s.channel->Start();
  NewGeneration(s);
}

void VoiceClient::Impl::NewGeneration(Session& s) {
  if (GatherGeneration(s)) {
    // Another round in 20 s unless writable by then (LJ04 kAllocatePeriod).
    if (!s.writable) ArmGenerationTimer(s);
    return;
  }
  absl::StatusOr<Candidate> allocated = s.channel->AllocateGeneration();
  if (allocated.ok()) {
    Candidate candidate = *std::move(allocated);
    if (Has(Fault::kStaleGenerationReuse) && s.first_candidate.has_value()) {
      candidate.generation = 0;
      candidate.username = s.first_candidate->username;
      candidate.password = s.first_candidate->password;
    }
    if (!s.first_candidate.has_value()) s.first_candidate = candidate;
    s.sent_candidates.push_back(candidate);
    if (!Has(Fault::kNoCandidates)) SendCandidates(s, {candidate});
  }
  // Another round in 20 s unless writable by then (LJ04 kAllocatePeriod).
  if (!s.writable) ArmGenerationTimer(s);
}

bool VoiceClient::Impl::GatherGeneration(Session& s) {
  const VoiceClientOptions::CandidateTypes& wanted = options_.candidates;
  media_sim::GatherOptions gather;
  gather.network = options_.network;
  gather.host = wanted.host;
  if (wanted.stun) gather.stun_server = stun_server_;
  if (wanted.relay) gather.relay = relay_server_;
  if (!gather.stun_server && !gather.relay) return false;
  const SessionRef ref = Ref(s);
  // A newer round replaces one still being gathered.
  s.gatherer = media_sim::CandidateGatherer::Start(
      io_, clock_, bitgen_, std::move(gather),
      [this, ref](media_sim::GatherResult result) {
        OnGathered(ref, std::move(result));
      });
  return true;
}

void VoiceClient::Impl::OnGathered(const SessionRef& ref,
                                   media_sim::GatherResult result) {
  Session* s = Find(ref);
  if (s == nullptr || s->channel == nullptr || result.ports.empty()) return;
  absl::StatusOr<std::vector<Candidate>> added =
      s->channel->AddGeneration(std::move(result.ports));
  if (!added.ok()) return;
  if (!s->first_candidate.has_value()) s->first_candidate = added->front();
  for (const Candidate& candidate : *added) {
    s->sent_candidates.push_back(candidate);
  }
  if (!Has(Fault::kNoCandidates)) SendCandidates(*s, *added);
}

void VoiceClient::Impl::ArmGenerationTimer(Session& s) {
  const SessionRef ref = Ref(s);
  s.generation_timer =
      clock_.CallAfter(options_.generation_period, [this, ref] {
        Session* s = Find(ref);
        if (s != nullptr && !s->writable) NewGeneration(*s);
      });
}

void VoiceClient::Impl::ArmWritableTimer(Session& s) {
  const SessionRef ref = Ref(s);
  s.writable_timer = clock_.CallAfter(options_.writable_timeout, [this, ref] {
    Session* s = Find(ref);
    if (s == nullptr || s->writable || Has(Fault::kNoTerminateOnTimeout)) {
      return;
    }
    EndSession(*s, CallEvent::Type::kTerminated,
               absl::StrCat("not writable within ",
                            absl::FormatDuration(options_.writable_timeout)),
               /*send_terminate=*/true);
  });
}

void VoiceClient::Impl::SendCandidates(Session& s,
                                       const std::vector<Candidate>& input) {
  // candidates-after-answer: none go out while the call rings (the channel
  // gathers and answers checks meanwhile); SendAccept sends them all.
  if (Has(Fault::kCandidatesAfterAnswer) && s.incoming &&
      s.state == Session::State::kReceivedInitiate) {
    return;
  }
  const bool with_password = !Has(Fault::kMissingPasswordAttr);
  std::vector<Candidate> candidates;
  if (Has(Fault::kRtcpWithRtpCandidates)) {
    // An `rtcp` channel's candidate first, in the same message as the `rtp`
    // ones: a libjingle 0.4 peer refuses the whole message (PROTOCOL.md §3.2).
    for (const Candidate& c : input) {
      Candidate rtcp = c;
      rtcp.name = "rtcp";
      candidates.push_back(rtcp);
    }
  }
  candidates.insert(candidates.end(), input.begin(), input.end());
  if (s.g2) {
    Element transport(ns::kGoogleP2p, "transport");
    for (const Candidate& c : candidates) {
      transport.AddChild(WriteCandidate(c, ns::kGoogleP2p, with_password));
    }
    SendSessionMessage(s, "transport-info", {std::move(transport)});
    return;
  }
  std::vector<Element> children;
  for (const Candidate& c : candidates) {
    children.push_back(WriteCandidate(c, ns::kGoogleSession, with_password));
  }
  SendSessionMessage(s, "candidates", std::move(children));
}

void VoiceClient::Impl::OnWritable(const SessionRef& ref, bool writable) {
  Session* s = Find(ref);
  if (s == nullptr || s->writable == writable) return;
  s->writable = writable;
  UpdateMedia(*s);
  if (writable) {
    s->writable_timer.reset();
    s->generation_timer.reset();
    Emit(CallEvent::Type::kWritable, s->sid, "rtp channel writable");
    return;
  }
  // Lost writability: LJ04 re-arms the 50 s timer and allocates at once.
  ArmWritableTimer(*s);
  NewGeneration(*s);
}

// ---------------------------------------------------------------------------
// RTP

void VoiceClient::Impl::StartMedia(Session& s) {
  if (s.media != nullptr) return;
  // LJ04 (PROTOCOL.md §2.2): each side sends with the first codec of the other
  // side's list that it supports. So we send from the peer's list, and the
  // peer, supporting what it sent, from ours as we sent it.
  std::vector<PayloadType> remote = s.remote_codecs;
  if (Has(Fault::kSendCodecFromEnd)) std::reverse(remote.begin(), remote.end());
  media_sim::RtpCodec send = ChooseSendCodec(remote, options_.codecs);
  media_sim::RtpCodec receive =
      ChooseSendCodec(s.local_codecs, ToCodecs(s.remote_codecs));
  CallMediaOptions media;
  media.echo = options_.media_mode == MediaMode::kEcho;
  if (Has(Fault::kWrongPayloadType)) {
    // A payload type in neither list nor our own codecs (127 unless taken),
    // rather than the id of an offered-but-not-chosen codec, which the peer
    // could still decode: nothing maps it to a codec.
    media.payload_type = UnnegotiatedPayloadType(
        {s.local_codecs, s.remote_codecs, ToPayloadTypes(options_.codecs)});
  }
  if (Has(Fault::kSsrcChange)) {
    media.ssrc_change_after = kSsrcChangeAfterPackets;
  }
  media.stall_timestamps = Has(Fault::kStalledTimestamps);
  media_sim::GiceChannel* channel = s.channel.get();
  s.media = std::make_unique<CallMedia>(
      clock_, bitgen_, std::move(send), std::move(receive), media,
      [channel](absl::string_view packet) {
        // The channel picks the best writable connection (PROTOCOL.md §4.3)
        // and refuses while there is none.
        return channel != nullptr && channel->SendPacket(packet);
      });
  UpdateMedia(s);
}

void VoiceClient::Impl::UpdateMedia(Session& s) {
  if (s.media == nullptr) return;
  // media-before-writable: the channel then sends on an unchecked pair, so
  // the RTP must not wait for writability either.
  const bool may_send = s.writable || Has(Fault::kMediaBeforeWritable);
  s.media->SetSending(options_.media_mode != MediaMode::kOff &&
                      s.state == Session::State::kAccepted && may_send);
}

std::optional<CallMediaStats> VoiceClient::Impl::media_stats(
    absl::string_view sid) const {
  for (const auto& [key, s] : sessions_) {
    if (key.id == sid && s->media != nullptr) return s->media->stats();
  }
  return std::nullopt;
}

}  // namespace talkcheck::reference_client
