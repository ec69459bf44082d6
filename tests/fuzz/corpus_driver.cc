// A main() for a libFuzzer entry point without libFuzzer: runs
// LLVMFuzzerTestOneInput once over each file named on the command line, so the
// gcc build's `bazel test //...` exercises every fuzz target over its seed
// corpus and the findings kept as regression inputs. A crash or a failed CHECK
// in the entry point fails the test; the entry point's return value is ignored,
// as libFuzzer does.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_FILE...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", argv[i]);
      return 1;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    // A fresh copy of exactly `size` bytes, as libFuzzer passes, so that a read
    // past the end is an error the sanitizers can see.
    std::string copy(bytes);
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(copy.data()),
                           copy.size());
  }
  std::printf("%d inputs ran\n", argc - 1);
  return 0;
}
