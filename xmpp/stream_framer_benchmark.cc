// Throughput of the receive path on a recorded Google Talk client stream:
// framing alone, framing plus ParseElement, and ParseElement alone (to tell the
// two costs apart).
//
//   bazel run -c opt //xmpp:stream_framer_benchmark
//
// The stream is read from $TALKCHECK_RECORDED_STREAM if set, else from the
// runfiles
// (`xmpp/testdata/recorded_stream.xml` under the workspace's runfiles root,
// where `bazel run` starts), else from the source tree when run from the
// workspace.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "benchmark/benchmark.h"
#include "xmpp/element.h"
#include "xmpp/stream_framer.h"

namespace talkcheck::xmpp {
namespace {

constexpr char kRelativePath[] = "xmpp/testdata/recorded_stream.xml";

bool ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return !out.empty();
}

const std::string& RecordedStream() {
  static const std::string* const kStream = [] {
    std::vector<std::string> candidates;
    if (const char* env = std::getenv("TALKCHECK_RECORDED_STREAM")) {
      candidates.push_back(env);
    }
    candidates.push_back(kRelativePath);
    for (const char* root : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
      if (const char* dir = std::getenv(root)) {
        candidates.push_back(absl::StrCat(dir, "/talkcheck/", kRelativePath));
      }
    }
    if (const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY")) {
      candidates.push_back(absl::StrCat(workspace, "/", kRelativePath));
    }
    auto* stream = new std::string;
    for (const std::string& path : candidates) {
      if (ReadFile(path, *stream)) return stream;
    }
    std::fprintf(stderr,
                 "cannot read %s; set TALKCHECK_RECORDED_STREAM to its path\n",
                 kRelativePath);
    std::exit(1);
  }();
  return *kStream;
}

// Feeds the whole stream in reads of `chunk` bytes, as a socket would deliver
// it. Returns the number of stanzas framed; with `parse`, each one also goes
// through ParseElement with the header's bindings.
int FrameStream(absl::string_view stream, size_t chunk, bool parse,
                std::vector<StreamFramer::Event>& events) {
  StreamFramer framer;
  int stanzas = 0;
  for (size_t pos = 0; pos < stream.size(); pos += chunk) {
    events.clear();
    absl::Status status = framer.Feed(stream.substr(pos, chunk), events);
    if (!status.ok()) {
      std::fprintf(stderr, "framer: %s\n", status.ToString().c_str());
      std::abort();
    }
    for (const StreamFramer::Event& event : events) {
      if (event.type != StreamFramer::EventType::kElement) continue;
      ++stanzas;
      if (parse) {
        absl::StatusOr<Element> element =
            ParseElement(event.xml, framer.scope());
        if (!element.ok()) {
          std::fprintf(stderr, "parse: %s\n",
                       element.status().ToString().c_str());
          std::abort();
        }
        benchmark::DoNotOptimize(element);
      }
    }
  }
  if (!framer.closed()) std::abort();
  return stanzas;
}

void BM_Framer(benchmark::State& state) {
  const std::string& stream = RecordedStream();
  std::vector<StreamFramer::Event> events;
  int stanzas = 0;
  for (auto _ : state) {
    stanzas =
        FrameStream(stream, static_cast<size_t>(state.range(0)), false, events);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
  state.counters["stanzas"] = stanzas;
}
// 1400: one TLS record off a typical MTU; 4096: a common read size; 65536: a
// big read.
BENCHMARK(BM_Framer)->Arg(1400)->Arg(4096)->Arg(65536);

void BM_FramerAndParse(benchmark::State& state) {
  const std::string& stream = RecordedStream();
  std::vector<StreamFramer::Event> events;
  int stanzas = 0;
  for (auto _ : state) {
    stanzas =
        FrameStream(stream, static_cast<size_t>(state.range(0)), true, events);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(stream.size()));
  state.counters["stanzas"] = stanzas;
}
BENCHMARK(BM_FramerAndParse)->Arg(1400)->Arg(4096)->Arg(65536);

// ParseElement on the already-framed stanzas; bytes are the stanzas' own.
void BM_ParseOnly(benchmark::State& state) {
  StreamFramer framer;
  std::vector<StreamFramer::Event> events;
  if (!framer.Feed(RecordedStream(), events).ok()) std::abort();
  std::vector<std::string> stanzas;
  int64_t bytes = 0;
  for (const StreamFramer::Event& event : events) {
    if (event.type != StreamFramer::EventType::kElement) continue;
    stanzas.push_back(event.xml);
    bytes += static_cast<int64_t>(event.xml.size());
  }
  for (auto _ : state) {
    for (const std::string& xml : stanzas) {
      absl::StatusOr<Element> element = ParseElement(xml, framer.scope());
      benchmark::DoNotOptimize(element);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * bytes);
}
BENCHMARK(BM_ParseOnly);

}  // namespace
}  // namespace talkcheck::xmpp
