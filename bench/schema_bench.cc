// JSON Schema validation of a realistic document: the 1.2 KiB order in
// bench/schema/order.valid.json (and a variant with 25 violations) against a 20-property
// schema with a nested items array, 12 patterns, enums and formats. CPU per document
// from raw bytes (parse with a reused simdjson parser, then validate), in the fast mode
// (the answer only) and the reporting one (every violation, with its location).
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <fstream>
#include <sstream>
#include <string>

#include "schema/schema.h"

namespace {

std::string read(const std::string& name) {
  std::ifstream in(std::string(PORTICO_BENCH_DIR) + "/schema/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::shared_ptr<const portico::schema::Schema> order_schema() {
  static portico::schema::SchemaSet set;
  static std::shared_ptr<const portico::schema::Schema> schema = [] {
    if (!set.add("file:///bench/order.schema.json", read("order.schema.json"))) std::abort();
    auto s = set.compile("file:///bench/order.schema.json");
    if (!s) {
      std::fprintf(stderr, "%s\n", s.error().message.c_str());
      std::abort();
    }
    return *s;
  }();
  return schema;
}

void run(benchmark::State& state, const char* file, bool report) {
  auto schema = order_schema();
  simdjson::padded_string doc(read(file));
  simdjson::dom::parser parser;
  std::vector<portico::schema::Violation> violations;
  size_t found = 0;
  for (auto _ : state) {
    simdjson::dom::element root;
    if (parser.parse(doc).get(root) != simdjson::SUCCESS) std::abort();
    violations.clear();
    bool ok = schema->validate(root, report ? &violations : nullptr);
    benchmark::DoNotOptimize(ok);
    found = violations.size();
  }
  state.counters["bytes"] = static_cast<double>(doc.size());
  state.counters["violations"] = static_cast<double>(found);
}

void BM_ParseOnly(benchmark::State& state) {
  simdjson::padded_string doc(read("order.valid.json"));
  simdjson::dom::parser parser;
  for (auto _ : state) {
    simdjson::dom::element root;
    benchmark::DoNotOptimize(parser.parse(doc).get(root));
  }
}
void BM_ValidOrder(benchmark::State& state) { run(state, "order.valid.json", false); }
void BM_ValidOrderReporting(benchmark::State& state) { run(state, "order.valid.json", true); }
void BM_InvalidOrderFirstFailure(benchmark::State& state) {
  run(state, "order.invalid.json", false);
}
void BM_InvalidOrderEveryViolation(benchmark::State& state) {
  run(state, "order.invalid.json", true);
}

BENCHMARK(BM_ParseOnly);
BENCHMARK(BM_ValidOrder);
BENCHMARK(BM_ValidOrderReporting);
BENCHMARK(BM_InvalidOrderFirstFailure);
BENCHMARK(BM_InvalidOrderEveryViolation);

}  // namespace

BENCHMARK_MAIN();
