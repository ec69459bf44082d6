#include "tests/raw_client.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <chrono>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "xmpp/namespaces.h"

namespace talkcheck::integration {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using xmpp::Element;
namespace ns = xmpp::ns;
using SteadyTime = std::chrono::steady_clock::time_point;

SteadyTime DeadlineAfter(absl::Duration timeout) {
  return std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(timeout);
}

// The index of the '>' closing the tag that starts at `s[start]`, skipping
// quoted attribute values; npos while incomplete.
size_t EndOfTag(absl::string_view s, size_t start) {
  char quote = 0;
  for (size_t i = start + 1; i < s.size(); ++i) {
    const char c = s[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '>') {
      return i;
    }
  }
  return absl::string_view::npos;
}

// The length of the complete top-level construct at the start of `s` (which
// starts with '<'), or 0 while it is incomplete. Comments and CDATA are not
// expected from the server and not handled.
size_t ConstructLength(absl::string_view s) {
  constexpr size_t npos = absl::string_view::npos;
  if (absl::StartsWith(s, "<?")) {
    const size_t end = s.find("?>");
    return end == npos ? 0 : end + 2;
  }
  if (absl::StartsWith(s, "</")) {
    const size_t end = s.find('>');
    return end == npos ? 0 : end + 1;
  }
  const size_t first_end = EndOfTag(s, 0);
  if (first_end == npos) return 0;
  if (s[first_end - 1] == '/') return first_end + 1;
  // The stream header is never closed within the construct.
  if (absl::StartsWith(s, "<stream:stream") && s.size() > 14 &&
      (s[14] == ' ' || s[14] == '>' || s[14] == '\t' || s[14] == '\n')) {
    return first_end + 1;
  }
  int depth = 1;
  size_t i = first_end + 1;
  while (depth > 0) {
    const size_t lt = s.find('<', i);
    if (lt == npos || lt + 1 >= s.size()) return 0;
    const char next = s[lt + 1];
    if (next == '/' || next == '!' || next == '?') {
      const size_t gt = s.find('>', lt);
      if (gt == npos) return 0;
      if (next == '/') --depth;
      i = gt + 1;
    } else {
      const size_t gt = EndOfTag(s, lt);
      if (gt == npos) return 0;
      if (s[gt - 1] != '/') ++depth;
      i = gt + 1;
    }
  }
  return i;
}

}  // namespace

std::string PlainCredentials(absl::string_view user,
                             absl::string_view password) {
  return absl::Base64Escape(
      absl::StrCat(std::string(1, '\0'), user, std::string(1, '\0'), password));
}

RawClient::RawClient(absl::Duration timeout)
    : socket_(io_), timeout_(timeout) {}

RawClient::~RawClient() { Close(); }

absl::StatusOr<std::unique_ptr<RawClient>> RawClient::Connect(
    absl::string_view endpoint, absl::Duration timeout) {
  const size_t colon = endpoint.rfind(':');
  if (colon == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat("no port in ", endpoint));
  }
  std::string host(endpoint.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  uint32_t port = 0;
  if (!absl::SimpleAtoi(endpoint.substr(colon + 1), &port) || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("bad port in ", endpoint));
  }
  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrCat("bad host in ", endpoint));

  std::unique_ptr<RawClient> client(new RawClient(timeout));
  // A loopback connect completes (or is refused) at once: no timeout needed.
  client->socket_.connect(tcp::endpoint(address, static_cast<uint16_t>(port)),
                          ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("connecting to ", endpoint, ": ", ec.message()));
  }
  return client;
}

void RawClient::Close() {
  boost::system::error_code ignored;
  socket_.close(ignored);
}

absl::Status RawClient::SendRaw(absl::string_view bytes) {
  boost::system::error_code ec;
  // Asio sends with MSG_NOSIGNAL: a closed peer is an error code, not SIGPIPE.
  asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("send: ", ec.message(), Quote()));
  }
  return absl::OkStatus();
}

absl::Status RawClient::ReadSome(SteadyTime deadline) {
  if (eof_) return absl::OkStatus();
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return absl::DeadlineExceededError(
          absl::StrCat("nothing more from the server within ",
                       absl::FormatDuration(timeout_), Quote()));
    }
    pollfd fd{socket_.native_handle(), POLLIN, 0};
    const int ready = ::poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return absl::ErrnoToStatus(errno, "poll");
    if (ready == 0) continue;  // the deadline check above reports it
    break;
  }
  std::array<char, 16 * 1024> buffer;
  boost::system::error_code ec;
  const size_t n = socket_.read_some(asio::buffer(buffer), ec);
  if (ec == asio::error::eof || ec == asio::error::connection_reset) {
    eof_ = true;
    return absl::OkStatus();
  }
  if (ec) return absl::UnavailableError(absl::StrCat("read: ", ec.message()));
  pending_.append(buffer.data(), n);
  transcript_.append(buffer.data(), n);
  return absl::OkStatus();
}

absl::StatusOr<std::string> RawClient::ReadUntil(absl::string_view needle) {
  const SteadyTime deadline = DeadlineAfter(timeout_);
  for (;;) {
    const size_t at = pending_.find(needle.data(), 0, needle.size());
    if (at != std::string::npos) {
      std::string out = pending_.substr(0, at + needle.size());
      pending_.erase(0, at + needle.size());
      return out;
    }
    if (eof_) {
      return absl::UnavailableError(absl::StrCat("connection closed before '",
                                                 needle, "' arrived", Quote()));
    }
    if (absl::Status read = ReadSome(deadline); !read.ok()) return read;
  }
}

absl::StatusOr<std::string> RawClient::ReadAllUntilClosed() {
  const SteadyTime deadline = DeadlineAfter(timeout_);
  while (!eof_) {
    if (absl::Status read = ReadSome(deadline); !read.ok()) return read;
  }
  return std::exchange(pending_, "");
}

absl::StatusOr<std::string> RawClient::ReadConstruct() {
  const SteadyTime deadline = DeadlineAfter(timeout_);
  for (;;) {
    const size_t start = pending_.find_first_not_of(" \t\r\n");
    pending_.erase(0, std::min(start, pending_.size()));
    if (!pending_.empty()) {
      if (pending_.front() != '<') {
        return absl::InternalError(absl::StrCat(
            "character data at the top level of the stream", Quote()));
      }
      if (const size_t n = ConstructLength(pending_); n > 0) {
        std::string out = pending_.substr(0, n);
        pending_.erase(0, n);
        return out;
      }
    }
    if (eof_) {
      return absl::UnavailableError(absl::StrCat(
          "connection closed in the middle of the stream", Quote()));
    }
    if (absl::Status read = ReadSome(deadline); !read.ok()) return read;
  }
}

absl::StatusOr<Element> RawClient::ReadElement() {
  for (;;) {
    absl::StatusOr<std::string> construct = ReadConstruct();
    if (!construct.ok()) return construct.status();
    if (absl::StartsWith(*construct, "<?") ||
        absl::StartsWith(*construct, "<stream:stream")) {
      continue;
    }
    if (absl::StartsWith(*construct, "</")) {
      return absl::UnavailableError(absl::StrCat("stream closed", Quote()));
    }
    absl::StatusOr<Element> element =
        xmpp::ParseElement(*construct, xmpp::NamespaceScope::ClientStream());
    if (!element.ok()) {
      return absl::InternalError(
          absl::StrCat("the server sent unparsable XML (",
                       element.status().message(), "): ", *construct));
    }
    return element;
  }
}

absl::StatusOr<Element> RawClient::ReadElementMatching(
    const std::function<bool(const Element&)>& matcher) {
  for (;;) {
    absl::StatusOr<Element> element = ReadElement();
    if (!element.ok() || matcher(*element)) return element;
  }
}

absl::StatusOr<Element> RawClient::OpenStream() {
  if (absl::Status sent = SendRaw(kClientStreamHeader); !sent.ok()) return sent;
  absl::StatusOr<Element> features = ReadElement();
  if (features.ok() && !features->Is(ns::kStream, "features")) {
    return absl::InternalError(absl::StrCat("expected <stream:features/>, got ",
                                            features->ToString()));
  }
  return features;
}

absl::Status RawClient::AuthenticatePlain(absl::string_view user,
                                          absl::string_view password) {
  absl::StatusOr<Element> features = OpenStream();
  if (!features.ok()) return features.status();
  bool plain_offered = false;
  if (const Element* mechanisms =
          features->FindChild(ns::kSasl, "mechanisms")) {
    for (const Element* mechanism :
         mechanisms->FindChildren(ns::kSasl, "mechanism")) {
      plain_offered = plain_offered || mechanism->Text() == "PLAIN";
    }
  }
  if (!plain_offered) {
    return absl::FailedPreconditionError(
        absl::StrCat("PLAIN is not offered: ", features->ToString()));
  }
  absl::Status sent = SendRaw(absl::StrCat(
      "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>",
      PlainCredentials(user, password), "</auth>"));
  if (!sent.ok()) return sent;
  absl::StatusOr<Element> outcome = ReadElement();
  if (!outcome.ok()) return outcome.status();
  if (!outcome->Is(ns::kSasl, "success")) {
    return absl::PermissionDeniedError(
        absl::StrCat("authentication failed: ", outcome->ToString()));
  }
  features = OpenStream();
  if (!features.ok()) return features.status();
  if (features->FindChild(ns::kBind, "bind") == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("bind is not offered: ", features->ToString()));
  }
  return absl::OkStatus();
}

absl::StatusOr<Element> RawClient::Bind(absl::string_view resource,
                                        absl::string_view id) {
  absl::Status sent = SendRaw(absl::StrCat(
      "<iq type='set' id='", id,
      "'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><resource>",
      xmpp::EscapeText(resource), "</resource></bind></iq>"));
  if (!sent.ok()) return sent;
  return ReadElementMatching([id](const Element& e) {
    return e.Is(ns::kClient, "iq") && e.AttrOr("id", "") == id;
  });
}

absl::StatusOr<std::string> RawClient::LogInPlain(absl::string_view user,
                                                  absl::string_view password,
                                                  absl::string_view resource) {
  if (absl::Status authenticated = AuthenticatePlain(user, password);
      !authenticated.ok()) {
    return authenticated;
  }
  absl::StatusOr<Element> bound = Bind(resource, "bind_1");
  if (!bound.ok()) return bound.status();
  const Element* jid = nullptr;
  if (const Element* bind = bound->FindChild(ns::kBind, "bind")) {
    jid = bind->FindChild(ns::kBind, "jid");
  }
  if (bound->AttrOr("type", "") != "result" || jid == nullptr) {
    return absl::AlreadyExistsError(
        absl::StrCat("bind failed: ", bound->ToString()));
  }
  return jid->Text();
}

absl::Status RawClient::Ping(absl::string_view id) {
  absl::Status sent = SendRaw(
      absl::StrCat("<iq type='get' id='", id,
                   "' to='localhost'><ping xmlns='urn:xmpp:ping'/></iq>"));
  if (!sent.ok()) return sent;
  absl::StatusOr<Element> reply = ReadElementMatching([id](const Element& e) {
    return e.Is(ns::kClient, "iq") && e.AttrOr("id", "") == id;
  });
  if (!reply.ok()) return reply.status();
  if (reply->AttrOr("type", "") != "result") {
    return absl::InternalError(
        absl::StrCat("ping failed: ", reply->ToString()));
  }
  return absl::OkStatus();
}

std::string RawClient::Quote() const {
  constexpr size_t kMax = 4000;
  absl::string_view tail = transcript_;
  if (tail.size() > kMax) tail = tail.substr(tail.size() - kMax);
  std::string printable;
  for (const char c : tail) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte < 0x20 && c != '\n') || byte >= 0x7f) {
      absl::StrAppend(&printable, "\\x", absl::Hex(byte, absl::kZeroPad2));
    } else {
      printable.push_back(c);
    }
  }
  return absl::StrCat("; received", eof_ ? " (then closed)" : "", ": ",
                      printable);
}

}  // namespace talkcheck::integration
