// libFuzzer target: JIDs (issue 13 §3).
//
// Input: a JID's text. Properties: a JID Parse accepts prints as text that
// parses to the same JID; its bare JID and Create() of its parts agree with it.
#include <cstddef>
#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/string_view.h"
#include "tests/fuzz/fuzz_check.h"
#include "xmpp/jid.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using talkcheck::xmpp::Jid;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<Jid> jid = Jid::Parse(text);
  if (!jid.ok()) return 0;
  FUZZ_CHECK(!jid->empty(),
             "accepted an empty JID: " << absl::CHexEscape(text));
  const std::string printed = jid->ToString();
  absl::StatusOr<Jid> again = Jid::Parse(printed);
  FUZZ_CHECK(again.ok() && *again == *jid, absl::CHexEscape(text)
                                               << " prints as "
                                               << absl::CHexEscape(printed)
                                               << " which does not parse back");
  FUZZ_CHECK(again->ToString() == printed, "printing is not stable");
  absl::StatusOr<Jid> created =
      Jid::Create(jid->local(), jid->domain(), jid->resource());
  FUZZ_CHECK(created.ok() && *created == *jid,
             "Create refuses the parts of " << absl::CHexEscape(text));
  const Jid bare = jid->Bare();
  FUZZ_CHECK(bare.is_bare() && bare.BareEquals(*jid), "Bare() differs");
  if (!jid->is_bare()) {
    absl::StatusOr<Jid> full = bare.WithResource(jid->resource());
    FUZZ_CHECK(full.ok() && *full == *jid, "WithResource differs");
  }
  return 0;
}
