// Fuzzes the JWT parser and what runs after it on attacker-controlled tokens: parsing,
// signature checks against fixed keys (which must never pass for fuzzed input), and the
// claim rules. No crash, no leak, no undefined behaviour.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <boost/json.hpp>

#include "jose/jwt.h"

using namespace portico::jose;

namespace {
const KeySet& keys() {
  static const KeySet set = [] {
    std::vector<std::shared_ptr<const Key>> k;
    auto ec = Key::from_jwk(boost::json::parse(R"({"kty":"EC","crv":"P-256","kid":"ec",
      "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})").as_object());
    auto hs = Key::from_secret(std::string(64, 'k'), Alg::kHS256, "hs");
    k.push_back(*ec);
    k.push_back(*hs);
    return KeySet(std::move(k));
  }();
  return set;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  auto jwt = parse_jwt(token, 16 * 1024);
  if (!jwt) return 0;
  std::optional<std::string_view> kid;
  if (jwt->kid) kid = *jwt->kid;
  if (verify_signature(*jwt, keys().candidates(kid, jwt->alg))) abort();  // no forgery from fuzzed bytes
  ClaimRules rules;
  rules.issuers = {"https://id.example.com"};
  rules.audiences = {"api"};
  rules.required = {"sub"};
  rules.typ = "JWT";
  rules.max_age_s = 3600;
  (void)check_claims(*jwt, rules, 1.7e9);
  (void)expiry(*jwt);
  return 0;
}
