// ClientStream's login, after the transport is up: the stream header (and its
// restarts), STARTTLS and the TLS handshake, SASL (SCRAM-SHA-1 or PLAIN),
// resource binding and the RFC 3921 session, until the stream is ready.
#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/ssl.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "reference_client/client_stream.h"
#include "reference_client/client_stream_impl.h"
#include "reference_client/scram_client.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

namespace talkcheck::reference_client {

namespace asio = boost::asio;
using asio::ip::tcp;
using client_stream_internal::RandomString;
using xmpp::Element;
namespace ns = xmpp::ns;

namespace {

constexpr char kBase64Alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The SASL failure's condition and text.
std::string SaslFailureText(const Element& failure) {
  std::string condition = "failure";
  std::string text;
  for (const Element* child : failure.Children()) {
    if (child->name() == "text") {
      text = child->Text();
    } else {
      condition = child->name();
    }
  }
  return text.empty() ? condition : absl::StrCat(condition, ": ", text);
}

}  // namespace

void ClientStream::Impl::SendHeader() {
  phase_ = Phase::kAwaitFeatures;
  framer_.Reset();
  Write(absl::StrCat("<?xml version='1.0'?><stream:stream to='",
                     xmpp::EscapeAttribute(options_.jid.domain()), "' xmlns='",
                     ns::kClient, "' xmlns:stream='", ns::kStream,
                     "' version='1.0'>"));
}

void ClientStream::Impl::HandleFeatures(const Element& features) {
  const Element* starttls = features.FindChild(ns::kTls, "starttls");
  if (!tls_active_) {
    // A pipe stays in the clear: with require_tls off, STARTTLS is optional.
    if (starttls != nullptr && pipe_ == nullptr) {
      phase_ = Phase::kAwaitProceed;
      WriteElement(Element(ns::kTls, "starttls"));
      return;
    }
    if (options_.require_tls) {
      return Finish(absl::FailedPreconditionError(
          "the server does not offer STARTTLS and TLS is required"));
    }
  }
  if (!authenticated_) {
    const Element* mechanisms = features.FindChild(ns::kSasl, "mechanisms");
    if (mechanisms == nullptr) {
      return Finish(absl::FailedPreconditionError("the server offers no SASL"));
    }
    return StartSasl(*mechanisms);
  }
  if (features.FindChild(ns::kBind, "bind") == nullptr) {
    return Finish(
        absl::FailedPreconditionError("the server offers no resource binding"));
  }
  const Element* session = features.FindChild(ns::kSession, "session");
  session_required_ = session != nullptr &&
                      session->FindChild(ns::kSession, "optional") == nullptr;
  StartBind();
}

void ClientStream::Impl::StartTls() {
  phase_ = Phase::kTlsHandshake;
  // The fake server's certificate is self-signed and made at start, so there is
  // nothing to verify it against: the reference client talks only to
  // talkcheck's own server, and TLS here proves the client can negotiate it,
  // not identity.
  tls_context_ =
      std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  tls_context_->set_verify_mode(asio::ssl::verify_none);
  tls_ = std::make_unique<asio::ssl::stream<tcp::socket&>>(*socket_,
                                                           *tls_context_);
  SSL_set_tlsext_host_name(tls_->native_handle(),
                           options_.jid.domain().c_str());
  // <starttls/> may still be in flight: the handshake starts once it is out.
  if (!writing_) {
    tls_->async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this()](const boost::system::error_code& ec) {
          self->OnHandshake(ec);
        });
  }
}

void ClientStream::Impl::OnHandshake(const boost::system::error_code& ec) {
  if (phase_ != Phase::kTlsHandshake) return;
  if (ec) {
    return Finish(absl::UnavailableError(
        absl::StrCat("TLS handshake failed: ", ec.message())));
  }
  tls_active_ = true;
  SendHeader();
  DoRead();
}

void ClientStream::Impl::StartSasl(const Element& mechanisms) {
  std::vector<std::string> offered;
  for (const Element* mechanism :
       mechanisms.FindChildren(ns::kSasl, "mechanism")) {
    offered.push_back(mechanism->Text());
  }
  if (std::find(offered.begin(), offered.end(), options_.sasl_mechanism) ==
      offered.end()) {
    return Finish(absl::FailedPreconditionError(
        absl::StrCat("the server does not offer ", options_.sasl_mechanism,
                     " (offered: ", absl::StrJoin(offered, ", "), ")")));
  }
  std::string initial;
  if (options_.sasl_mechanism == "SCRAM-SHA-1") {
    scram_ = std::make_unique<ScramSha1Client>(
        options_.jid.local(), options_.password,
        RandomString(bitgen_, absl::string_view(kBase64Alphabet, 64), 24));
    initial = scram_->ClientFirstMessage();
  } else if (options_.sasl_mechanism == "PLAIN") {
    initial = absl::StrCat(std::string(1, '\0'), options_.jid.local(),
                           std::string(1, '\0'), options_.password);
  } else {
    return Finish(absl::InvalidArgumentError(
        absl::StrCat("unsupported SASL mechanism ", options_.sasl_mechanism)));
  }
  phase_ = Phase::kSasl;
  Element auth(ns::kSasl, "auth");
  auth.SetAttr("mechanism", options_.sasl_mechanism);
  auth.SetText(absl::Base64Escape(initial));
  WriteElement(std::move(auth));
}

void ClientStream::Impl::HandleSasl(const Element& element) {
  std::string data;
  if (element.ns() != ns::kSasl ||
      !absl::Base64Unescape(element.Text(), &data)) {
    return Finish(absl::UnavailableError(
        absl::StrCat("unexpected <", element.name(), "/> during SASL")));
  }
  if (element.name() == "failure") {
    return Finish(absl::UnauthenticatedError(
        absl::StrCat("SASL failed: ", SaslFailureText(element))));
  }
  if (element.name() == "challenge") {
    if (scram_ == nullptr) {
      return Finish(absl::UnavailableError("unexpected SASL challenge"));
    }
    Element response(ns::kSasl, "response");
    if (!scram_final_sent_) {
      absl::StatusOr<std::string> final = scram_->ClientFinalMessage(data);
      if (!final.ok()) {
        WriteElement(Element(ns::kSasl, "abort"));
        close_after_write_ = true;
        return Finish(absl::UnauthenticatedError(final.status().message()));
      }
      scram_final_sent_ = true;
      response.SetText(absl::Base64Escape(*final));
    } else if (!server_final_verified_) {
      // Server-final as a challenge (RFC 6120 §6.4.4 allows both forms).
      absl::Status verified = scram_->VerifyServerFinal(data);
      if (!verified.ok()) {
        WriteElement(Element(ns::kSasl, "abort"));
        close_after_write_ = true;
        return Finish(verified);
      }
      server_final_verified_ = true;
    } else {
      return Finish(absl::UnavailableError("extra SASL challenge"));
    }
    WriteElement(std::move(response));
    return;
  }
  if (element.name() == "success") {
    if (scram_ != nullptr && !server_final_verified_) {
      // A server that cannot prove it knows the password is not the server we
      // logged in to: end the stream in order instead of carrying on.
      absl::Status verified = scram_->VerifyServerFinal(data);
      if (!verified.ok()) {
        Write("</stream:stream>");
        close_after_write_ = true;
        return Finish(verified);
      }
    }
    scram_.reset();
    authenticated_ = true;
    SendHeader();  // RFC 6120 §6.4.6: restart over the same connection
    return;
  }
  Finish(absl::UnavailableError(
      absl::StrCat("unexpected <", element.name(), "/> during SASL")));
}

void ClientStream::Impl::StartBind() {
  phase_ = Phase::kBinding;
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "set");
  Element& bind = iq.AddChild(ns::kBind, "bind");
  if (!options_.jid.resource().empty()) {
    bind.AddChild(ns::kBind, "resource").SetText(options_.jid.resource());
  }
  SendIq(std::move(iq), options_.login_timeout,
         [weak = weak_from_this(), this](absl::StatusOr<Element> reply) {
           auto self = weak.lock();
           if (!self || phase_ != Phase::kBinding) return;
           if (!reply.ok()) return Finish(reply.status());
           const Element* bind = reply->FindChild(ns::kBind, "bind");
           const Element* jid =
               bind != nullptr ? bind->FindChild(ns::kBind, "jid") : nullptr;
           if (reply->AttrOr("type", "") != "result" || jid == nullptr) {
             return Finish(absl::UnavailableError(
                 absl::StrCat("bind failed: ", reply->ToString())));
           }
           absl::StatusOr<xmpp::Jid> bound = xmpp::Jid::Parse(jid->Text());
           if (!bound.ok() || bound->is_bare()) {
             return Finish(absl::UnavailableError(
                 absl::StrCat("bind returned a bad JID: ", jid->Text())));
           }
           bound_jid_ = *std::move(bound);
           if (session_required_) return StartSession();
           BecomeReady();
         });
}

void ClientStream::Impl::StartSession() {
  Element iq(ns::kClient, "iq");
  iq.SetAttr("type", "set");
  iq.AddChild(ns::kSession, "session");
  SendIq(std::move(iq), options_.login_timeout,
         [weak = weak_from_this(), this](absl::StatusOr<Element> reply) {
           auto self = weak.lock();
           if (!self || phase_ != Phase::kBinding) return;
           if (!reply.ok()) return Finish(reply.status());
           if (reply->AttrOr("type", "") != "result") {
             return Finish(absl::UnavailableError(
                 absl::StrCat("session failed: ", reply->ToString())));
           }
           BecomeReady();
         });
}

void ClientStream::Impl::BecomeReady() {
  phase_ = Phase::kReady;
  login_timer_.reset();
  if (auto on_ready = std::exchange(on_ready_, nullptr)) {
    on_ready(absl::OkStatus());
  }
}

}  // namespace talkcheck::reference_client
