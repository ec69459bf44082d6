#include "reference_client/session_messages.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace ns = xmpp::ns;
using xmpp::Element;

namespace {

// LJ04 limits ufrags to 16 characters of the base64 alphabet.
constexpr size_t kMaxUsernameLength = 16;

bool IsBase64Text(absl::string_view text) {
  for (char c : text) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                    (c >= '0' && c <= '9') || c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  return true;
}

absl::Status Fail(CandidateError& error, std::string text) {
  error.text = text;
  return absl::InvalidArgumentError(text);
}

}  // namespace

Element SessionIq(absl::string_view to, absl::string_view type,
                  absl::string_view id, absl::string_view initiator,
                  std::vector<Element> children) {
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "set").SetAttr("to", to);
  Element& session = iq.AddChild(ns::kGoogleSession, "session");
  session.SetAttr("type", type)
      .SetAttr("id", id)
      .SetAttr("initiator", initiator);
  for (Element& child : children) session.AddChild(std::move(child));
  return iq;
}

Element IqResult(const Element& request) {
  Element result(ns::kClient, "iq");
  result.SetAttr("type", "result").SetAttr("id", request.AttrOr("id", ""));
  if (const std::string* from = request.Attr("from")) {
    result.SetAttr("to", *from);
  }
  return result;
}

Element IqError(const Element& request, absl::string_view type,
                absl::string_view condition, absl::string_view text,
                const Element* extra) {
  Element reply(ns::kClient, "iq");
  reply.SetAttr("type", "error").SetAttr("id", request.AttrOr("id", ""));
  if (const std::string* from = request.Attr("from")) {
    reply.SetAttr("to", *from);
  }
  for (const Element* child : request.Children()) reply.AddChild(*child);
  Element& error = reply.AddChild(ns::kClient, "error");
  error.SetAttr("type", type);
  error.AddChild(ns::kStanzas, condition);
  if (extra != nullptr) error.AddChild(*extra);
  if (!text.empty()) {
    error.AddChild(ns::kStanzas, "text")
        .SetAttr(ns::kXml, "lang", "en")
        .SetText(text);
  }
  return reply;
}

Element WriteCandidate(const media_sim::Candidate& candidate,
                       absl::string_view ns, bool with_password) {
  Element element(ns, "candidate");
  element.SetAttr("name", candidate.name)
      .SetAttr("address", candidate.address)
      .SetAttr("port", absl::StrCat(candidate.port))
      .SetAttr("preference", absl::StrCat(candidate.preference))
      .SetAttr("username", candidate.username);
  if (with_password) element.SetAttr("password", candidate.password);
  element.SetAttr("protocol", candidate.protocol)
      .SetAttr("generation", absl::StrCat(candidate.generation))
      .SetAttr("type", candidate.type)
      .SetAttr("network", candidate.network);
  return element;
}

absl::StatusOr<media_sim::Candidate> ReadCandidate(const Element& element,
                                                   CandidateError& error) {
  for (const char* required : {"name", "address", "port", "username",
                               "preference", "protocol", "generation"}) {
    if (element.Attr(required) == nullptr) {
      return Fail(error, "candidate missing required attribute");
    }
  }
  media_sim::Candidate candidate;
  candidate.name = *element.Attr("name");
  if (candidate.name != "rtp") {
    error.unknown_channel = candidate.name;
    return Fail(error, absl::StrCat("candidate has unknown channel name ",
                                    candidate.name));
  }
  candidate.address = *element.Attr("address");
  int port = 0;
  if (!absl::SimpleAtoi(*element.Attr("port"), &port) || port <= 0 ||
      port > 65535) {
    return Fail(error, "candidate has a bad port");
  }
  candidate.port = static_cast<uint16_t>(port);
  if (!absl::SimpleAtod(*element.Attr("preference"), &candidate.preference)) {
    return Fail(error, "candidate has a bad preference");
  }
  candidate.username = *element.Attr("username");
  if (candidate.username.size() > kMaxUsernameLength) {
    return Fail(error, "candidate username is too long");
  }
  if (!IsBase64Text(candidate.username)) {
    return Fail(error, "candidate username has non-base64 encoded characters");
  }
  candidate.password = element.AttrOr("password", "");
  candidate.protocol = *element.Attr("protocol");
  if (!absl::SimpleAtoi(*element.Attr("generation"), &candidate.generation) ||
      candidate.generation < 0) {
    return Fail(error, "candidate has a bad generation");
  }
  candidate.type = element.AttrOr("type", "local");
  candidate.network = element.AttrOr("network", "0");
  if (candidate.address.empty() || candidate.address == "0.0.0.0" ||
      candidate.address == "::") {
    return Fail(error, "candidate has address of zero");
  }
  return candidate;
}

}  // namespace talkcheck::reference_client
