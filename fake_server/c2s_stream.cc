#include "fake_server/c2s_stream.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/random/distributions.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "xmpp/namespaces.h"

namespace talkcheck::fake_server {
namespace {

using xmpp::Element;
using xmpp::StreamCondition;
namespace ns = xmpp::ns;

// RFC 6120 §6.4.5: a configurable number of SASL retries, at least 2 and at
// most 5.
constexpr int kMaxSaslAttempts = 3;

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// The framer's limits before (`authenticated` false) and after SASL success.
xmpp::FramerLimits FramerLimitsFor(const Limits& limits, bool authenticated) {
  xmpp::FramerLimits framer;
  framer.max_element_bytes = limits.max_stanza_bytes();
  framer.max_attributes = limits.max_attributes();
  framer.max_name_bytes = limits.max_name_bytes();
  if (!authenticated) {
    framer.max_element_bytes = std::min<uint64_t>(
        framer.max_element_bytes, limits.max_stanza_bytes_before_auth());
    framer.max_attributes = std::min<uint64_t>(
        framer.max_attributes, limits.max_attributes_before_auth());
  }
  return framer;
}

bool IsStanza(const Element& e) {
  return e.ns() == ns::kClient &&
         (e.name() == "iq" || e.name() == "message" || e.name() == "presence");
}

Element IqError(const Element& iq, absl::string_view type,
                absl::string_view condition) {
  Element reply(ns::kClient, "iq");
  reply.SetAttr("type", "error");
  if (const std::string* id = iq.Attr("id")) reply.SetAttr("id", *id);
  for (const Element* child : iq.Children()) reply.AddChild(*child);
  Element& error = reply.AddChild(ns::kClient, "error");
  error.SetAttr("type", type);
  error.AddChild(ns::kStanzas, condition);
  return reply;
}

}  // namespace

C2sStream::C2sStream(const ServerConfig& config, Router& router, Clock& clock,
                     Transport& transport, absl::BitGenRef bitgen)
    : config_(config),
      router_(router),
      clock_(clock),
      transport_(transport),
      bitgen_(bitgen),
      framer_(FramerLimitsFor(config.limits(), /*authenticated=*/false)) {}

C2sStream::~C2sStream() {
  if (bound_) router_.Unbind(jid_);
}

void C2sStream::Note(LoginEvent::Kind kind, std::string detail) {
  if (login_stream_ == 0) login_stream_ = router_.NewLoginStream();
  router_.NoteLogin(login_stream_, kind, std::move(detail));
}

void C2sStream::Start() {
  Note(LoginEvent::Kind::kConnected);
  auth_timer_ = clock_.CallAfter(
      absl::Milliseconds(config_.limits().auth_timeout_ms()), [this] {
        FailStream(StreamCondition::kConnectionTimeout,
                   absl::StrCat("authentication not completed within ",
                                config_.limits().auth_timeout_ms(), " ms"));
      });
  ArmIdleTimer();
}

void C2sStream::RejectAtStart(StreamCondition condition,
                              absl::string_view text) {
  Note(LoginEvent::Kind::kConnected);
  FailStream(condition, text);
}

void C2sStream::EndWithError(StreamCondition condition,
                             absl::string_view text) {
  FailStream(condition, text);
}

void C2sStream::ArmIdleTimer() {
  idle_timer_ = clock_.CallAfter(
      absl::Milliseconds(config_.limits().idle_timeout_ms()), [this] {
        FailStream(StreamCondition::kConnectionTimeout,
                   absl::StrCat("no data for ",
                                config_.limits().idle_timeout_ms(), " ms"));
      });
}

void C2sStream::OnBytes(absl::string_view data) {
  if (state_ == State::kClosed || state_ == State::kTlsHandshake) return;
  ArmIdleTimer();
  std::vector<xmpp::StreamFramer::Event> events;
  absl::Status status = framer_.Feed(data, events);
  for (auto& event : events) {
    // A handler may close the stream or restart it (STARTTLS, SASL success);
    // events framed after that point belong to a stream that no longer exists.
    if (state_ == State::kClosed || state_ == State::kTlsHandshake) return;
    switch (event.type) {
      case xmpp::StreamFramer::EventType::kStreamOpen:
        HandleHeader(event.header);
        break;
      case xmpp::StreamFramer::EventType::kElement: {
        absl::StatusOr<Element> element =
            xmpp::ParseElement(event.xml, framer_.scope());
        if (!element.ok()) {
          FailStream(element.status());
          return;
        }
        HandleElement(*std::move(element));
        break;
      }
      case xmpp::StreamFramer::EventType::kStreamClose:
        CloseStream();
        return;
    }
  }
  if (!status.ok() && state_ != State::kClosed) {
    FailStream(status);
    return;
  }
  ArmStanzaTimer();
}

void C2sStream::OnElement(Element element) {
  if (state_ == State::kClosed || state_ == State::kTlsHandshake) return;
  ArmIdleTimer();
  if (state_ != State::kOpen || framer_.mid_construct()) {
    // Where bytes would have been framed: no header yet, or inside another
    // element.
    FailStream(StreamCondition::kNotWellFormed,
               "an element outside the stream's top level");
    return;
  }
  HandleElement(std::move(element));
  ArmStanzaTimer();
}

void C2sStream::ArmStanzaTimer() {
  if (state_ != State::kOpen && state_ != State::kAwaitHeader) return;
  if (!framer_.mid_construct()) {
    stanza_timer_.reset();
    return;
  }
  if (stanza_timer_ != nullptr) return;  // counting since its first bytes
  // The idle timer is re-armed by every byte, so a stanza trickled a byte at a
  // time would never end without this bound (issue 13).
  stanza_timer_ = clock_.CallAfter(
      absl::Milliseconds(config_.limits().stanza_timeout_ms()), [this] {
        FailStream(StreamCondition::kConnectionTimeout,
                   absl::StrCat("an element took longer than ",
                                config_.limits().stanza_timeout_ms(),
                                " ms to arrive"));
      });
}

void C2sStream::OnTlsEstablished() {
  if (state_ != State::kTlsHandshake) return;
  tls_active_ = true;
  state_ = State::kAwaitHeader;
  Note(LoginEvent::Kind::kTlsEstablished);
}

void C2sStream::OnTransportClosed() {
  if (login_stream_ != 0 && state_ != State::kClosed)
    Note(LoginEvent::Kind::kClosed, "by the client");
  state_ = State::kClosed;
  EndSession();
}

void C2sStream::EndSession() {
  auth_timer_.reset();
  idle_timer_.reset();
  stanza_timer_.reset();
  if (bound_) {
    bound_ = false;
    router_.Unbind(jid_);
  }
}

void C2sStream::HandleHeader(const Element& header) {
  // RFC 6120 §4.8.1, §4.9.3.10: the stream element and its content namespace.
  if (!header.Is(ns::kStream, "stream")) {
    FailStream(StreamCondition::kInvalidNamespace,
               absl::StrCat("stream element must be {", ns::kStream,
                            "}stream, not {", header.ns(), "}", header.name()));
    return;
  }
  const std::string* content_ns = framer_.scope().Lookup("");
  if (content_ns == nullptr || *content_ns != ns::kClient) {
    FailStream(StreamCondition::kInvalidNamespace,
               absl::StrCat("content namespace must be ", ns::kClient));
    return;
  }
  if (const std::string* to = header.Attr("to");
      to != nullptr && absl::AsciiStrToLower(*to) != config_.domain()) {
    FailStream(
        StreamCondition::kHostUnknown,
        absl::StrCat("this server is ", config_.domain(), ", not ", *to));
    return;
  }
  // RFC 6120 §4.7.5: only major version 1 is spoken; no version means a pre-RFC
  // client expecting jabber:iq:auth, which this server does not offer.
  const std::string version = header.AttrOr("version", "");
  if (version.empty() || version.substr(0, 2) != "1.") {
    FailStream(StreamCondition::kUnsupportedVersion,
               absl::StrCat("stream version '", version, "' is not 1.x"));
    return;
  }
  state_ = State::kOpen;
  Note(LoginEvent::Kind::kStreamHeader);
  SendStreamHeader();
  SendFeatures();
}

void C2sStream::SendStreamHeader() {
  header_sent_ = true;
  transport_.Write(absl::StrCat("<?xml version='1.0'?><stream:stream xmlns='",
                                ns::kClient, "' xmlns:stream='", ns::kStream,
                                "' id='", RandomToken(16), "' from='",
                                xmpp::EscapeAttribute(config_.domain()),
                                "' version='1.0' xml:lang='en'>"));
}

bool C2sStream::TlsRequiredButMissing() const {
  return config_.tls() == ServerConfig::TLS_REQUIRED && !tls_active_;
}

void C2sStream::SendFeatures() {
  Element features(ns::kStream, "features");
  const bool offer_tls = config_.tls() != ServerConfig::TLS_OFF &&
                         !tls_active_ && transport_.CanStartTls();
  if (!authenticated()) {
    if (offer_tls) {
      Element& starttls = features.AddChild(ns::kTls, "starttls");
      if (config_.tls() == ServerConfig::TLS_REQUIRED)
        starttls.AddChild(ns::kTls, "required");
    }
    // RFC 6120 §5.3.1: with TLS mandatory-to-negotiate, STARTTLS is the only
    // feature.
    if (!TlsRequiredButMissing()) {
      Element& mechanisms = features.AddChild(ns::kSasl, "mechanisms");
      for (const std::string& name : SupportedSaslMechanisms())
        mechanisms.AddChild(ns::kSasl, "mechanism").SetText(name);
    }
  } else if (!bound_) {
    features.AddChild(ns::kBind, "bind");
    // RFC 3921 session establishment, marked optional (rfc3921bis) for new
    // clients.
    features.AddChild(ns::kSession, "session")
        .AddChild(ns::kSession, "optional");
  }
  transport_.WriteElement(std::move(features));
}

void C2sStream::HandleElement(Element element) {
  if (element.Is(ns::kTls, "starttls")) return HandleStartTls();
  if (element.Is(ns::kSasl, "auth")) return HandleAuth(element);
  if (element.Is(ns::kSasl, "response")) return HandleSaslResponse(element);
  if (element.Is(ns::kSasl, "abort")) {
    sasl_.reset();
    return SendSaslFailure("aborted", "");
  }
  if (!IsStanza(element)) {
    FailStream(StreamCondition::kUnsupportedStanzaType,
               absl::StrCat("unexpected element {", element.ns(), "}",
                            element.name()));
    return;
  }
  // RFC 6120 §4.9.3.12 and §7.1: no stanzas before authentication and binding.
  if (!authenticated()) {
    FailStream(StreamCondition::kNotAuthorized,
               absl::StrCat("<", element.name(), "> before authentication"));
    return;
  }
  if (!bound_) {
    const Element* bind = element.FindChild(ns::kBind, "bind");
    if (element.name() == "iq" && bind != nullptr) return HandleBind(element);
    FailStream(StreamCondition::kNotAuthorized,
               absl::StrCat("<", element.name(), "> before resource binding"));
    return;
  }
  HandleStanza(std::move(element));
}

void C2sStream::HandleStartTls() {
  if (authenticated() || tls_active_ ||
      config_.tls() == ServerConfig::TLS_OFF || !transport_.CanStartTls()) {
    // RFC 6120 §5.4.2.2: failure, then close the stream.
    Note(LoginEvent::Kind::kStartTls, "failure");
    transport_.Write(Element(ns::kTls, "failure").ToString());
    CloseStream();
    return;
  }
  Note(LoginEvent::Kind::kStartTls, "proceed");
  transport_.Write(Element(ns::kTls, "proceed").ToString());
  state_ = State::kTlsHandshake;
  framer_.Reset();
  transport_.StartTls();
}

void C2sStream::HandleAuth(const Element& auth) {
  if (authenticated()) {
    FailStream(StreamCondition::kPolicyViolation, "already authenticated");
    return;
  }
  Note(LoginEvent::Kind::kAuth, auth.AttrOr("mechanism", ""));
  if (TlsRequiredButMissing()) {
    return SendSaslFailure("encryption-required",
                           "STARTTLS is required before authentication");
  }
  absl::StatusOr<std::unique_ptr<SaslMechanism>> mechanism =
      CreateSaslMechanism(
          auth.AttrOr("mechanism", ""),
          [this](absl::string_view user) { return router_.PasswordOf(user); },
          // The salt too comes from the seeded generator, so that a seeded
          // run repeats byte for byte.
          ScramOptions{[this] { return RandomToken(24); }, RandomToken(16),
                       4096});
  if (!mechanism.ok()) {
    return SendSaslFailure(
        "invalid-mechanism",
        absl::StrCat("mechanism '", auth.AttrOr("mechanism", ""),
                     "' is not offered"));
  }
  sasl_ = *std::move(mechanism);
  // RFC 6120 §6.4.2: no text means no initial response; "=" means an empty one.
  std::string text = auth.Text();
  std::optional<std::string> initial;
  if (text == "=") {
    initial = "";
  } else if (!text.empty()) {
    std::string decoded;
    if (!absl::Base64Unescape(text, &decoded)) {
      sasl_.reset();
      return SendSaslFailure("incorrect-encoding",
                             "initial response is not base64");
    }
    initial = std::move(decoded);
  }
  FinishSaslStep(sasl_->Start(std::move(initial)));
}

void C2sStream::HandleSaslResponse(const Element& response) {
  if (sasl_ == nullptr) {
    FailStream(StreamCondition::kPolicyViolation,
               "<response/> without an authentication in progress");
    return;
  }
  std::string decoded;
  if (!absl::Base64Unescape(response.Text(), &decoded)) {
    sasl_.reset();
    return SendSaslFailure("incorrect-encoding", "response is not base64");
  }
  FinishSaslStep(sasl_->Continue(decoded));
}

void C2sStream::FinishSaslStep(const SaslStep& step) {
  switch (step.kind) {
    case SaslStep::Kind::kChallenge: {
      Element challenge(ns::kSasl, "challenge");
      if (!step.data.empty()) challenge.SetText(absl::Base64Escape(step.data));
      transport_.WriteElement(std::move(challenge));
      return;
    }
    case SaslStep::Kind::kFailure:
      sasl_.reset();
      SendSaslFailure(step.condition, step.text);
      return;
    case SaslStep::Kind::kSuccess: {
      Element success(ns::kSasl, "success");
      if (!step.data.empty()) success.SetText(absl::Base64Escape(step.data));
      username_ = sasl_->username();
      Note(LoginEvent::Kind::kAuthenticated, username_);
      sasl_.reset();
      auth_timer_.reset();
      transport_.WriteElement(std::move(success));
      // RFC 6120 §6.4.6: the client opens a new stream over the same
      // connection.
      framer_.Reset();
      framer_.set_limits(FramerLimitsFor(config_.limits(), true));
      state_ = State::kAwaitHeader;
      return;
    }
  }
}

void C2sStream::SendSaslFailure(absl::string_view condition,
                                absl::string_view text) {
  Note(LoginEvent::Kind::kAuthFailed,
       text.empty() ? std::string(condition)
                    : absl::StrCat(condition, " (", text, ")"));
  Element failure(ns::kSasl, "failure");
  failure.AddChild(ns::kSasl, condition);
  if (!text.empty()) failure.AddChild(ns::kSasl, "text").SetText(text);
  transport_.WriteElement(std::move(failure));
  if (condition != "aborted" && ++sasl_failures_ >= kMaxSaslAttempts) {
    FailStream(StreamCondition::kPolicyViolation,
               absl::StrCat(sasl_failures_, " failed authentication attempts"));
  }
}

void C2sStream::HandleBind(const Element& iq) {
  if (iq.AttrOr("type", "") != "set") {
    transport_.WriteElement(IqError(iq, "modify", "bad-request"));
    return;
  }
  const Element* bind = iq.FindChild(ns::kBind, "bind");
  const Element* resource_element = bind->FindChild(ns::kBind, "resource");
  std::string resource =
      resource_element != nullptr ? resource_element->Text() : std::string();
  if (resource.empty()) resource = absl::StrCat("talkcheck-", RandomToken(8));

  absl::StatusOr<xmpp::Jid> jid =
      xmpp::Jid::Create(username_, config_.domain(), resource);
  if (!jid.ok()) {
    transport_.WriteElement(IqError(iq, "modify", "bad-request"));
    return;
  }
  absl::Status bound = router_.Bind(*jid, this);
  if (!bound.ok()) {
    Note(LoginEvent::Kind::kBindFailed,
         absl::IsAlreadyExists(bound) ? "conflict" : "not-allowed");
  }
  if (absl::IsAlreadyExists(bound)) {
    // RFC 6120 §7.7.2.2: refuse the new resource with <conflict/>.
    transport_.WriteElement(IqError(iq, "cancel", "conflict"));
    return;
  }
  if (!bound.ok()) {
    transport_.WriteElement(IqError(iq, "cancel", "not-allowed"));
    return;
  }
  jid_ = *std::move(jid);
  bound_ = true;
  Note(LoginEvent::Kind::kBound, jid_.ToString());
  Element reply(ns::kClient, "iq");
  reply.SetAttr("type", "result").SetAttr("id", iq.AttrOr("id", ""));
  reply.AddChild(ns::kBind, "bind")
      .AddChild(ns::kBind, "jid")
      .SetText(jid_.ToString());
  transport_.WriteElement(std::move(reply));
}

void C2sStream::HandleStanza(Element stanza) {
  // RFC 6120 §8.1.2.1: a `from` other than the client's own JID is refused.
  if (const std::string* from = stanza.Attr("from")) {
    absl::StatusOr<xmpp::Jid> claimed = xmpp::Jid::Parse(*from);
    if (!claimed.ok() || !(*claimed == jid_ || *claimed == jid_.Bare())) {
      FailStream(StreamCondition::kInvalidFrom,
                 absl::StrCat("'from' is ", *from, " but this stream is ",
                              jid_.ToString()));
      return;
    }
  }
  router_.RouteFromClient(jid_, std::move(stanza));
}

void C2sStream::Deliver(Element stanza) {
  if (state_ == State::kClosed) return;
  if (transport_.TakesElements()) {
    return transport_.WriteElement(std::move(stanza));
  }
  std::string bytes = stanza.ToString();
  const uint64_t limit = config_.limits().max_output_queue_bytes();
  if (transport_.QueuedBytes() + bytes.size() > limit) {
    // A client that does not read must not make the server hold everything
    // routed to it (issue 13). policy-violation (RFC 6120 §4.9.3.14): the
    // client broke a local rule (keep reading); resource-constraint would
    // tell it the server is short of resources, which it is not. Unsent
    // stanzas are dropped so the error can go out next, and the transport
    // closes after a short linger even if the client never reads it.
    transport_.DiscardQueued();
    FailStream(StreamCondition::kPolicyViolation,
               absl::StrCat("more than ", limit,
                            " bytes waiting for the client to read them"));
    return;
  }
  transport_.Write(std::move(bytes));
}

void C2sStream::Kick(absl::string_view reason) {
  FailStream(StreamCondition::kConflict, reason);
}

void C2sStream::FailStream(const absl::Status& status) {
  FailStream(xmpp::GetStreamCondition(status).value_or(
                 StreamCondition::kNotWellFormed),
             status.message());
}

void C2sStream::FailStream(StreamCondition condition, absl::string_view text) {
  if (state_ == State::kClosed) return;
  Note(LoginEvent::Kind::kStreamError,
       text.empty() ? std::string(xmpp::StreamConditionName(condition))
                    : absl::StrCat(xmpp::StreamConditionName(condition), " (",
                                   text, ")"));
  if (state_ == State::kTlsHandshake) {
    // After <proceed/> the bytes belong to TLS, which is not up yet: nothing
    // can be said in the clear any more, so the connection just goes (e.g. a
    // client that sends no ClientHello, reaped by the authentication timer).
    state_ = State::kClosed;
    EndSession();
    transport_.Close();
    return;
  }
  // RFC 6120 §4.9.1.1: an error before the stream is open still opens it first.
  if (!header_sent_) SendStreamHeader();
  Element error(ns::kStream, "error");
  error.AddChild(ns::kStreams, xmpp::StreamConditionName(condition));
  if (!text.empty()) {
    error.AddChild(ns::kStreams, "text")
        .SetAttr(ns::kXml, "lang", "en")
        .SetText(text);
  }
  transport_.Write(absl::StrCat(error.ToString(), "</stream:stream>"));
  state_ = State::kClosed;
  EndSession();
  transport_.Close();
}

void C2sStream::CloseStream() {
  if (state_ == State::kClosed) return;
  Note(LoginEvent::Kind::kClosed, "stream closed");
  if (!header_sent_) SendStreamHeader();
  transport_.Write("</stream:stream>");
  state_ = State::kClosed;
  EndSession();
  transport_.Close();
}

std::string C2sStream::RandomToken(int length) {
  std::string token(length, 'A');
  for (char& c : token) {
    c = kBase64Alphabet[absl::Uniform<size_t>(bitgen_, 0,
                                              sizeof(kBase64Alphabet) - 1)];
  }
  return token;
}

}  // namespace talkcheck::fake_server
