// The transport half of the voice client: its GICE channel, the candidates it
// sends (G1 or G2 format) and receives, generations and the writability timer.
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "media_sim/candidate.h"
#include "media_sim/gice_channel.h"
#include "reference_client/session_messages.h"
#include "reference_client/voice_client_impl.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace ns = xmpp::ns;
using media_sim::Candidate;
using xmpp::Element;

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

  // A G1 `candidates` message in a G2 session: as caller before the
  // transport-accept, an old (G1) callee, for which LJ04 fakes the
  // transport-accept; as callee, a caller that fell back to G1, which gabble
  // follows (on_transport_info). Either way: compatibility mode, and everything
  // sent so far is re-sent as `candidates` (PROTOCOL.md §3.4).
  if (g1_format && s.g2 && (s.incoming || !s.transport_accepted)) {
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
  gice.fault_no_ping_responses = Has(Fault::kNoPingResponses);
  gice.fault_username_without_remote = Has(Fault::kUsernameWithoutRemote);
  gice.fault_media_before_writable = Has(Fault::kMediaBeforeWritable);
  gice.fault_media_to_stale_generation = Has(Fault::kMediaToStaleGeneration);
  // wrong-payload-type and ssrc-change concern RTP, which the reference client
  // does not send yet: they are accepted and do nothing until the RTP loopback
  // exists.
  s.channel = std::make_unique<media_sim::GiceChannel>(io_, clock_, bitgen_,
                                                       std::move(gice));
  const SessionRef ref = Ref(s);
  s.channel->set_writable_handler(
      [this, ref](bool writable) { OnWritable(ref, writable); });
  s.channel->Start();
  NewGeneration(s);
}

void VoiceClient::Impl::NewGeneration(Session& s) {
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

void VoiceClient::Impl::SendCandidates(
    Session& s, const std::vector<Candidate>& candidates) {
  const bool with_password = !Has(Fault::kMissingPasswordAttr);
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

}  // namespace talkcheck::reference_client
