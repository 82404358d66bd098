// JWTs in JWS compact serialization (RFC 7515/7519): parsing with the checks that must
// come before any key is touched, and the registered-claim rules that come after the
// signature. Headers that would make Portico fetch or trust keys from the token itself
// (jku, x5u, jwk, x5c) are never used.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.h"
#include "jose/key.h"

namespace portico::jose {

struct Jwt {
  std::string_view signing_input;  // header.payload, a view into the token
  Alg alg = Alg::kRS256;
  std::optional<std::string> kid;
  std::string typ;
  boost::json::object claims;
  std::string signature;  // decoded
};

// Refuses (with the reason): more or fewer than three parts, bad base64url, a header or
// payload that is not a JSON object, alg "none" or unknown, "crit" extensions (none are
// supported), and tokens over max_bytes.
Result<Jwt> parse_jwt(std::string_view token, size_t max_bytes);

// Verifies the signature with the first candidate key that succeeds.
bool verify_signature(const Jwt& jwt, const std::vector<const Key*>& candidates);

struct ClaimRules {
  std::vector<std::string> issuers;    // accepted "iss" values; empty: not checked
  std::vector<std::string> audiences;  // at least one must be in "aud"; empty: not checked
  std::vector<std::string> required;   // claims that must be present
  std::string typ;                     // expected "typ" header; empty: not checked
  int64_t leeway_s = 0;                // clock skew allowed for exp, nbf, iat
  int64_t max_age_s = 0;               // tokens issued longer ago are refused; 0: off
};

// nullopt when the claims pass; else why not, in words fit for an error_description.
std::optional<std::string> check_claims(const Jwt& jwt, const ClaimRules& rules, double now_s);

// The expiry ("exp") in seconds, or nullopt.
std::optional<double> expiry(const Jwt& jwt);

}  // namespace portico::jose
