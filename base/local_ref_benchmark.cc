// What LocalRef saves: a copy and its release of a std::shared_ptr next to the
// same of a LocalRef, in one run. With a second thread started (as in every
// talkcheck process), shared_ptr's counts are atomic read-modify-writes.
//
//   bazel run -c opt //base:local_ref_benchmark
#include <functional>
#include <memory>
#include <thread>

#include "base/local_ref.h"
#include "benchmark/benchmark.h"

namespace talkcheck {
namespace {

using Handler = std::function<void(int)>;

// libstdc++ counts without atomics until the process has started a thread.
void StartAThread() {
  static const bool started = [] {
    std::thread([] {}).join();
    return true;
  }();
  benchmark::DoNotOptimize(started);
}

void BM_SharedPtrCopy(benchmark::State& state) {
  StartAThread();
  const auto stored = std::make_shared<Handler>([](int) {});
  for (auto _ : state) {
    const std::shared_ptr<Handler> held = stored;  // as a delivery holds it
    benchmark::DoNotOptimize(held.get());
  }
}
BENCHMARK(BM_SharedPtrCopy);

void BM_WeakPtrLock(benchmark::State& state) {
  StartAThread();
  const auto owner = std::make_shared<int>(1);
  const std::weak_ptr<int> weak = owner;
  for (auto _ : state) {
    const std::shared_ptr<int> locked = weak.lock();  // as a send did
    benchmark::DoNotOptimize(locked.get());
  }
}
BENCHMARK(BM_WeakPtrLock);

void BM_LocalRefCopy(benchmark::State& state) {
  StartAThread();
  const auto stored = LocalRef<Handler>::Make([](int) {});
  for (auto _ : state) {
    const LocalRef<Handler> held = stored;
    benchmark::DoNotOptimize(held.get());
  }
}
BENCHMARK(BM_LocalRefCopy);

}  // namespace
}  // namespace talkcheck
