#include "xmpp/jid.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "xmpp/utf8.h"

namespace talkcheck::xmpp {
namespace {

// RFC 7622 §3.1: each part is at most 1023 octets.
constexpr size_t kMaxPartBytes = 1023;
// RFC 1035 §2.3.4, for the ASCII labels it governs.
constexpr size_t kMaxLabelBytes = 63;

// C0, DEL and C1 controls (Unicode general category Cc), which PRECIS disallows
// in every part.
bool IsControl(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

// "U+0009": how Unicode names a code point (at least four hex digits).
std::string CodePointName(uint32_t cp) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name = "U+";
  for (int shift = cp > 0xFFFFF  ? 20
                   : cp > 0xFFFF ? 16
                                 : 12;
       shift >= 0; shift -= 4) {
    name.push_back(kHex[(cp >> shift) & 0xF]);
  }
  return name;
}

absl::Status PartError(absl::string_view part, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("JID ", part, " ", what));
}

// Length, encoding and control characters, common to all parts; `forbidden`
// lists further ASCII characters the part may not hold.
absl::Status CheckPart(absl::string_view part, absl::string_view text,
                       absl::string_view forbidden) {
  if (text.empty()) return PartError(part, "is empty");
  if (text.size() > kMaxPartBytes) {
    return PartError(part, absl::StrCat("is longer than ", kMaxPartBytes,
                                        " bytes (", text.size(), ")"));
  }
  // The forbidden ASCII characters as bits: every stanza routed has a JID or
  // two to check, a byte at a time.
  uint64_t forbidden_bits[2] = {0, 0};
  for (const char c : forbidden) {
    const unsigned char b = static_cast<unsigned char>(c);
    if (b < 0x80) forbidden_bits[b >> 6] |= uint64_t{1} << (b & 63);
  }
  size_t i = 0;
  while (i < text.size()) {
    uint32_t cp;
    if (!NextCodePoint(text, i, cp)) {
      return PartError(part,
                       absl::StrCat("is not valid UTF-8 (at byte ", i, ")"));
    }
    if (IsControl(cp)) {
      return PartError(part, absl::StrCat("contains a control character (",
                                          CodePointName(cp), ")"));
    }
    if (cp < 0x80 && (forbidden_bits[cp >> 6] >> (cp & 63) & 1) != 0) {
      if (cp == ' ') return PartError(part, "contains a space");
      return PartError(
          part, absl::StrCat("contains '",
                             std::string(1, static_cast<char>(cp)), "'"));
    }
  }
  return absl::OkStatus();
}

// A bracketed IPv6 literal (RFC 3986 IP-literal without IPvFuture), as RFC 7622
// §3.2 allows.
bool IsIpv6Literal(absl::string_view domain) {
  if (domain.size() < 3 || domain.front() != '[' || domain.back() != ']') {
    return false;
  }
  const std::string address(domain.substr(1, domain.size() - 2));
  unsigned char buffer[16];
  return inet_pton(AF_INET6, address.c_str(), buffer) == 1;
}

// Checks a domainpart (trailing dot already removed). DNS labels of letters,
// digits and inner hyphens; non-ASCII labels are taken as IDNA U-labels without
// running the IDNA tables over them. Dotted IPv4 addresses pass as all-digit
// labels.
absl::Status CheckDomain(absl::string_view domain) {
  constexpr absl::string_view kPart = "domainpart";
  if (absl::Status s = CheckPart(kPart, domain, ""); !s.ok()) return s;
  if (domain.front() == '[') {
    if (IsIpv6Literal(domain)) return absl::OkStatus();
    return PartError(
        kPart, absl::StrCat("'", domain, "' is not a valid IPv6 literal"));
  }
  for (absl::string_view label : absl::StrSplit(domain, '.')) {
    if (label.empty()) return PartError(kPart, "has an empty label");
    bool ascii = true;
    for (char ch : label) {
      const unsigned char c = static_cast<unsigned char>(ch);
      if (c >= 0x80) {
        ascii = false;
      } else if (!absl::ascii_isalnum(c) && c != '-') {
        if (c == ' ') return PartError(kPart, "contains a space");
        return PartError(kPart,
                         absl::StrCat("contains '", std::string(1, ch), "'"));
      }
    }
    if (label.front() == '-' || label.back() == '-') {
      return PartError(
          kPart, absl::StrCat("label '", label, "' starts or ends with '-'"));
    }
    // The 63-octet limit is on the ASCII (A-label) form; a U-label's UTF-8
    // length says little about its Punycode length, so only ASCII labels are
    // measured.
    if (ascii && label.size() > kMaxLabelBytes) {
      return PartError(kPart, absl::StrCat("label is longer than ",
                                           kMaxLabelBytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

// The JIDs a thread parsed last, with their text. Routing and the harness
// parse the same few addresses for every stanza (a fuzz schedule: about 20,
// each checked a code point at a time); Parse is a function of its text, so a
// hit returns what parsing would. Failures are not kept.
thread_local bool recent_jids_gone = false;  // trivially destructible

class RecentJids {
 public:
  ~RecentJids() { recent_jids_gone = true; }

  const Jid* Find(absl::string_view text) const {
    if (text.empty()) return nullptr;  // unused entries' text is empty
    for (const Entry& entry : entries_) {
      if (entry.text == text) return &entry.jid;
    }
    return nullptr;
  }
  void Add(absl::string_view text, const Jid& jid) {
    // Long texts would pin memory for little: a stanza's JIDs are short.
    if (text.size() > kMaxKeptBytes) return;
    Entry& entry = entries_[next_];
    next_ = (next_ + 1) % kEntries;
    entry.text.assign(text.data(), text.size());
    entry.jid = jid;
  }

 private:
  static constexpr size_t kEntries = 8;
  static constexpr size_t kMaxKeptBytes = 256;
  struct Entry {
    std::string text;  // empty: unused (Parse never succeeds on "")
    Jid jid;
  };
  std::array<Entry, kEntries> entries_;
  size_t next_ = 0;
};

// Null once the thread's list is destroyed (another thread-local's
// destructor parsing a JID then parses without it).
RecentJids* RecentlyParsed() {
  if (recent_jids_gone) return nullptr;
  thread_local RecentJids recent;
  return &recent;
}

}  // namespace

absl::StatusOr<Jid> Jid::Parse(absl::string_view text) {
  RecentJids* recent = RecentlyParsed();
  if (recent == nullptr) return ParseUncached(text);
  if (const Jid* jid = recent->Find(text)) return *jid;
  absl::StatusOr<Jid> jid = ParseUncached(text);
  if (jid.ok()) recent->Add(text, *jid);
  return jid;
}

absl::StatusOr<Jid> Jid::ParseUncached(absl::string_view text) {
  if (text.empty()) return absl::InvalidArgumentError("JID is empty");
  // RFC 7622 §3.1: the resourcepart starts at the first '/', and the localpart
  // ends at the first '@' before it (a resource may itself hold '@' and '/').
  absl::string_view rest = text;
  absl::string_view resource;
  const size_t slash = rest.find('/');
  if (slash != absl::string_view::npos) {
    resource = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
    if (resource.empty()) return PartError("resourcepart", "is empty");
  }
  absl::string_view local;
  const size_t at = rest.find('@');
  if (at != absl::string_view::npos) {
    local = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (local.empty()) return PartError("localpart", "is empty");
  }
  return Create(local, rest, resource);
}

absl::StatusOr<Jid> Jid::Create(absl::string_view local,
                                absl::string_view domain,
                                absl::string_view resource) {
  Jid jid;
  if (!local.empty()) {
    // RFC 7622 §3.3.1 forbids these in addition to what PRECIS already
    // excludes.
    if (absl::Status s = CheckPart("localpart", local, "\"&'/:<>@ "); !s.ok()) {
      return s;
    }
    jid.local_ = absl::AsciiStrToLower(local);
  }
  // RFC 7622 §3.2: a trailing dot is stripped before any other processing.
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (absl::Status s = CheckDomain(domain); !s.ok()) return s;
  jid.domain_ = absl::AsciiStrToLower(domain);
  if (!resource.empty()) {
    if (absl::Status s = CheckPart("resourcepart", resource, ""); !s.ok()) {
      return s;
    }
    jid.resource_ = std::string(resource);
  }
  return jid;
}

Jid Jid::Bare() const {
  Jid bare;
  bare.local_ = local_;
  bare.domain_ = domain_;
  return bare;
}

absl::StatusOr<Jid> Jid::WithResource(absl::string_view resource) const {
  // An empty resource is a mistake here rather than a request for the bare JID,
  // which Bare() gives.
  if (resource.empty()) return PartError("resourcepart", "is empty");
  return Create(local_, domain_, resource);
}

std::string Jid::ToString() const {
  std::string text;
  text.reserve(local_.size() + domain_.size() + resource_.size() + 2);
  if (!local_.empty()) text.append(local_).push_back('@');
  text.append(domain_);
  if (!resource_.empty()) text.append(1, '/').append(resource_);
  return text;
}

}  // namespace talkcheck::xmpp
