#include "xmpp/jid.h"

#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace talkcheck::xmpp {
namespace {

Jid MustParse(absl::string_view text) {
  absl::StatusOr<Jid> jid = Jid::Parse(text);
  EXPECT_TRUE(jid.ok()) << text << ": " << jid.status();
  return jid.ok() ? *jid : Jid();
}

// The error message for `text`, which must not parse.
std::string ParseError(absl::string_view text) {
  absl::StatusOr<Jid> jid = Jid::Parse(text);
  EXPECT_FALSE(jid.ok()) << text << " parsed as " << jid->ToString();
  if (jid.ok()) return "";
  EXPECT_EQ(jid.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(jid.status().message());
}

TEST(JidTest, ParsesFullJid) {
  Jid jid = MustParse("romeo@example.net/orchard");
  EXPECT_EQ(jid.local(), "romeo");
  EXPECT_EQ(jid.domain(), "example.net");
  EXPECT_EQ(jid.resource(), "orchard");
  EXPECT_FALSE(jid.empty());
  EXPECT_FALSE(jid.is_bare());
  EXPECT_EQ(jid.ToString(), "romeo@example.net/orchard");
}

TEST(JidTest, ParsesBareAndDomainJids) {
  Jid bare = MustParse("juliet@gmail.com");
  EXPECT_TRUE(bare.is_bare());
  EXPECT_EQ(bare.ToString(), "juliet@gmail.com");
  Jid domain = MustParse("gmail.com");
  EXPECT_EQ(domain.local(), "");
  EXPECT_EQ(domain.ToString(), "gmail.com");
  Jid domain_resource = MustParse("talk.google.com/Talk.v1");
  EXPECT_EQ(domain_resource.local(), "");
  EXPECT_EQ(domain_resource.resource(), "Talk.v1");
}

// Test the header's example: domain and localpart fold, the resource does not.
TEST(JidTest, NormalisesCase) {
  Jid jid = MustParse("Romeo@Example.NET/Orchard");
  EXPECT_EQ(jid.ToString(), "romeo@example.net/Orchard");
  EXPECT_EQ(jid.Bare().ToString(), "romeo@example.net");
  EXPECT_EQ(jid, MustParse("romeo@example.net/Orchard"));
  EXPECT_NE(jid, MustParse("romeo@example.net/orchard"));
}

TEST(JidTest, StripsOneTrailingDot) {
  EXPECT_EQ(MustParse("a@example.com./r").ToString(), "a@example.com/r");
  EXPECT_EQ(MustParse("example.com."), MustParse("example.com"));
  EXPECT_NE(ParseError("a@example.com.."), "");
  EXPECT_EQ(ParseError("a@."), "JID domainpart is empty");
}

// Test that the first '/' starts the resource, which may hold '@' and '/'.
TEST(JidTest, SplitsAtFirstSlashThenFirstAt) {
  Jid jid = MustParse("user@host/res/with@and/slash");
  EXPECT_EQ(jid.local(), "user");
  EXPECT_EQ(jid.domain(), "host");
  EXPECT_EQ(jid.resource(), "res/with@and/slash");
  Jid no_local = MustParse("host/user@elsewhere");
  EXPECT_EQ(no_local.local(), "");
  EXPECT_EQ(no_local.domain(), "host");
  EXPECT_EQ(no_local.resource(), "user@elsewhere");
}

TEST(JidTest, AcceptsIpLiteralsAndInternationalNames) {
  EXPECT_EQ(MustParse("a@127.0.0.1/r").domain(), "127.0.0.1");
  EXPECT_EQ(MustParse("a@[::1]/r").domain(), "[::1]");
  EXPECT_EQ(MustParse("[2001:DB8::1]").domain(), "[2001:db8::1]");
  Jid unicode = MustParse("\xC3\xA9lise@\xC3\xA9xample.fr/\xE2\x98\xBA");
  EXPECT_EQ(unicode.local(), "\xC3\xA9lise");
  EXPECT_EQ(unicode.domain(), "\xC3\xA9xample.fr");
  EXPECT_EQ(unicode.resource(), "\xE2\x98\xBA");
  EXPECT_EQ(MustParse("a@xn--bcher-kva.example").domain(),
            "xn--bcher-kva.example");
  EXPECT_EQ(MustParse("a@b/with space").resource(), "with space");
}

TEST(JidTest, RejectsEmptyParts) {
  EXPECT_EQ(ParseError(""), "JID is empty");
  EXPECT_EQ(ParseError("@example.com"), "JID localpart is empty");
  EXPECT_EQ(ParseError("example.com/"), "JID resourcepart is empty");
  EXPECT_EQ(ParseError("a@example.com/"), "JID resourcepart is empty");
  EXPECT_EQ(ParseError("a@"), "JID domainpart is empty");
  EXPECT_EQ(ParseError("a@/r"), "JID domainpart is empty");
  EXPECT_EQ(ParseError("/r"), "JID domainpart is empty");
}

TEST(JidTest, RejectsOverlongParts) {
  const std::string max(1023, 'a');
  const std::string over(1024, 'a');
  EXPECT_EQ(MustParse(max + "@d/" + max).local().size(), 1023u);
  EXPECT_NE(ParseError(over + "@d").find("JID localpart is longer than 1023"),
            std::string::npos);
  EXPECT_NE(ParseError("a@d/" + over).find("JID resourcepart is longer"),
            std::string::npos);
  // Domains: 63-byte labels, 1023 bytes in all.
  const std::string label63(63, 'x');
  EXPECT_TRUE(Jid::Parse(label63 + ".com").ok());
  EXPECT_NE(ParseError(label63 + "x.com").find("label is longer than 63"),
            std::string::npos);
  std::string long_domain;
  while (long_domain.size() <= 1023) long_domain += label63 + ".";
  long_domain += "com";
  EXPECT_NE(ParseError(long_domain).find("JID domainpart is longer"),
            std::string::npos);
}

TEST(JidTest, RejectsForbiddenLocalpartCharacters) {
  EXPECT_EQ(ParseError("a<b@d"), "JID localpart contains '<'");
  EXPECT_EQ(ParseError("a>b@d"), "JID localpart contains '>'");
  EXPECT_EQ(ParseError("a\"b@d"), "JID localpart contains '\"'");
  EXPECT_EQ(ParseError("a&b@d"), "JID localpart contains '&'");
  EXPECT_EQ(ParseError("a'b@d"), "JID localpart contains '''");
  EXPECT_EQ(ParseError("a:b@d"), "JID localpart contains ':'");
  EXPECT_EQ(ParseError("a b@d"), "JID localpart contains a space");
  EXPECT_EQ(ParseError(std::string("a\tb@d")),
            "JID localpart contains a control character (U+0009)");
  EXPECT_EQ(ParseError("a\xC2\x85"
                       "b@d"),
            "JID localpart contains a control character (U+0085)");
  // '@' and '/' cannot reach the localpart through Parse(), only through
  // Create().
  EXPECT_EQ(Jid::Create("a/b", "d", "").status().message(),
            "JID localpart contains '/'");
  EXPECT_EQ(Jid::Create("a@b", "d", "").status().message(),
            "JID localpart contains '@'");
}

TEST(JidTest, RejectsBadDomains) {
  EXPECT_EQ(ParseError("a@exa mple.com"), "JID domainpart contains a space");
  EXPECT_EQ(ParseError("a@b@c"), "JID domainpart contains '@'");
  EXPECT_EQ(ParseError("a@under_score.com"), "JID domainpart contains '_'");
  EXPECT_EQ(ParseError("a@x..com"), "JID domainpart has an empty label");
  EXPECT_EQ(ParseError("a@.com"), "JID domainpart has an empty label");
  EXPECT_EQ(ParseError("a@-x.com"),
            "JID domainpart label '-x' starts or ends with '-'");
  EXPECT_NE(ParseError("a@[::1").find("not a valid IPv6 literal"),
            std::string::npos);
  EXPECT_NE(ParseError("a@[nothex]").find("not a valid IPv6 literal"),
            std::string::npos);
  EXPECT_NE(ParseError("a@[1.2.3.4]").find("not a valid IPv6 literal"),
            std::string::npos);
}

TEST(JidTest, RejectsResourceControlCharacters) {
  EXPECT_EQ(ParseError(std::string("a@d/x\ny")),
            "JID resourcepart contains a control character (U+000A)");
  EXPECT_EQ(ParseError(std::string("a@d/x\x7Fy")),
            "JID resourcepart contains a control character (U+007F)");
  EXPECT_EQ(ParseError(std::string("a@d/x\0y", 7)),
            "JID resourcepart contains a control character (U+0000)");
}

TEST(JidTest, RejectsInvalidUtf8) {
  for (absl::string_view text :
       {"\xFF@d", "a@d/\xC3", "a@\xC0\xAF.com", "a@d/\xED\xA0\x80",
        "\xF4\x90\x80\x80@d", "a@d/\x80"}) {
    SCOPED_TRACE(text);
    EXPECT_NE(ParseError(text).find("is not valid UTF-8"), std::string::npos);
  }
}

TEST(JidTest, CreateValidatesAndNormalises) {
  absl::StatusOr<Jid> jid = Jid::Create("Juliet", "Capulet.LIT.", "Balcony");
  ASSERT_TRUE(jid.ok()) << jid.status();
  EXPECT_EQ(jid->ToString(), "juliet@capulet.lit/Balcony");
  EXPECT_EQ(*jid, MustParse("juliet@capulet.lit/Balcony"));
  absl::StatusOr<Jid> domain_only = Jid::Create("", "capulet.lit", "");
  ASSERT_TRUE(domain_only.ok());
  EXPECT_EQ(domain_only->ToString(), "capulet.lit");
  EXPECT_EQ(Jid::Create("a", "", "r").status().message(),
            "JID domainpart is empty");
}

TEST(JidTest, BareAndFullComparisons) {
  Jid full = MustParse("a@b.c/r1");
  Jid other_resource = MustParse("A@B.C/r2");
  Jid bare = MustParse("a@b.c");
  EXPECT_TRUE(full.BareEquals(other_resource));
  EXPECT_TRUE(full.BareEquals(bare));
  EXPECT_NE(full, other_resource);
  EXPECT_NE(full, bare);
  EXPECT_EQ(full.Bare(), bare);
  EXPECT_TRUE(full.Bare().is_bare());
  EXPECT_FALSE(MustParse("x@b.c").BareEquals(bare));
  EXPECT_TRUE(bare < full);  // same bare part, empty resource sorts first
  EXPECT_TRUE(MustParse("z@a.com") < MustParse("a@b.com"));  // domain first
}

TEST(JidTest, DefaultIsEmpty) {
  Jid jid;
  EXPECT_TRUE(jid.empty());
  EXPECT_TRUE(jid.is_bare());
  EXPECT_EQ(jid.ToString(), "");
  EXPECT_FALSE(jid.WithResource("r").ok());
}

TEST(JidTest, WithResource) {
  Jid bare = MustParse("User@Example.com");
  absl::StatusOr<Jid> full = bare.WithResource("Talk.v1");
  ASSERT_TRUE(full.ok()) << full.status();
  EXPECT_EQ(full->ToString(), "user@example.com/Talk.v1");
  absl::StatusOr<Jid> replaced = full->WithResource("other");
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->resource(), "other");
  EXPECT_EQ(full->resource(), "Talk.v1");
  EXPECT_EQ(bare.WithResource("").status().message(),
            "JID resourcepart is empty");
  EXPECT_EQ(bare.WithResource("a\nb").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bare.WithResource(std::string(1024, 'r')).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(JidTest, HashesByNormalisedForm) {
  absl::flat_hash_set<Jid> set;
  set.insert(MustParse("Romeo@Example.net/Orchard"));
  set.insert(MustParse("romeo@example.net/Orchard"));
  set.insert(MustParse("romeo@example.net/orchard"));
  set.insert(MustParse("romeo@example.net"));
  EXPECT_EQ(set.size(), 3u);
  EXPECT_TRUE(set.contains(MustParse("ROMEO@EXAMPLE.NET/Orchard")));
  EXPECT_TRUE(set.contains(MustParse("romeo@example.net.")));
  EXPECT_FALSE(set.contains(MustParse("juliet@example.net")));
}

// The kept JIDs' unused places hold no text: an empty text is still an
// error in a thread that has kept none yet (found by jid_fuzzer, whose first
// input is the empty one).
TEST(JidTest, EmptyTextFailsInAFreshThread) {
  absl::StatusOr<Jid> jid = Jid();
  std::thread([&jid] { jid = Jid::Parse(""); }).join();
  EXPECT_FALSE(jid.ok());
  absl::StatusOr<Jid> after_one = Jid();
  std::thread([&after_one] {
    (void)Jid::Parse("romeo@example.net");
    after_one = Jid::Parse("");
  }).join();
  EXPECT_FALSE(after_one.ok());
}

// Parse keeps the last JIDs it parsed (routing parses the same few again and
// again): parsing a text again, after others of the same length and after
// failures, gives what it gave the first time.
TEST(JidTest, ParsingAgainGivesTheSameJid) {
  std::vector<std::string> texts;
  for (char c = 'a'; c <= 'p'; ++c) {  // more than the parser keeps
    texts.push_back(absl::StrCat("u", std::string(1, c), "@Host.example/r"));
    texts.push_back(absl::StrCat("u", std::string(1, c), "@host.example"));
  }
  std::vector<Jid> first;
  for (const std::string& text : texts) first.push_back(MustParse(text));
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < texts.size(); ++i) {
      EXPECT_FALSE(ParseError(absl::StrCat("@", texts[i])).empty());
      const Jid again = MustParse(texts[i]);
      EXPECT_EQ(again, first[i]) << texts[i];
      EXPECT_EQ(again.ToString(), first[i].ToString()) << texts[i];
      // The same text at once again: the one just kept.
      EXPECT_EQ(MustParse(texts[i]), first[i]) << texts[i];
    }
  }
  EXPECT_EQ(MustParse("ua@Host.example/r").ToString(), "ua@host.example/r");
  EXPECT_EQ(ParseError(""), "JID is empty");
}

}  // namespace
}  // namespace talkcheck::xmpp
