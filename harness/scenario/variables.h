// Scenario variables: `${name}` references in stanzas and patterns.
//
// Values come from built-ins the runner sets (cut, cut_bare, peer, peer_bare,
// sid, iq, last_id, server), from `<var>` declarations, from the command line,
// and from captures made by expects. `${iq}` is special: each send step that
// mentions it gets a fresh id (the runner binds it before substituting).
//
// Example:
//   Variables vars;
//   vars.Set("peer", "peer@localhost/Talk.v104");
//   absl::StatusOr<std::string> text = vars.Substitute("<iq to='${peer}'/>");
#ifndef TALKCHECK_HARNESS_SCENARIO_VARIABLES_H_
#define TALKCHECK_HARNESS_SCENARIO_VARIABLES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace talkcheck::harness {

// The longest text Substitute produces: values that expand to each other
// twice over grow exponentially, and this ends them with an error.
inline constexpr size_t kMaxSubstitutedBytes = 16 << 20;

class Variables {
 public:
  Variables() = default;
  // A scratch layer over `under`, which must outlive it: reads fall through
  // to `under`, writes and erasures stay in the layer. What a match captures
  // while it tries a pattern, without copying every variable per attempt.
  explicit Variables(const Variables* under) : under_(under) {}

  void Set(absl::string_view name, absl::string_view value);
  const std::string* Get(absl::string_view name) const;  // nullptr when unset
  bool Has(absl::string_view name) const { return Get(name) != nullptr; }
  // Of this layer only.
  void Erase(absl::string_view name);
  // This layer's values, not those of the one under it.
  const std::map<std::string, std::string, std::less<>>& all() const {
    return values_;
  }

  // Replaces every `${name}` with its value, XML-escaped for use inside
  // attribute values and character data (`escape_xml`), or verbatim. kNotFound
  // naming the first undefined variable. `$${` is a literal `${`.
  // kResourceExhausted when the result would exceed kMaxSubstitutedBytes.
  absl::StatusOr<std::string> Substitute(absl::string_view text,
                                         bool escape_xml = true) const;

 private:
  std::map<std::string, std::string, std::less<>> values_;
  const Variables* under_ = nullptr;
};

// The names referenced as `${name}` in `text`, in order of first appearance.
std::vector<std::string> ReferencedVariables(absl::string_view text);

// Whether `name` is a valid variable name: [A-Za-z_][A-Za-z0-9_:.-]* (':'
// allows generated values such as `candidates:rtp`).
bool IsValidVariableName(absl::string_view name);

// In a send: the peer's accept of the client's initiate, as payload-type
// elements (raw XML, like `${candidates:NAME}`): the offered codecs the peer
// can send, in the offer's order.
inline constexpr char kCodecsAnswer[] = "${codecs:answer}";

}  // namespace talkcheck::harness

#endif  // TALKCHECK_HARNESS_SCENARIO_VARIABLES_H_
