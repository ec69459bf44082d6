#include "reference_client/codecs.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace ns = xmpp::ns;

namespace {

int IntAttr(const xmpp::Element& element, absl::string_view name) {
  int value = 0;
  const std::string* text = element.Attr(name);
  if (text == nullptr || !absl::SimpleAtoi(*text, &value) || value < 0) {
    return 0;
  }
  return value;
}

}  // namespace

std::vector<Codec> DefaultCodecs() {
  return {{103, "ISAC", 16000},
          {102, "iLBC", 8000},
          {0, "PCMU", 8000},
          {8, "PCMA", 8000},
          {13, "CN", 8000}};
}

absl::StatusOr<std::vector<Codec>> ParseCodecList(absl::string_view list) {
  // Google's ids and rates (PROTOCOL.md §2.1: the 2005 offer and LJ13's
  // kGingleInitiate).
  static const Codec kKnown[] = {
      {103, "ISAC", 16000}, {97, "IPCMWB", 16000}, {102, "iLBC", 8000},
      {4, "G723", 8000},    {100, "EG711U", 8000}, {101, "EG711A", 8000},
      {0, "PCMU", 8000},    {8, "PCMA", 8000},     {13, "CN", 8000},
      {9, "G722", 16000},   {3, "GSM", 8000},      {99, "speex", 16000}};
  std::vector<Codec> codecs;
  for (absl::string_view entry : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    std::vector<absl::string_view> parts = absl::StrSplit(entry, '/');
    Codec codec;
    codec.name = std::string(parts[0]);
    bool known = false;
    for (const Codec& k : kKnown) {
      if (k.name == codec.name) {
        codec = k;
        known = true;
      }
    }
    if ((parts.size() >= 2 && (!absl::SimpleAtoi(parts[1], &codec.id) ||
                               codec.id < 0 || codec.id > 127)) ||
        (parts.size() == 3 && (!absl::SimpleAtoi(parts[2], &codec.clockrate) ||
                               codec.clockrate <= 0)) ||
        parts.size() > 3 || codec.name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "bad codec \"", entry, "\": NAME, NAME/ID or NAME/ID/CLOCKRATE"));
    }
    if (!known && parts.size() < 2) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown codec \"", entry, "\": write NAME/ID"));
    }
    codecs.push_back(std::move(codec));
  }
  if (codecs.empty()) return absl::InvalidArgumentError("empty codec list");
  return codecs;
}

std::vector<PayloadType> ReadAudioPayloadTypes(
    const xmpp::Element& description) {
  std::vector<PayloadType> types;
  // Inside a video description only the phone-namespace entries are audio.
  for (const xmpp::Element* child :
       description.FindChildren(ns::kGooglePhone, "payload-type")) {
    PayloadType type;
    const std::string* id = child->Attr("id");
    if (id == nullptr || !absl::SimpleAtoi(*id, &type.id) || type.id < 0 ||
        type.id > 127) {
      continue;
    }
    type.name = child->AttrOr("name", "");
    type.clockrate = IntAttr(*child, "clockrate");
    type.bitrate = IntAttr(*child, "bitrate");
    type.channels = IntAttr(*child, "channels");
    types.push_back(std::move(type));
  }
  if (types.empty() &&
      description.FindChildren(ns::kGooglePhone, "payload-type").empty()) {
    types.push_back({103, "ISAC", 16000, 0, 0});
    types.push_back({0, "PCMU", 8000, 0, 0});
  }
  return types;
}

bool Matches(const PayloadType& offered, const Codec& ours) {
  const bool same_codec =
      offered.id < 96 ? offered.id == ours.id : offered.name == ours.name;
  if (!same_codec) return false;
  // LJ04 GipsLiteMediaEngine::FindGIPSCodec also compares the channels
  // (default 1; every codec of ours is mono).
  if (offered.channels > 1) return false;
  return offered.clockrate == 0 || ours.clockrate == 0 ||
         offered.clockrate == ours.clockrate;
}

std::vector<PayloadType> NegotiateAccept(const std::vector<PayloadType>& offer,
                                         const std::vector<Codec>& ours) {
  std::vector<PayloadType> accept;
  for (const PayloadType& offered : offer) {
    for (const Codec& codec : ours) {
      if (Matches(offered, codec)) {
        accept.push_back(offered);
        break;
      }
    }
  }
  return accept;
}

xmpp::Element WritePhoneDescription(const std::vector<PayloadType>& types) {
  xmpp::Element description(ns::kGooglePhone, "description");
  for (const PayloadType& type : types) {
    xmpp::Element& entry =
        description.AddChild(ns::kGooglePhone, "payload-type");
    entry.SetAttr("id", absl::StrCat(type.id)).SetAttr("name", type.name);
    if (type.clockrate > 0)
      entry.SetAttr("clockrate", absl::StrCat(type.clockrate));
    if (type.bitrate > 0) entry.SetAttr("bitrate", absl::StrCat(type.bitrate));
    if (type.channels > 1)
      entry.SetAttr("channels", absl::StrCat(type.channels));
  }
  return description;
}

std::vector<PayloadType> ToPayloadTypes(const std::vector<Codec>& codecs) {
  std::vector<PayloadType> types;
  for (const Codec& codec : codecs) {
    types.push_back({codec.id, codec.name, codec.clockrate, 0, 0});
  }
  return types;
}

std::vector<Codec> ToCodecs(const std::vector<PayloadType>& types) {
  std::vector<Codec> codecs;
  for (const PayloadType& type : types) {
    codecs.push_back({type.id, type.name, type.clockrate});
  }
  return codecs;
}

media_sim::RtpCodec ChooseSendCodec(const std::vector<PayloadType>& remote,
                                    const std::vector<Codec>& ours) {
  for (const PayloadType& type : remote) {
    for (const Codec& codec : ours) {
      if (!Matches(type, codec)) continue;
      const int clockrate =
          type.clockrate > 0 ? type.clockrate : codec.clockrate;
      // A static id may come with a spelling media_sim does not know; ours,
      // or the id alone, then names it.
      for (const std::string& name : {type.name, codec.name, std::string()}) {
        absl::StatusOr<media_sim::RtpCodec> rtp =
            media_sim::CodecByName(name, type.id, clockrate);
        if (rtp.ok()) return *std::move(rtp);
      }
      break;  // matched, but media_sim cannot time it: try the next entry
    }
  }
  return *media_sim::CodecByName("PCMU", 0, 8000);
}

int UnnegotiatedPayloadType(
    const std::vector<std::vector<PayloadType>>& lists) {
  std::set<int> used;
  for (const std::vector<PayloadType>& list : lists) {
    for (const PayloadType& type : list) used.insert(type.id);
  }
  for (int id = 127; id >= 96; --id) {
    if (used.count(id) == 0) return id;
  }
  // Every dynamic id is taken: a static one no codec has (RFC 3551 table 4
  // leaves 1 and 2 unassigned).
  return used.count(1) == 0 ? 1 : 2;
}

}  // namespace talkcheck::reference_client
