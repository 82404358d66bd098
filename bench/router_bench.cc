// Route matching cost as the table grows to 10,000 routes, against a linear scan of the
// same patterns as the naive baseline. Run: build/release/bench/router_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "http/router.h"

using portico::http::PathPattern;
using portico::http::Router;

namespace {

// A realistic mix: /api/v1/<resource i>/{id}, /api/v1/<resource i>/{id}/items/{item},
// and one catch-all per 100 resources.
struct Table {
  Router router;
  std::vector<std::string> hit_paths;
  std::vector<std::string> patterns;
};

Table build(int routes) {
  Table t;
  int id = 0;
  for (int i = 0; id < routes; ++i) {
    std::string base = "/api/v1/resource" + std::to_string(i);
    std::vector<std::string> pats = {base + "/{id}", base + "/{id}/items/{item}"};
    if (i % 100 == 0) pats.push_back(base + "/static/{path...}");
    size_t added = 0;
    for (const auto& p : pats) {
      if (id >= routes) break;
      auto pattern = portico::http::parse_path_pattern(p);
      if (!t.router.add("", {"GET"}, *pattern, id++)) abort();
      t.patterns.push_back(p);
      ++added;
    }
    if (added >= 2) t.hit_paths.push_back(base + "/42/items/7");
  }
  return t;
}

void BM_RouterMatch(benchmark::State& state) {
  Table t = build(static_cast<int>(state.range(0)));
  Router::Match m;
  size_t i = 0;
  for (auto _ : state) {
    const std::string& path = t.hit_paths[i++ % t.hit_paths.size()];
    bool ok = t.router.match("api.example.com", "GET", path, m);
    benchmark::DoNotOptimize(ok);
    if (!ok) state.SkipWithError("no match");
  }
  state.SetLabel(std::to_string(t.router.size()) + " routes");
}
BENCHMARK(BM_RouterMatch)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

void BM_RouterMiss(benchmark::State& state) {
  Table t = build(static_cast<int>(state.range(0)));
  Router::Match m;
  for (auto _ : state) {
    bool ok = t.router.match("api.example.com", "GET", "/api/v1/unknown/42", m);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_RouterMiss)->Arg(10000);

// Baseline: what a route list scanned in order would cost (segment-wise compare).
bool linear_match(const std::vector<std::string>& patterns, const std::string& path) {
  for (const auto& p : patterns) {
    size_t a = 0, b = 0;
    bool ok = true;
    while (a < p.size() && b < path.size()) {
      size_t pe = p.find('/', a + 1), qe = path.find('/', b + 1);
      if (pe == std::string::npos) pe = p.size();
      if (qe == std::string::npos) qe = path.size();
      if (p[a + 1] != '{' && p.compare(a, pe - a, path, b, qe - b) != 0) {
        ok = false;
        break;
      }
      a = pe;
      b = qe;
    }
    if (ok && a == p.size() && b == path.size()) return true;
  }
  return false;
}

void BM_LinearScanBaseline(benchmark::State& state) {
  Table t = build(static_cast<int>(state.range(0)));
  size_t i = 0;
  for (auto _ : state) {
    bool ok = linear_match(t.patterns, t.hit_paths[i++ % t.hit_paths.size()]);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_LinearScanBaseline)->Arg(100)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();
