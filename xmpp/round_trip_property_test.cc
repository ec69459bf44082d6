// Property: whatever the server's input path accepts (the stream framer, then
// ParseElement with the stream's bindings) serialises to text that parses back
// to the same tree. Generated XML with awkward names, references, CDATA and
// namespace declarations, then the same inputs mutated byte by byte, all from
// a fixed seed so a failure repeats.
#include <random>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "xmpp/element.h"
#include "xmpp/stream_error.h"
#include "xmpp/stream_framer.h"

namespace talkcheck::xmpp {
namespace {

constexpr char kHeader[] =
    "<stream:stream xmlns='jabber:client' "
    "xmlns:stream='http://etherx.jabber.org/streams' to='example.com' "
    "version='1.0'>";

// Local names: valid NCNames (some rare: combining marks, astral planes), and
// the near misses the issue names (leading digit, '-', '.', U+00B7; U+00D7 and
// U+2000, which are not name characters at all).
constexpr const char* kGoodNames[] = {
    "a",   "iq",    "x_y",       "a-b.c",           "A1",
    "_",   "b1",    "q.-",       "\xE4\xB8\xADx",   "\xC3\xA9t\xC3\xA9",
    "xml", "xmlns", "a\xCC\x80", "\xF0\x90\x80\x80"};
constexpr const char* kBadNames[] = {
    "0y", "-a", ".a", "\xC2\xB7z", "a\xC3\x97", "9", "\xE2\x80\x80", "a:b"};
constexpr const char* kGoodPrefixes[] = {"x", "y", "xml", "stream"};
constexpr const char* kBadPrefixes[] = {"0p", "-p", "xmlns", "p\xC3\x97", ""};
constexpr const char* kUris[] = {"urn:a", "urn:b", "jabber:client", "",
                                 "urn:a&amp;b"};
constexpr const char* kValues[] = {"v",
                                   "",
                                   "a&amp;b",
                                   "&#10;&#9;x",
                                   "&lt;&gt;&quot;&apos;",
                                   "t\tab",
                                   "\xE2\x82\xAC",
                                   "&#x1F600;",
                                   "a>b",
                                   "q'uote"};
constexpr const char* kTexts[] = {"hi",        " ",
                                  "\r\n",      "&lt;x&gt;",
                                  "&#233;",    "<![CDATA[a<b&]]>",
                                  "]]",        "\xF0\x9F\x98\x80",
                                  "&amp;amp;", "\t"};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  template <size_t N>
  const char* Pick(const char* const (&pool)[N]) {
    return pool[Uniform(N)];
  }
  size_t Uniform(size_t n) {
    return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
  }

  // Mostly valid: one name in twelve is a near miss.
  std::string Name() {
    return Uniform(12) == 0 ? Pick(kBadNames) : Pick(kGoodNames);
  }
  std::string Prefix() {
    return Uniform(12) == 0 ? Pick(kBadPrefixes) : Pick(kGoodPrefixes);
  }
  std::string QName() {
    std::string local = Name();
    if (Uniform(4) != 0) return local;
    return absl::StrCat(Prefix(), ":", local);
  }

  std::string Element(int depth) {
    const std::string name = QName();
    std::string out = absl::StrCat("<", name);
    const size_t declarations = Uniform(3);
    for (size_t i = 0; i < declarations; ++i) {
      if (Uniform(3) == 0) {
        absl::StrAppend(&out, " xmlns='", Pick(kUris), "'");
      } else {
        absl::StrAppend(&out, " xmlns:", Prefix(), "='", Pick(kUris), "'");
      }
    }
    const size_t attributes = Uniform(4);
    for (size_t i = 0; i < attributes; ++i) {
      const char quote = Uniform(2) == 0 ? '\'' : '"';
      std::string value = Pick(kValues);
      if (value.find(quote) != std::string::npos) value = "v";
      absl::StrAppend(&out, " ", QName(), "=", std::string(1, quote), value,
                      std::string(1, quote));
    }
    if (depth == 0 || Uniform(3) == 0) return out + "/>";
    out += ">";
    const size_t children = Uniform(4);
    for (size_t i = 0; i < children; ++i) {
      if (Uniform(2) == 0) {
        out += Pick(kTexts);
      } else {
        out += Element(depth - 1);
      }
    }
    return absl::StrCat(out, "</", name, ">");
  }

  // One to three edits: delete, insert or replace a byte, or repeat a slice.
  std::string Mutate(std::string s) {
    static constexpr char kInteresting[] = "<>'\"&:0-./ =;#x\xC3\x97\xB7";
    const size_t edits = 1 + Uniform(3);
    for (size_t e = 0; e < edits && !s.empty(); ++e) {
      const size_t at = Uniform(s.size());
      const char byte = Uniform(4) == 0
                            ? static_cast<char>(Uniform(256))
                            : kInteresting[Uniform(sizeof(kInteresting) - 1)];
      switch (Uniform(4)) {
        case 0:
          s.erase(at, 1);
          break;
        case 1:
          s.insert(at, 1, byte);
          break;
        case 2:
          s[at] = byte;
          break;
        default:
          s.insert(at, s.substr(at, Uniform(8)));
          break;
      }
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

struct Tally {
  int inputs = 0;
  int elements_framed = 0;
  int elements_parsed = 0;
};

// Frames `input` after a stream header (in chunks of `chunk` bytes) and checks
// the round trip of every element the server would accept.
void CheckInput(absl::string_view input, size_t chunk, Tally& tally) {
  ++tally.inputs;
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  if (!framer.Feed(kHeader, events).ok()) {
    ADD_FAILURE() << "header refused";
    return;
  }
  for (size_t at = 0; at < input.size(); at += chunk) {
    if (!framer.Feed(input.substr(at, chunk), events).ok()) break;
  }
  for (const StreamFramer::Event& event : events) {
    if (event.type != StreamFramer::EventType::kElement) continue;
    ++tally.elements_framed;
    absl::StatusOr<xmpp::Element> first =
        ParseElement(event.xml, framer.scope());
    if (!first.ok()) {
      // Refusals are stream errors, never anything else.
      EXPECT_TRUE(GetStreamCondition(first.status()).has_value())
          << first.status() << " for " << absl::CHexEscape(event.xml);
      continue;
    }
    ++tally.elements_parsed;
    const std::string wire = first->ToString();
    absl::StatusOr<xmpp::Element> second = ParseElement(wire);
    ASSERT_TRUE(second.ok()) << "accepted " << absl::CHexEscape(event.xml)
                             << "\nwritten as " << absl::CHexEscape(wire)
                             << "\nwhich does not parse: " << second.status();
    ASSERT_TRUE(*first == *second)
        << "accepted " << absl::CHexEscape(event.xml) << "\nwritten as "
        << absl::CHexEscape(wire) << "\nwhich parses to "
        << absl::CHexEscape(second->ToString());
  }
}

// Verifies parse → serialise → parse over generated stanzas.
TEST(RoundTripPropertyTest, GeneratedElements) {
  Generator gen(20260513);
  Tally tally;
  for (int i = 0; i < 20000 && !testing::Test::HasFatalFailure(); ++i) {
    CheckInput(gen.Element(3), 1 + gen.Uniform(64), tally);
  }
  // The generator must reach the interesting part of the input space.
  EXPECT_GT(tally.elements_parsed, 2000);
  EXPECT_GT(tally.elements_framed, tally.elements_parsed);
}

// Verifies the same over mutated stanzas, several per input.
TEST(RoundTripPropertyTest, MutatedElements) {
  Generator gen(7);
  Tally tally;
  for (int i = 0; i < 20000 && !testing::Test::HasFatalFailure(); ++i) {
    const std::string base = gen.Element(3);
    CheckInput(absl::StrCat(gen.Mutate(base), gen.Element(2)),
               1 + gen.Uniform(64), tally);
  }
  EXPECT_GT(tally.elements_parsed, 1000);
}

// The names of the issue's report, one by one.
TEST(RoundTripPropertyTest, IssueExamplesAreRefused) {
  for (const char* xml : {
           "<x:0y xmlns:x='urn:a'/>",
           "<x:-y xmlns:x='urn:a'/>",
           "<x:.y xmlns:x='urn:a'/>",
           "<message><x:0y xmlns:x='urn:a'/></message>",
           "<message x:0y='1' xmlns:x='urn:a'/>",
           "<message><a\xC3\x97/></message>",
           "<message><\xE2\x80\x80/></message>",
           "<message><a\xE2\x80\x80/></message>",
           "<message a\xC3\x97='1'/>",
           "<0p:a xmlns:0p='urn:a'/>",
       }) {
    SCOPED_TRACE(absl::CHexEscape(xml));
    absl::StatusOr<xmpp::Element> parsed = ParseElement(xml);
    ASSERT_FALSE(parsed.ok()) << parsed->ToString();
    EXPECT_EQ(GetStreamCondition(parsed.status()),
              StreamCondition::kNotWellFormed);
  }
}

}  // namespace
}  // namespace talkcheck::xmpp
