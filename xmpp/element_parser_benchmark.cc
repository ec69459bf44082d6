// ParseElement (one pass) against ParseElementWithTinyxml2 (the parser it
// replaced) on four stanzas of a Google Talk call, side by side:
//
//   bazel run -c opt //xmpp:element_parser_benchmark
#include <string>

#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "xmpp/element.h"
#include "xmpp/element_parser_tinyxml2.h"

namespace talkcheck::xmpp {
namespace {

// A session initiate with nine payload types (from recorded_stream.xml).
constexpr absl::string_view kInitiate =
    "<iq to=\"romeo.montague@gmail.com/Talk.v1046C8B9D8\" type=\"set\" "
    "id=\"8\"><session xmlns=\"http://www.google.com/session\" "
    "type=\"initiate\" id=\"2190882963\" "
    "initiator=\"juliet.capulet@gmail.com/Talk.v104B1A4E5D3\"><description "
    "xmlns=\"http://www.google.com/session/phone\"><payload-type id=\"103\" "
    "name=\"ISAC\" clockrate=\"16000\" bitrate=\"32000\"/><payload-type "
    "id=\"97\" name=\"IPCMWB\" clockrate=\"16000\" "
    "bitrate=\"80000\"/><payload-type id=\"102\" name=\"iLBC\" "
    "clockrate=\"8000\" bitrate=\"13300\"/><payload-type id=\"4\" "
    "name=\"G723\" clockrate=\"8000\" bitrate=\"6400\"/><payload-type "
    "id=\"100\" name=\"EG711U\" clockrate=\"8000\" "
    "bitrate=\"64000\"/><payload-type id=\"101\" name=\"EG711A\" "
    "clockrate=\"8000\" bitrate=\"64000\"/><payload-type id=\"0\" "
    "name=\"PCMU\" clockrate=\"8000\" bitrate=\"64000\"/><payload-type "
    "id=\"8\" name=\"PCMA\" clockrate=\"8000\" "
    "bitrate=\"64000\"/><payload-type id=\"13\" name=\"CN\" "
    "clockrate=\"8000\"/></description></session></iq>";

// Candidates: local, STUN and relay.
constexpr absl::string_view kCandidates =
    "<iq to=\"romeo.montague@gmail.com/Talk.v1046C8B9D8\" type=\"set\" "
    "id=\"9\"><session xmlns=\"http://www.google.com/session\" "
    "type=\"candidates\" id=\"2190882963\" "
    "initiator=\"juliet.capulet@gmail.com/Talk.v104B1A4E5D3\"><candidate "
    "name=\"rtp\" address=\"192.168.2.63\" port=\"22410\" preference=\"1\" "
    "username=\"SBCBWxmoaJI5HWfR\" protocol=\"udp\" generation=\"0\" "
    "password=\"NalHxrbRatwMQRdB\" type=\"local\" network=\"0\"/><candidate "
    "name=\"rtp\" address=\"88.100.182.127\" port=\"45799\" "
    "preference=\"0.9\" username=\"oJ2e0sKrBaymUYIS\" protocol=\"udp\" "
    "generation=\"0\" password=\"U9fUFAyIzMRPzuKr\" type=\"stun\" "
    "network=\"0\"/><candidate name=\"rtp\" address=\"74.125.39.127\" "
    "port=\"19295\" preference=\"0.5\" username=\"Kx2bPq7dW0fLzY3n\" "
    "protocol=\"udp\" generation=\"0\" password=\"c8RmT1vQeHs4JwAa\" "
    "type=\"relay\" network=\"0\"/></session></iq>";

// Presence with entity capabilities and an avatar hash.
constexpr absl::string_view kPresence =
    "<presence><show>chat</show><priority>24</priority><status>Working on "
    "the balcony scene</status><c xmlns=\"http://jabber.org/protocol/caps\" "
    "node=\"http://www.google.com/xmpp/client/caps\" ver=\"1.0.0.104\" "
    "ext=\"voice-v1\"/><x xmlns=\"vcard-temp:x:update\"><photo>"
    "553c8c43efa66a79176a23c1b4a478e8309d200e</photo></x></presence>";

// The acknowledgement of a set.
constexpr absl::string_view kResult =
    "<iq type=\"result\" to=\"juliet.capulet@gmail.com/Talk.v104B1A4E5D3\" "
    "id=\"8\"/>";

template <typename Parser>
void Parse(benchmark::State& state, Parser parser, absl::string_view xml) {
  const NamespaceScope scope = NamespaceScope::ClientStream();
  for (auto _ : state) {
    absl::StatusOr<Element> element = parser(xml, scope);
    if (!element.ok()) state.SkipWithError("refused");
    benchmark::DoNotOptimize(element);
  }
  state.SetBytesProcessed(state.iterations() * xml.size());
}

void BM_ParseElement(benchmark::State& state, absl::string_view xml) {
  Parse(state, ParseElement, xml);
}

void BM_ParseElementWithTinyxml2(benchmark::State& state,
                                 absl::string_view xml) {
  Parse(state, ParseElementWithTinyxml2, xml);
}

BENCHMARK_CAPTURE(BM_ParseElement, initiate, kInitiate);
BENCHMARK_CAPTURE(BM_ParseElementWithTinyxml2, initiate, kInitiate);
BENCHMARK_CAPTURE(BM_ParseElement, candidates, kCandidates);
BENCHMARK_CAPTURE(BM_ParseElementWithTinyxml2, candidates, kCandidates);
BENCHMARK_CAPTURE(BM_ParseElement, presence, kPresence);
BENCHMARK_CAPTURE(BM_ParseElementWithTinyxml2, presence, kPresence);
BENCHMARK_CAPTURE(BM_ParseElement, result, kResult);
BENCHMARK_CAPTURE(BM_ParseElementWithTinyxml2, result, kResult);

}  // namespace
}  // namespace talkcheck::xmpp
