// Jabber identifiers per RFC 7622: `[localpart@]domainpart[/resourcepart]`.
//
// Parsing validates each part (non-empty where present, at most 1023 bytes,
// valid UTF-8, no forbidden characters in the localpart, a plausible domain
// label syntax) and normalises: the domainpart is case-folded (ASCII; a
// trailing dot is removed) and the localpart case-folded as the
// UsernameCaseMapped profile does for ASCII; the resourcepart is kept byte for
// byte. Comparisons use the normalised form.
//
// Example:
//   absl::StatusOr<Jid> jid = Jid::Parse("Romeo@Example.NET/Orchard");
//   jid->ToString();        // "romeo@example.net/Orchard"
//   jid->Bare().ToString();  // "romeo@example.net"
#ifndef TALKCHECK_XMPP_JID_H_
#define TALKCHECK_XMPP_JID_H_

#include <string>
#include <tuple>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace talkcheck::xmpp {

class Jid {
 public:
  // The empty JID (no domain); `empty()` is true.
  Jid() = default;

  // kInvalidArgument with a message naming the offending part.
  static absl::StatusOr<Jid> Parse(absl::string_view text);
  static absl::StatusOr<Jid> Create(absl::string_view local,
                                    absl::string_view domain,
                                    absl::string_view resource);

  const std::string& local() const { return local_; }
  const std::string& domain() const { return domain_; }
  const std::string& resource() const { return resource_; }

  bool empty() const { return domain_.empty(); }
  bool is_bare() const { return resource_.empty(); }

  Jid Bare() const;
  // This JID with another (validated) resource.
  absl::StatusOr<Jid> WithResource(absl::string_view resource) const;

  // The normalised text form.
  std::string ToString() const;

  bool BareEquals(const Jid& other) const {
    return local_ == other.local_ && domain_ == other.domain_;
  }
  friend bool operator==(const Jid& a, const Jid& b) {
    return a.BareEquals(b) && a.resource_ == b.resource_;
  }
  friend bool operator!=(const Jid& a, const Jid& b) { return !(a == b); }
  friend bool operator<(const Jid& a, const Jid& b) {
    return std::tie(a.domain_, a.local_, a.resource_) <
           std::tie(b.domain_, b.local_, b.resource_);
  }
  template <typename H>
  friend H AbslHashValue(H h, const Jid& jid) {
    return H::combine(std::move(h), jid.local_, jid.domain_, jid.resource_);
  }

 private:
  static absl::StatusOr<Jid> ParseUncached(absl::string_view text);

  std::string local_;
  std::string domain_;
  std::string resource_;
};

}  // namespace talkcheck::xmpp

#endif  // TALKCHECK_XMPP_JID_H_
