// Request-head parsing cost for a typical browser-like request, a minimal one, and an
// API call carrying a real-sized RS256 JWT (the common case behind a JWT-checking route).
#include <benchmark/benchmark.h>

#include <string>

#include "http/parser.h"

using namespace portico::http;

namespace {

constexpr std::string_view kSmall = "GET /small.json HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n";
constexpr std::string_view kBrowser =
    "GET /api/v1/products/42?fields=name,price HTTP/1.1\r\n"
    "Host: api.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n"
    "Accept: application/json, text/plain, */*\r\n"
    "Accept-Language: en-GB,en;q=0.9\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Authorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.signature\r\n"
    "Cookie: session=abcdef0123456789; theme=dark\r\n"
    "X-Request-Id: 9f1c2b7e-1d2a-4c3b-8e9f-0a1b2c3d4e5f\r\n"
    "Connection: keep-alive\r\n\r\n";

// An API client's request with a ~600-byte RS256 access token.
const std::string kJwtRequest =
    "GET /api/orders/42 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: orders-client/1.4\r\n"
    "Accept: application/json\r\nAuthorization: Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6InJzLTEiLCJ0eXAiOiJKV1QifQ." +
    std::string(200, 'e') + "." + std::string(342, 's') + "\r\n\r\n";

void parse(benchmark::State& state, std::string_view text) {
  ParseLimits limits;
  RequestHead head;
  head.headers.reserve(32);
  ParseError err;
  for (auto _ : state) {
    auto r = parse_request(text, limits, head, err);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * text.size()));
}

void BM_ParseSmall(benchmark::State& state) { parse(state, kSmall); }
void BM_ParseBrowser(benchmark::State& state) { parse(state, kBrowser); }
BENCHMARK(BM_ParseSmall);
BENCHMARK(BM_ParseBrowser);
void BM_ParseJwtRequest(benchmark::State& state) { parse(state, kJwtRequest); }
BENCHMARK(BM_ParseJwtRequest);

}  // namespace

BENCHMARK_MAIN();
