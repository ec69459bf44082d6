// Namespace URIs talkcheck speaks, in one place.
#ifndef TALKCHECK_XMPP_NAMESPACES_H_
#define TALKCHECK_XMPP_NAMESPACES_H_

namespace talkcheck::xmpp::ns {

// RFC 6120 / 6121 core.
inline constexpr char kClient[] = "jabber:client";
inline constexpr char kStream[] = "http://etherx.jabber.org/streams";
inline constexpr char kStreams[] = "urn:ietf:params:xml:ns:xmpp-streams";
inline constexpr char kStanzas[] = "urn:ietf:params:xml:ns:xmpp-stanzas";
inline constexpr char kTls[] = "urn:ietf:params:xml:ns:xmpp-tls";
inline constexpr char kSasl[] = "urn:ietf:params:xml:ns:xmpp-sasl";
inline constexpr char kBind[] = "urn:ietf:params:xml:ns:xmpp-bind";
inline constexpr char kSession[] = "urn:ietf:params:xml:ns:xmpp-session";
inline constexpr char kRoster[] = "jabber:iq:roster";
inline constexpr char kXml[] = "http://www.w3.org/XML/1998/namespace";
inline constexpr char kXmlns[] = "http://www.w3.org/2000/xmlns/";

// XEPs.
inline constexpr char kDiscoInfo[] = "http://jabber.org/protocol/disco#info";
inline constexpr char kDiscoItems[] = "http://jabber.org/protocol/disco#items";
inline constexpr char kCaps[] = "http://jabber.org/protocol/caps";
inline constexpr char kPing[] = "urn:xmpp:ping";
inline constexpr char kDelay[] = "urn:xmpp:delay";
inline constexpr char kLegacyDelay[] = "jabber:x:delay";

// Jingle (XEP-0166 / XEP-0167) as libjingle >= 0.5 speaks it in a hybrid (G3)
// session, with Google's p2p transport inside each <content> (PROTOCOL.md
// §0.1, §11; LJ13 talk/p2p/base/constants.cc NS_JINGLE, NS_JINGLE_RTP).
inline constexpr char kJingle[] = "urn:xmpp:jingle:1";
inline constexpr char kJingleRtp[] = "urn:xmpp:jingle:apps:rtp:1";

// Google Talk (PROTOCOL.md §0.1, §5, §7).
inline constexpr char kGoogleSession[] = "http://www.google.com/session";
inline constexpr char kGooglePhone[] = "http://www.google.com/session/phone";
inline constexpr char kGoogleVideo[] = "http://www.google.com/session/video";
inline constexpr char kGoogleP2p[] = "http://www.google.com/transport/p2p";
inline constexpr char kJingleInfo[] = "google:jingleinfo";
inline constexpr char kGoogleCapsNode[] =
    "http://www.google.com/xmpp/client/caps";
inline constexpr char kGoogleVoiceV1[] =
    "http://www.google.com/xmpp/protocol/voice/v1";
inline constexpr char kGoogleVideoV1[] =
    "http://www.google.com/xmpp/protocol/video/v1";
inline constexpr char kGoogleCameraV1[] =
    "http://www.google.com/xmpp/protocol/camera/v1";

}  // namespace talkcheck::xmpp::ns

#endif  // TALKCHECK_XMPP_NAMESPACES_H_
