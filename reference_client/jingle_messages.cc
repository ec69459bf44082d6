#include "reference_client/jingle_messages.h"

#include <string>

#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {
namespace {

namespace ns = xmpp::ns;
using xmpp::Element;

// A deep copy of `element` with every element of namespace `from` moved to
// `to` (payload types and candidates change namespace between dialects).
Element Renamespaced(const Element& element, absl::string_view from,
                     absl::string_view to) {
  Element copy(element.ns() == from ? to : element.ns(), element.name());
  for (const xmpp::Attribute& a : element.attributes()) {
    if (a.ns.empty()) {
      copy.SetAttr(a.name, a.value);
    } else {
      copy.SetAttr(a.ns, a.name, a.value);
    }
  }
  for (const Element* child : element.Children())
    copy.AddChild(Renamespaced(*child, from, to));
  const std::string text = element.Text();
  if (!text.empty()) copy.AddText(text);
  return copy;
}

Element Content() {
  Element content(ns::kJingle, "content");
  content.SetAttr("name", "audio").SetAttr("creator", "initiator");
  return content;
}

Element Terminate(absl::string_view reason) {
  Element jingle(ns::kJingle, "jingle");
  jingle.SetAttr("action", "session-terminate");
  jingle.AddChild(ns::kJingle, "reason").AddChild(ns::kJingle, reason);
  return jingle;
}

}  // namespace

std::optional<Element> JingleOfGingle(absl::string_view type,
                                      absl::string_view sid,
                                      const std::vector<Element>& children) {
  std::optional<Element> jingle;
  if (type == "candidates" || type == "transport-info") {
    jingle.emplace(ns::kJingle, "jingle");
    jingle->SetAttr("action", "transport-info");
    Element& transport =
        jingle->AddChild(Content()).AddChild(ns::kGoogleP2p, "transport");
    for (const Element& child : children) {
      if (child.Is(ns::kGoogleP2p, "transport")) {
        for (const Element* c : child.Children()) transport.AddChild(*c);
      } else if (child.name() == "candidate") {
        transport.AddChild(
            Renamespaced(child, ns::kGoogleSession, ns::kGoogleP2p));
      }
    }
  } else if (type == "accept") {
    jingle.emplace(ns::kJingle, "jingle");
    jingle->SetAttr("action", "session-accept");
    Element& content = jingle->AddChild(Content());
    for (const Element& child : children) {
      if (!child.Is(ns::kGooglePhone, "description")) continue;
      Element description =
          Renamespaced(child, ns::kGooglePhone, ns::kJingleRtp);
      description.SetAttr("media", "audio");
      content.AddChild(std::move(description));
    }
    content.AddChild(ns::kGoogleP2p, "transport");
  } else if (type == "terminate") {
    jingle = Terminate("success");
  } else if (type == "reject") {
    jingle = Terminate("decline");
  } else if (type == "info") {
    jingle.emplace(ns::kJingle, "jingle");
    jingle->SetAttr("action", "session-info");
    for (const Element& child : children) jingle->AddChild(child);
  }
  if (jingle) jingle->SetAttr("sid", sid);
  return jingle;
}

Element GingleOfJingle(const Element& jingle, absl::string_view initiator) {
  const std::string action = jingle.AttrOr("action", "");
  Element session(ns::kGoogleSession, "session");
  session.SetAttr("id", jingle.AttrOr("sid", ""))
      .SetAttr("initiator", initiator);
  std::string type = action;
  if (action == "transport-info") {
    type = "candidates";
    for (const Element* content : jingle.FindChildren(ns::kJingle, "content")) {
      for (const Element* transport :
           content->FindChildren(ns::kGoogleP2p, "transport")) {
        for (const Element* c :
             transport->FindChildren(ns::kGoogleP2p, "candidate")) {
          session.AddChild(
              Renamespaced(*c, ns::kGoogleP2p, ns::kGoogleSession));
        }
      }
    }
  } else if (action == "session-accept") {
    type = "accept";
    for (const Element* content : jingle.FindChildren(ns::kJingle, "content")) {
      if (const Element* rtp =
              content->FindChild(ns::kJingleRtp, "description")) {
        Element phone = Renamespaced(*rtp, ns::kJingleRtp, ns::kGooglePhone);
        phone.RemoveAttr("media");
        session.AddChild(std::move(phone));
      }
    }
  } else if (action == "session-terminate") {
    type = "terminate";
    // The reason's condition (success, decline, ...) names why it ended.
    if (const Element* reason = jingle.FindChild(ns::kJingle, "reason")) {
      if (const Element* condition = reason->FirstChild())
        session.AddChild(ns::kGoogleSession, condition->name());
    }
  } else if (action == "session-info") {
    type = "info";
  }
  session.SetAttr("type", type);
  return session;
}

}  // namespace talkcheck::reference_client
