#include "harness/peer/negotiation.h"

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "xmpp/namespaces.h"

namespace talkcheck::harness {
namespace {

using xmpp::Element;
namespace ns = xmpp::ns;

void ReadEntries(const Element& description, const char* entry_ns,
                 std::vector<OfferedPayloadType>& out) {
  for (const Element* child : description.Children()) {
    if (!child->Is(entry_ns, "payload-type")) continue;
    OfferedPayloadType type;
    if (!absl::SimpleAtoi(child->AttrOr("id", ""), &type.id) || type.id < 0 ||
        type.id > 127) {
      continue;
    }
    type.name = child->AttrOr("name", "");
    // GAB also reads `rate` (PROTOCOL.md §2.1).
    std::string rate = child->AttrOr("clockrate", child->AttrOr("rate", ""));
    if (!absl::SimpleAtoi(rate, &type.clockrate)) type.clockrate = 0;
    out.push_back(std::move(type));
  }
}

// Same codec on both lists (PROTOCOL.md §2.2): static ids by id, dynamic ones
// by name (case-insensitively, as LJ13 does: the harness must not fail a
// client for a spelling the accept check is for).
bool SameCodec(const OfferedPayloadType& a, const OfferedPayloadType& b) {
  if (a.id < 96 || b.id < 96) return a.id == b.id;
  return absl::EqualsIgnoreCase(a.name, b.name);
}

// The codec media_sim sends or checks for `type`, with the clock rate stated
// on it or on the matching offer entry. Codecs media_sim does not know get the
// stated rate and no frame (their timestamp steps go unchecked); nullopt
// without a rate either.
std::optional<media_sim::RtpCodec> ToRtpCodec(
    const OfferedPayloadType& type,
    const std::vector<OfferedPayloadType>& offer) {
  int clockrate = type.clockrate;
  std::string name = type.name;
  for (const OfferedPayloadType& offered : offer) {
    if (!SameCodec(type, offered)) continue;
    if (clockrate == 0) clockrate = offered.clockrate;
    if (name.empty()) name = offered.name;
    break;
  }
  absl::StatusOr<media_sim::RtpCodec> known =
      media_sim::CodecByName(name, type.id, clockrate);
  if (!known.ok() && clockrate != 0) {
    // A stated rate the table does not list for the name: the table's frame
    // with the stated clock.
    known = media_sim::CodecByName(name, type.id);
    if (known.ok()) known->clock_rate = clockrate;
  }
  if (known.ok()) return *known;
  if (clockrate == 0) return std::nullopt;
  media_sim::RtpCodec codec;
  codec.name = name;
  codec.payload_type = type.id;
  codec.clock_rate = clockrate;
  codec.frame = absl::ZeroDuration();
  return codec;
}

bool Listed(const OfferedPayloadType& type,
            const std::vector<OfferedPayloadType>& list) {
  return std::any_of(
      list.begin(), list.end(),
      [&](const OfferedPayloadType& entry) { return SameCodec(type, entry); });
}

// The codec media_sim sends for `type`, if it can pace it (a frame).
std::optional<media_sim::RtpCodec> PeerCanSend(const OfferedPayloadType& type) {
  absl::StatusOr<media_sim::RtpCodec> codec =
      media_sim::CodecByName(type.name, type.id, type.clockrate);
  if (!codec.ok() || codec->frame <= absl::ZeroDuration()) return std::nullopt;
  return *codec;
}

}  // namespace

std::string NegotiatedMedia::Describe() const {
  return absl::StrJoin(
      receive, ", ", [](std::string* out, const media_sim::RtpCodec& c) {
        absl::StrAppend(out, c.name, "/", c.payload_type, "/", c.clock_rate);
      });
}

std::vector<OfferedPayloadType> ReadPayloadTypes(const Element& container,
                                                 bool* found) {
  std::vector<OfferedPayloadType> types;
  *found = false;
  if (const Element* phone =
          container.FindChild(ns::kGooglePhone, "description")) {
    *found = true;
    ReadEntries(*phone, ns::kGooglePhone, types);
  } else if (const Element* video =
                 container.FindChild(ns::kGoogleVideo, "description")) {
    *found = true;
    ReadEntries(*video, ns::kGooglePhone, types);
  } else {
    for (const Element* content : container.Children()) {
      if (!content->Is(ns::kJingle, "content")) continue;
      const Element* rtp = content->FindChild(ns::kJingleRtp, "description");
      if (rtp == nullptr || rtp->AttrOr("media", "audio") != "audio") continue;
      *found = true;
      ReadEntries(*rtp, ns::kJingleRtp, types);
    }
  }
  return types;
}

void Negotiation::Observe(const Element& iq, bool from_peer) {
  if (!iq.Is(ns::kClient, "iq") || iq.AttrOr("type", "") != "set") return;
  std::string action;
  const Element* container = iq.FindChild(ns::kGoogleSession, "session");
  if (container != nullptr) {
    action = container->AttrOr("type", "");
  } else if ((container = iq.FindChild(ns::kJingle, "jingle")) != nullptr) {
    const std::string jingle_action = container->AttrOr("action", "");
    if (jingle_action == "session-initiate") action = "initiate";
    if (jingle_action == "session-accept") action = "accept";
  }
  if (container == nullptr || (action != "initiate" && action != "accept")) {
    return;
  }
  bool found = false;
  std::vector<OfferedPayloadType> types = ReadPayloadTypes(*container, &found);
  if (action == "initiate") {
    // An empty description: libjingle's "ancient Talk" peer (PROTOCOL.md §2.1).
    if (types.empty()) types = {{103, "ISAC", 16000}, {0, "PCMU", 8000}};
    // A hybrid initiate repeats itself in Jingle and Gingle: one offer.
    offer_ = std::move(types);
    accept_.reset();
    peer_is_caller_ = from_peer;
  } else {
    // LJ04: an empty list falls back to PCMU/8000 (PROTOCOL.md §2.2).
    if (types.empty()) types = {{0, "PCMU", 8000}};
    accept_ = std::move(types);
  }
}

std::optional<media_sim::RtpCodec> Negotiation::ClientRemoteFirst() const {
  if (!offer_.has_value() || !accept_.has_value()) return std::nullopt;
  // The client's remote list is the peer's.
  for (const OfferedPayloadType& type : PeersList()) {
    if (!Listed(type, ClientsList())) continue;
    if (std::optional<media_sim::RtpCodec> codec = ToRtpCodec(type, *offer_)) {
      return codec;
    }
    media_sim::RtpCodec unknown;  // asserted by payload type only
    unknown.name = type.name;
    unknown.payload_type = type.id;
    return unknown;
  }
  return std::nullopt;
}

absl::StatusOr<std::vector<OfferedPayloadType>> Negotiation::AnswerToClient()
    const {
  if (!offer_.has_value() || peer_is_caller_) {
    return absl::FailedPreconditionError(
        "no initiate from the client to answer");
  }
  std::vector<OfferedPayloadType> answer;
  for (const OfferedPayloadType& type : *offer_) {
    if (PeerCanSend(type)) answer.push_back(type);
  }
  if (answer.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the client's initiate offers no codec the simulated peer can send (",
        absl::StrJoin(*offer_, ", ",
                      [](std::string* out, const OfferedPayloadType& t) {
                        absl::StrAppend(out, t.name, "/", t.id);
                      }),
        ")"));
  }
  return answer;
}

absl::StatusOr<NegotiatedMedia> Negotiation::Result() const {
  if (!offer_.has_value() || !accept_.has_value()) {
    return absl::FailedPreconditionError(
        offer_.has_value() ? "no accept was seen, so no codec is negotiated"
                           : "no initiate was seen, so no codec is negotiated");
  }
  NegotiatedMedia media;
  media.peer_is_caller = peer_is_caller_;
  for (const OfferedPayloadType& type : *accept_) {
    if (std::optional<media_sim::RtpCodec> codec = ToRtpCodec(type, *offer_)) {
      media.receive.push_back(*codec);
    }
  }
  // The peer's remote list is the client's; its engine supports what its
  // own side listed.
  for (const OfferedPayloadType& type : ClientsList()) {
    if (!Listed(type, PeersList())) continue;
    std::optional<media_sim::RtpCodec> codec = PeerCanSend(type);
    if (!codec) continue;
    media.send = *codec;
    if (media.receive.empty()) media.receive.push_back(*codec);
    return media;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("no codec of the ", peer_is_caller_ ? "accept" : "initiate",
                   " is one the peer can send"));
}

}  // namespace talkcheck::harness
