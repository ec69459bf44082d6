// The bad-input suite's session cases: hostile timing and hostile use of the
// protocol after the bytes parse (half-open STARTTLS, slowloris, a client that
// never reads, SASL abuse, bind conflicts, malformed iqs, floods, vanishing
// mid-stanza), each with the answer RFC 6120 (or RFC 6121) names for it.
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "fake_server/config.pb.h"
#include "fake_server/router.h"
#include "tests/hostile_case.h"
#include "tests/stream_checks.h"
#include "xmpp/element.h"
#include "xmpp/jid.h"
#include "xmpp/namespaces.h"

namespace talkcheck::integration {
namespace {

using fake_server::ServerConfig;
using xmpp::Element;
namespace ns = xmpp::ns;
using Result = ::testing::AssertionResult;
using ClientOr = absl::StatusOr<std::unique_ptr<RawClient>>;

// Short enough that the timeout cases end quickly, long enough for the
// witness's login on a loaded machine.
constexpr uint32_t kShortTimeoutMs = 500;

constexpr char kSaslNs[] = "urn:ietf:params:xml:ns:xmpp-sasl";

std::string Auth(absl::string_view mechanism, absl::string_view text) {
  return absl::StrCat("<auth xmlns='", kSaslNs, "' mechanism='", mechanism,
                      "'>", text, "</auth>");
}

// Sends `bytes` one at a time, `gap` apart, until the server closes or all
// are sent.
void Trickle(RawClient& client, absl::string_view bytes,
             std::chrono::milliseconds gap) {
  for (char c : bytes) {
    if (!client.SendRaw(absl::string_view(&c, 1)).ok()) return;
    std::this_thread::sleep_for(gap);
  }
}

// The login log noted `condition` as a stream error.
Result LoginLogNotes(TestServer& server, absl::string_view condition) {
  const bool noted = server.RunOnServerThread([&server, condition] {
    for (const fake_server::LoginEvent& event :
         server.server().router().login_log()) {
      if (event.kind == fake_server::LoginEvent::Kind::kStreamError &&
          absl::StartsWith(event.detail, condition)) {
        return true;
      }
    }
    return false;
  });
  if (noted) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "the login log has no stream error " << condition;
}

// A half-open STARTTLS: <proceed/> then `after_proceed` and silence. Nothing
// can be said in the clear after <proceed/>, so the auth timeout closes the
// connection without a stream error (noted in the login log).
HostileCase HalfOpenStartTls(const char* name, std::string after_proceed) {
  return {name, "issue 13 §1; RFC 6120 §5.4.3, §4.9.3.4",
          [](ServerConfig& config) {
            config.set_tls(ServerConfig::TLS_OPTIONAL);
            config.mutable_limits()->set_auth_timeout_ms(kShortTimeoutMs);
          },
          [after_proceed](Attacker& attacker) -> Result {
            ClientOr client = attacker.At(Stage::kStreamOpen);
            if (!client.ok()) return SetupFailed("attacker", client.status());
            (*client)
                ->SendRaw("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
                .IgnoreError();
            if (!(*client)->ReadUntil("<proceed").ok()) {
              return ::testing::AssertionFailure()
                     << "no <proceed/>: " << (*client)->transcript();
            }
            (*client)->SendRaw(after_proceed).IgnoreError();
            absl::StatusOr<std::string> rest = (*client)->ReadAllUntilClosed();
            if (!rest.ok()) {
              return ::testing::AssertionFailure()
                     << "half-open STARTTLS never reaped: " << rest.status();
            }
            return LoginLogNotes(attacker.server(), "connection-timeout");
          }};
}

// The peer sends `sink` 8 KiB messages until the server closes it.
void FloodFromPeer(TestServer& server, const xmpp::Jid& sink) {
  for (int batch = 0; batch < 400; ++batch) {
    const bool bound = server.RunOnServerThread([&server, &sink] {
      for (int i = 0; i < 20; ++i) {
        Element message(ns::kClient, "message");
        message.SetAttr("to", sink.ToString());
        message.AddChild(ns::kClient, "body").SetText(std::string(8192, 'x'));
        server.server().router().RouteFromClient(server.peer_jid(), message);
      }
      return server.server().router().IsBound(sink);
    });
    if (!bound) return;
  }
}

// The client at kLoggedIn sends `iq` and gets the stanza error
// (`type`, `condition`) for id `id`; its stream stays up.
HostileCase IqErrorCase(const char* name, const char* rule, std::string iq,
                        std::string id, const char* type,
                        const char* condition) {
  return {name, rule, nullptr,
          [iq, id, type, condition](Attacker& attacker) -> Result {
            ClientOr client = attacker.At(Stage::kLoggedIn);
            if (!client.ok()) return SetupFailed("attacker", client.status());
            if (!(*client)->SendRaw(iq).ok()) {
              return ::testing::AssertionFailure() << "send failed";
            }
            Result error = IqError(**client, id, type, condition);
            if (!error) return error;
            if (absl::Status ping = (*client)->Ping("after"); !ping.ok()) {
              return ::testing::AssertionFailure()
                     << "the stream did not survive: " << ping;
            }
            return ::testing::AssertionSuccess();
          }};
}

// A client at kLoggedIn sends `bytes`, expects no error and a live stream.
HostileCase Tolerated(const char* name, const char* rule, std::string bytes) {
  return {name, rule, nullptr, [bytes](Attacker& attacker) -> Result {
            ClientOr client = attacker.At(Stage::kLoggedIn);
            if (!client.ok()) return SetupFailed("attacker", client.status());
            if (!(*client)->SendRaw(bytes).ok()) {
              return ::testing::AssertionFailure() << "send failed";
            }
            if (absl::Status ping = (*client)->Ping("after"); !ping.ok()) {
              return ::testing::AssertionFailure()
                     << "the stream did not survive: " << ping;
            }
            if (absl::StrContains((*client)->transcript(), "<stream:error")) {
              return ::testing::AssertionFailure()
                     << "unexpected stream error: " << (*client)->transcript();
            }
            return ::testing::AssertionSuccess();
          }};
}

std::string Repeat(absl::string_view unit, int count) {
  std::string out;
  for (int i = 0; i < count; ++i) absl::StrAppend(&out, unit);
  return out;
}

// The r= value of a SCRAM server-first challenge read from `client`.
absl::StatusOr<std::string> ServerNonce(RawClient& client) {
  absl::StatusOr<Element> challenge = client.ReadElement();
  if (!challenge.ok()) return challenge.status();
  std::string decoded;
  if (!challenge->Is(ns::kSasl, "challenge") ||
      !absl::Base64Unescape(challenge->Text(), &decoded) ||
      !absl::StartsWith(decoded, "r=")) {
    return absl::InternalError(
        absl::StrCat("not a server-first: ", challenge->ToString()));
  }
  return decoded.substr(2, decoded.find(',') - 2);
}

std::string ScramClientFirst() {
  return Auth("SCRAM-SHA-1", absl::Base64Escape("n,,n=cut,r=hostileclient"));
}

}  // namespace

std::vector<HostileCase> SessionCases() {
  using S = Stage;
  return {
      // Issue 13 §1.
      HalfOpenStartTls("HalfOpenStartTlsSilent", ""),
      HalfOpenStartTls("HalfOpenStartTlsPartialClientHello",
                       std::string("\x16\x03\x01\x02\x00", 5)),
      {"SlowlorisAfterAuth", "issue 13 §1; RFC 6120 §4.9.3.4",
       [](ServerConfig& config) {
         config.mutable_limits()->set_stanza_timeout_ms(kShortTimeoutMs);
       },
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kLoggedIn);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         // ~120 bytes a 10 ms apart: over twice the 500 ms bound.
         Trickle(**client,
                 absl::StrCat("<message ", kToPeer, "><body>",
                              std::string(60, 'x')),
                 std::chrono::milliseconds(10));
         return StreamErrorThenClose(**client, "connection-timeout");
       }},
      {"SlowlorisBeforeAuth", "issue 13 §1; RFC 6120 §4.9.3.4",
       [](ServerConfig& config) {
         config.mutable_limits()->set_auth_timeout_ms(kShortTimeoutMs);
       },
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kConnected);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         Trickle(**client, kClientStreamHeader, std::chrono::milliseconds(10));
         return StreamErrorThenClose(**client, "connection-timeout");
       }},
      {"ClientThatNeverReads", "issue 13 §1; RFC 6120 §4.9.3.14",
       [](ServerConfig& config) {
         config.mutable_limits()->set_max_output_queue_bytes(64 * 1024);
       },
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kLoggedIn, "sink");
         if (!client.ok()) return SetupFailed("attacker", client.status());
         FloodFromPeer(attacker.server(),
                       *xmpp::Jid::Parse("cut@localhost/sink"));
         return StreamErrorThenClose(**client, "policy-violation");
       }},
      {"PreAuthSocketsHoldingTheLimit", "issue 13 §1; RFC 6120 §4.9.3.17",
       [](ServerConfig& config) {
         // The witness and three idle pre-auth sockets fill it.
         config.mutable_limits()->set_max_connections(4);
       },
       [](Attacker& attacker) -> Result {
         std::vector<std::unique_ptr<RawClient>> idle;
         for (int i = 0; i < 3; ++i) {
           ClientOr client = attacker.At(S::kStreamOpen);
           if (!client.ok()) return SetupFailed("idle", client.status());
           idle.push_back(*std::move(client));
         }
         ClientOr login = attacker.At(S::kLoggedIn, "late");
         if (!login.ok()) {
           return ::testing::AssertionFailure()
                  << "idle pre-auth sockets locked a login out: "
                  << login.status();
         }
         return StreamErrorThenClose(*idle[0], "resource-constraint");
       }},
      // Stanzas before the stream allows them (RFC 6120 §4.9.3.12, §7.1).
      StreamErrorCase("PresenceBeforeAuth", "RFC 6120 §4.9.3.12",
                      S::kStreamOpen, "<presence/>", "not-authorized"),
      StreamErrorCase(
          "IqBeforeBind", "RFC 6120 §4.9.3.12, §7.1", S::kAuthenticated,
          "<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>",
          "not-authorized"),
      // SASL (RFC 6120 §6.5).
      {"SaslBadBase64", "RFC 6120 §6.4.2, §6.5.2", nullptr,
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kStreamOpen);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         (*client)->SendRaw(Auth("PLAIN", "!!not*base64!!")).IgnoreError();
         return SaslFailure(**client, "incorrect-encoding");
       }},
      {"SaslNoMechanism", "RFC 6120 §6.5.6", nullptr,
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kStreamOpen);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         (*client)
             ->SendRaw(absl::StrCat("<auth xmlns='", kSaslNs, "'>AAAA</auth>"))
             .IgnoreError();
         return SaslFailure(**client, "invalid-mechanism");
       }},
      // RFC 4422 §3.1: mechanism names are upper case; "plain" is not
      // offered.
      {"SaslMechanismInLowerCase", "RFC 4422 §3.1; RFC 6120 §6.5.6", nullptr,
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kStreamOpen);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         (*client)
             ->SendRaw(Auth("plain", PlainCredentials(kCutUser, kCutPassword)))
             .IgnoreError();
         return SaslFailure(**client, "invalid-mechanism");
       }},
      {"SaslAbortedThenRetried", "RFC 6120 §6.4.4, §6.5.1, §6.4.5", nullptr,
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kStreamOpen);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         (*client)->SendRaw(ScramClientFirst()).IgnoreError();
         if (absl::StatusOr<std::string> nonce = ServerNonce(**client);
             !nonce.ok()) {
           return SetupFailed("SCRAM", nonce.status());
         }
         (*client)
             ->SendRaw(absl::StrCat("<abort xmlns='", kSaslNs, "'/>"))
             .IgnoreError();
         if (Result aborted = SaslFailure(**client, "aborted"); !aborted) {
           return aborted;
         }
         (*client)
             ->SendRaw(Auth("PLAIN", PlainCredentials(kCutUser, kCutPassword)))
             .IgnoreError();
         absl::StatusOr<Element> success = (*client)->ReadElement();
         if (!success.ok() || !success->Is(ns::kSasl, "success")) {
           return ::testing::AssertionFailure()
                  << "no retry after abort: " << (*client)->transcript();
         }
         return ::testing::AssertionSuccess();
       }},
      {"SaslReplayedNonce", "RFC 5802 §5.1; RFC 6120 §6.5.10", nullptr,
       [](Attacker& attacker) -> Result {
         // The nonce of one exchange, replayed in another.
         ClientOr first = attacker.At(S::kStreamOpen);
         ClientOr second = attacker.At(S::kStreamOpen);
         if (!first.ok()) return SetupFailed("first", first.status());
         if (!second.ok()) return SetupFailed("second", second.status());
         (*first)->SendRaw(ScramClientFirst()).IgnoreError();
         (*second)->SendRaw(ScramClientFirst()).IgnoreError();
         absl::StatusOr<std::string> old_nonce = ServerNonce(**first);
         if (!old_nonce.ok()) return SetupFailed("first", old_nonce.status());
         if (absl::StatusOr<std::string> nonce = ServerNonce(**second);
             !nonce.ok()) {
           return SetupFailed("second", nonce.status());
         }
         const std::string final_message =
             absl::StrCat("c=biws,r=", *old_nonce,
                          ",p=", absl::Base64Escape(std::string(20, '\x01')));
         (*second)
             ->SendRaw(absl::StrCat("<response xmlns='", kSaslNs, "'>",
                                    absl::Base64Escape(final_message),
                                    "</response>"))
             .IgnoreError();
         return SaslFailure(**second, "not-authorized");
       }},
      {"SaslAttemptsExhausted", "RFC 6120 §6.4.5, §4.9.3.14", nullptr,
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kStreamOpen);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         for (int i = 0; i < 3; ++i) {
           (*client)
               ->SendRaw(Auth("PLAIN", PlainCredentials(kCutUser, "wrong")))
               .IgnoreError();
           if (Result failed = SaslFailure(**client, "not-authorized");
               !failed) {
             return failed;
           }
         }
         return StreamErrorThenClose(**client, "policy-violation");
       }},
      StreamErrorCase(
          "SaslResponseWithoutAuth", "RFC 6120 §4.9.3.14", S::kStreamOpen,
          absl::StrCat("<response xmlns='", kSaslNs, "'>AAAA</response>"),
          "policy-violation"),
      StreamErrorCase("SaslAuthAfterLogin", "RFC 6120 §4.9.3.14", S::kLoggedIn,
                      Auth("PLAIN", PlainCredentials(kCutUser, kCutPassword)),
                      "policy-violation"),
      // Binding (RFC 6120 §7).
      {"BindConflictReplacesExisting", "RFC 6120 §7.7.2.2, §4.9.3.3",
       [](ServerConfig& config) {
         config.set_bind_conflict(ServerConfig::REPLACE_EXISTING);
       },
       [](Attacker& attacker) -> Result {
         ClientOr first = attacker.At(S::kLoggedIn, "twin");
         if (!first.ok()) return SetupFailed("first", first.status());
         ClientOr second = attacker.At(S::kLoggedIn, "twin");
         if (!second.ok()) return SetupFailed("second", second.status());
         if (Result kicked = StreamErrorThenClose(**first, "conflict");
             !kicked) {
           return kicked;
         }
         if (absl::Status ping = (*second)->Ping("twin"); !ping.ok()) {
           return ::testing::AssertionFailure() << "new session: " << ping;
         }
         return ::testing::AssertionSuccess();
       }},
      {"BindOverlongResource", "RFC 6120 §7.7.2.1; RFC 7622 §3.4", nullptr,
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kAuthenticated);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         absl::StatusOr<Element> reply =
             (*client)->Bind(std::string(1100, 'r'), "long");
         if (!reply.ok()) return SetupFailed("bind", reply.status());
         const Element* error = reply->FindChild(ns::kClient, "error");
         if (error == nullptr || error->AttrOr("type", "") != "modify") {
           return ::testing::AssertionFailure()
                  << "expected a modify error: " << reply->ToString();
         }
         return HasOnlyCondition(*error, ns::kStanzas, "bad-request");
       }},
      // iq shape (RFC 6120 §8.2.3) and addressing (RFC 6120 §8.3.3, RFC 6121
      // §8.5).
      IqErrorCase("IqWithoutId", "RFC 6120 §8.2.3, §8.3.3.1",
                  "<iq type='get' to='localhost'><ping "
                  "xmlns='urn:xmpp:ping'/></iq>",
                  "", "modify", "bad-request"),
      IqErrorCase("IqWithTwoChildren", "RFC 6120 §8.2.3, §8.3.3.1",
                  "<iq type='get' id='two' to='localhost'><ping "
                  "xmlns='urn:xmpp:ping'/><ping xmlns='urn:xmpp:ping'/></iq>",
                  "two", "modify", "bad-request"),
      IqErrorCase("IqWithoutChild", "RFC 6120 §8.2.3, §8.3.3.1",
                  "<iq type='get' id='none' to='localhost'/>", "none", "modify",
                  "bad-request"),
      IqErrorCase("IqUnknownType", "RFC 6120 §8.2.3, §8.3.3.1",
                  "<iq type='poke' id='poke' to='localhost'><ping "
                  "xmlns='urn:xmpp:ping'/></iq>",
                  "poke", "modify", "bad-request"),
      IqErrorCase("IqMalformedTo", "RFC 6120 §8.3.3.8",
                  "<iq type='get' id='bad-to' to='@localhost'><ping "
                  "xmlns='urn:xmpp:ping'/></iq>",
                  "bad-to", "modify", "jid-malformed"),
      IqErrorCase("IqToAnotherDomain", "RFC 6120 §8.3.3.13, §10.4",
                  "<iq type='get' id='remote' to='someone@example.org/r'><ping "
                  "xmlns='urn:xmpp:ping'/></iq>",
                  "remote", "cancel", "remote-server-not-found"),
      {"MessageToNonexistentAccount", "RFC 6121 §8.5.2.2.1", nullptr,
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kLoggedIn);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         (*client)
             ->SendRaw(
                 "<message id='m1' to='nobody@localhost'><body>x</body>"
                 "</message>")
             .IgnoreError();
         absl::StatusOr<Element> reply =
             (*client)->ReadElementMatching([](const Element& e) {
               return e.Is(ns::kClient, "message") &&
                      e.AttrOr("id", "") == "m1";
             });
         if (!reply.ok()) return SetupFailed("reply", reply.status());
         const Element* error = reply->FindChild(ns::kClient, "error");
         if (reply->AttrOr("type", "") != "error" || error == nullptr ||
             error->AttrOr("type", "") != "cancel") {
           return ::testing::AssertionFailure()
                  << "expected a cancel error: " << reply->ToString();
         }
         return HasOnlyCondition(*error, ns::kStanzas, "service-unavailable");
       }},
      // Tolerated: no error is due, the stream and everybody else go on.
      Tolerated("PresenceToNonexistentJid",
                "RFC 6121 §4.6.3 (silently dropped)",
                "<presence to='nobody@localhost/x'/>"),
      Tolerated("PresenceFlood", "RFC 6121 §4.4 (no limit to enforce)",
                Repeat("<presence><status>flood</status></presence>", 5000)),
      Tolerated("MessageFlood", "RFC 6121 §5 (no limit to enforce)",
                Repeat(absl::StrCat("<message ", kToPeer,
                                    "><body>flood</body></message>"),
                       5000)),
      {"CloseMidStanza", "RFC 6120 §4.4 (nothing half-sent is routed)", nullptr,
       [](Attacker& attacker) -> Result {
         ClientOr client = attacker.At(S::kLoggedIn);
         if (!client.ok()) return SetupFailed("attacker", client.status());
         (*client)
             ->SendRaw(absl::StrCat("<message ", kToPeer, "><body>half"))
             .IgnoreError();
         (*client)->Close();
         const xmpp::Jid jid = *xmpp::Jid::Parse("cut@localhost/attacker");
         TestServer& server = attacker.server();
         for (int i = 0; i < 500; ++i) {
           if (!server.RunOnServerThread(
                   [&] { return server.server().router().IsBound(jid); })) {
             break;
           }
           std::this_thread::sleep_for(std::chrono::milliseconds(10));
         }
         // Gone, and nothing of it routed.
         return NothingRoutedFrom(attacker.server(), "cut@localhost/attacker");
       }},
  };
}

}  // namespace talkcheck::integration
