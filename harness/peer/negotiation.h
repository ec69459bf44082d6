// What the session's offer and answer settled about media, as the simulated
// peer's RTP loopback needs it: which codec the peer sends with, and which
// payload types the client may send (each with its clock rate).
//
// The peer feeds every session iq it sends and receives (Observe). The rule is
// LJ04's (PROTOCOL.md §2.2, VoiceChannel::SetSendCodec_w): each side sends with
// the first codec of the *remote* list that it supports. A peer that called
// sends with the first entry of the client's accept (the accept only holds
// codecs the peer offered); a peer that was called sends with the first entry
// of the client's initiate that its own accept took. The client may send any
// payload type of the accept, the negotiated set; each is measured at its own
// clock rate: the accept's `clockrate`, else the offer's for the same id, else
// RFC 3551 / the codec table (media_sim::CodecByName).
//
// Example:
//   Negotiation negotiation;
//   negotiation.Observe(initiate_iq, /*from_peer=*/true);
//   negotiation.Observe(accept_iq, /*from_peer=*/false);
//   absl::StatusOr<NegotiatedMedia> media = negotiation.Result();
#ifndef TALKCHECK_HARNESS_PEER_NEGOTIATION_H_
#define TALKCHECK_HARNESS_PEER_NEGOTIATION_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "media_sim/rtp.h"
#include "xmpp/element.h"

namespace talkcheck::harness {

// One `<payload-type/>` of an audio description; clockrate 0: not stated.
struct OfferedPayloadType {
  int id = 0;
  std::string name;
  int clockrate = 0;
};

struct NegotiatedMedia {
  media_sim::RtpCodec send;                  // what the peer sends with
  std::vector<media_sim::RtpCodec> receive;  // what the client may send
  bool peer_is_caller = true;
  // "PCMU/0/8000, PCMA/8/8000": the receive set, for reports.
  std::string Describe() const;
};

class Negotiation {
 public:
  // Records the audio description of an initiate or accept in `iq` (Gingle
  // `<session>` in the phone or video namespace, or a Jingle RTP
  // session-initiate / session-accept); ignores anything else. A new initiate
  // starts over.
  void Observe(const xmpp::Element& iq, bool from_peer);

  bool has_accept() const { return accept_.has_value(); }

  // The peer's accept of the client's initiate, as libjingle writes one
  // (PROTOCOL.md §2.2): the offered codecs the peer can send (media_sim's
  // table), in the offer's order, with the offer's ids, names and clock
  // rates. kFailedPrecondition before a client's initiate, or when it offers
  // none the peer can send.
  absl::StatusOr<std::vector<OfferedPayloadType>> AnswerToClient() const;

  // kFailedPrecondition before both an initiate and an accept were seen, or
  // when no entry of the accept is a codec the peer can send.
  absl::StatusOr<NegotiatedMedia> Result() const;

  // What libjingle would send with on the client's side (PROTOCOL.md §2.2):
  // the first entry of the client's remote list (the peer's initiate, or the
  // peer's accept when the client called) that the client's own list holds,
  // with the remote list's id. nullopt before an initiate and an accept, or
  // when the two lists share none.
  std::optional<media_sim::RtpCodec> ClientRemoteFirst() const;

 private:
  // Each side's own list: the peer's initiate, or its accept when the client
  // called; and the other. Only once both an initiate and an accept are seen.
  const std::vector<OfferedPayloadType>& PeersList() const {
    return peer_is_caller_ ? *offer_ : *accept_;
  }
  const std::vector<OfferedPayloadType>& ClientsList() const {
    return peer_is_caller_ ? *accept_ : *offer_;
  }

  std::optional<std::vector<OfferedPayloadType>> offer_;
  std::optional<std::vector<OfferedPayloadType>> accept_;
  bool peer_is_caller_ = true;
};

// The payload types of an audio description (Gingle phone, phone entries of a
// Gingle video description, or Jingle RTP), in document order. Entries without
// a numeric id are skipped. `found` is set when there was a description.
std::vector<OfferedPayloadType> ReadPayloadTypes(const xmpp::Element& container,
                                                 bool* found);

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_PEER_NEGOTIATION_H_
