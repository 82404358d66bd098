// The local store's cost per decision: one GCRA take under the shard lock, for one hot
// key shared by every thread (the worst case: all requests of a benchmark come from one
// client address) and for keys spread over many clients; and a quota counter's take.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <string>
#include <vector>

#include "core/clock.h"
#include "ratelimit/local_store.h"
#include "ratelimit/quota_book.h"

namespace {

using portico::ratelimit::LocalStore;
using portico::ratelimit::QuotaBook;

constexpr int64_t kInterval = 10;              // ns: 100M/s, never refused
constexpr int64_t kBurst = 1'000'000'000;

LocalStore& shared_store() {
  static LocalStore store(100'000);
  return store;
}

std::vector<std::string> client_keys(size_t n) {
  std::vector<std::string> keys;
  for (size_t i = 0; i < n; ++i) keys.push_back("10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256));
  return keys;
}

void BM_TakeOneHotKey(benchmark::State& state) {
  LocalStore& store = shared_store();
  for (auto _ : state) {
    auto d = store.take("127.0.0.1", portico::monotonic_ns(), kInterval, kBurst);
    benchmark::DoNotOptimize(d);
  }
}
BENCHMARK(BM_TakeOneHotKey)->Threads(1)->Threads(2)->UseRealTime();

// Takes keys in turn (each thread from its own offset) until the benchmark stops.
void take_in_turn(benchmark::State& state, LocalStore& store, const std::vector<std::string>& keys) {
  size_t i = static_cast<size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    auto d = store.take(keys[i++ % keys.size()], portico::monotonic_ns(), kInterval, kBurst);
    benchmark::DoNotOptimize(d);
  }
}

void BM_TakeManyClients(benchmark::State& state) {
  static const std::vector<std::string> keys = client_keys(10'000);
  take_in_turn(state, shared_store(), keys);
}
BENCHMARK(BM_TakeManyClients)->Threads(1)->Threads(2)->UseRealTime();

// The same with a store per thread: what sharing the store costs (cache lines moving
// between cores), against no sharing at all.
void BM_TakeManyClientsOwnStore(benchmark::State& state) {
  static const std::vector<std::string> keys = client_keys(10'000);
  LocalStore store(100'000);
  take_in_turn(state, store, keys);
}
BENCHMARK(BM_TakeManyClientsOwnStore)->Threads(1)->Threads(2)->UseRealTime();

// Over max_keys: every take of a new key evicts one not used lately.
void BM_TakeEvicting(benchmark::State& state) {
  static LocalStore small(1'000);
  static const std::vector<std::string> keys = client_keys(100'000);
  take_in_turn(state, small, keys);
}
BENCHMARK(BM_TakeEvicting);

void BM_QuotaTake(benchmark::State& state) {
  static std::unique_ptr<QuotaBook> book = [] {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "portico-ratelimit-bench";
    std::filesystem::remove_all(dir);
    auto b = QuotaBook::open((dir / "quotas.sqlite3").string());
    if (!b) std::abort();
    return std::move(*b);
  }();
  int64_t used = 0;
  for (auto _ : state) {
    bool ok = book->take("plan\x1f" "acme\x1f" "2026-11-27", 1'000'000'000'000, 4'000'000'000, used);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_QuotaTake)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
