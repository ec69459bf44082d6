// Audio payload types of a Google phone description and libjingle 0.4's rules
// for matching them (PROTOCOL.md §2.1, §2.2).
//
// Reading takes the `<payload-type/>` children of a `session/phone`
// description, or the phone-namespace ones inside a `session/video`
// description; an empty description means an "ancient Talk" peer offering
// ISAC/16000 and PCMU/8000. Matching is LJ04's GIPS rule: ids below 96 match by
// id, others by case-sensitive name, and a clockrate stated on both sides must
// agree. The accept copies each matched offer entry (id, name spelling, rates)
// in offer order. Each side then sends with the first codec of the *other*
// side's list that it supports: the caller with the accept's, the callee with
// the initiate's.
//
// Example:
//   std::vector<PayloadType> offer = ReadAudioPayloadTypes(*description);
//   std::vector<PayloadType> accept = NegotiateAccept(offer, DefaultCodecs());
//   if (accept.empty()) { /* reject */ }
//   session.AddChild(WritePhoneDescription(accept));
//   media_sim::RtpCodec send = ChooseSendCodec(offer, DefaultCodecs());
#ifndef TALKCHECK_REFERENCE_CLIENT_CODECS_H_
#define TALKCHECK_REFERENCE_CLIENT_CODECS_H_

#include <string>
#include <vector>

#include "media_sim/rtp.h"
#include "reference_client/voice_client.h"
#include "xmpp/element.h"

namespace talkcheck::reference_client {

// One `<payload-type/>` as read or written; 0 means "not stated".
struct PayloadType {
  int id = 0;
  std::string name;
  int clockrate = 0;
  int bitrate = 0;
  int channels = 0;

  friend bool operator==(const PayloadType& a, const PayloadType& b) {
    return a.id == b.id && a.name == b.name && a.clockrate == b.clockrate &&
           a.bitrate == b.bitrate && a.channels == b.channels;
  }
};

// ISAC 103/16000, iLBC 102/8000, PCMU 0/8000, PCMA 8/8000, CN 13/8000.
std::vector<Codec> DefaultCodecs();

// The audio payload types of `description` (phone or video namespace), in
// document order. Entries without a numeric id are skipped. No entries at all
// gives LJ04's assumption for old clients: ISAC 103/16000 and PCMU 0/8000.
std::vector<PayloadType> ReadAudioPayloadTypes(
    const xmpp::Element& description);

// Whether `ours` can take the offered payload type (LJ04 GIPS matching).
bool Matches(const PayloadType& offered, const Codec& ours);

// The offered payload types we support, copied from the offer, in offer order.
std::vector<PayloadType> NegotiateAccept(const std::vector<PayloadType>& offer,
                                         const std::vector<Codec>& ours);

// `<description xmlns=".../session/phone">` with one `<payload-type/>` each: id
// and name always, clockrate and bitrate when > 0, channels when > 1.
xmpp::Element WritePhoneDescription(const std::vector<PayloadType>& types);

// Our codecs as payload types for an initiate.
std::vector<PayloadType> ToPayloadTypes(const std::vector<Codec>& codecs);

// The codecs a peer supports, read from the list it sent: to work out what it
// sends with, ChooseSendCodec(what we sent, ToCodecs(what it sent)).
std::vector<Codec> ToCodecs(const std::vector<PayloadType>& types);

// LJ04's send codec (PROTOCOL.md §2.2, VoiceChannel::SetSendCodec_w): the first
// entry of the `remote` list that `ours` supports, with the remote's payload
// id, as media_sim's codec (CodecByName with the remote's name, else ours, and
// the remote's clockrate, else ours). Entries media_sim does not know are
// passed over; when nothing is left, LJ04's fallback PCMU/8000 (id 0).
media_sim::RtpCodec ChooseSendCodec(const std::vector<PayloadType>& remote,
                                    const std::vector<Codec>& ours);

// A payload type in none of `lists` (the wrong-payload-type fault): the
// highest free dynamic id, 127 unless taken.
int UnnegotiatedPayloadType(const std::vector<std::vector<PayloadType>>& lists);

}  // namespace talkcheck::reference_client

#endif  // TALKCHECK_REFERENCE_CLIENT_CODECS_H_
