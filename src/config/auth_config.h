// Edge authentication and CORS as typed config: JWT and API-key methods, consumers, the
// per-route access policy and CORS rules. Keys given inline or in a JWKS file are parsed
// when the config loads (so a bad key is a config error); remote JWKS are fetched at run
// time.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "jose/jwt.h"
#include "jose/key.h"
#include "net/socket.h"

namespace portico::config {

// Where a credential is read from: the Authorization header's Bearer token, a header,
// a cookie or a query parameter.
struct CredentialSource {
  enum class Kind : uint8_t { kBearer, kHeader, kCookie, kQuery };
  Kind kind = Kind::kBearer;
  std::string name;  // header names in lower case
  std::string text;  // as written: "bearer", "header:X-Token", ...
};

struct RemoteJwks {
  std::string url;  // http(s)://host[:port]/path
  std::string connect_host;  // name or IP, resolved at each fetch (its addresses may change)
  uint16_t port = 0;
  std::string host;    // Host header
  std::string target;  // path and query
  bool tls = false;         // https: the certificate must match server_name
  std::string server_name;  // the host without its port
  std::string ca_file;      // trusted CAs (PEM); empty: the system's
  int64_t refresh_ms = 600'000;    // fetched again this often
  int64_t min_refetch_ms = 30'000;  // an unknown kid refetches at most this often
  int64_t timeout_ms = 5'000;
};

struct JwtMethod {
  std::vector<std::shared_ptr<const jose::Key>> keys;  // inline keys and the jwks_file's
  std::string jwks_file;
  std::optional<RemoteJwks> jwks_url;
  std::vector<jose::Alg> algorithms;  // accepted algorithms; empty: any the keys allow
  jose::ClaimRules rules;
  std::vector<CredentialSource> from;  // default: bearer
  std::vector<std::pair<std::string, std::string>> forward_claims;  // claim -> header name
  bool strip_token = false;  // do not pass the token on to the upstream
  std::string scopes_claim;  // empty: "scope" (space-separated) or else "scp" (list)
  std::string consumer_claim;  // a claim naming the consumer (by name or one of its ids)
  uint64_t cache_size = 10'000;  // verified tokens kept per worker; 0: no cache
  int64_t cache_ttl_ms = 300'000;
  uint64_t max_token_bytes = 16 * 1024;
  int unavailable_status = 503;  // keys cannot be had and none fits: 503 (or 401)
  bool accepts(jose::Alg alg) const {
    return algorithms.empty() || std::find(algorithms.begin(), algorithms.end(), alg) != algorithms.end();
  }
};

struct ApiKeyMethod {
  std::vector<CredentialSource> from;  // default: header:X-API-Key
  bool strip = true;                   // do not pass the key on to the upstream
};

// A Lambda authorizer: a function that decides (API Gateway's REQUEST or TOKEN type).
struct AuthorizerMethod {
  int function = -1;     // index into Config::functions
  bool token_type = false;  // TOKEN (authorizationToken, methodArn) instead of REQUEST
  std::vector<CredentialSource> identity;  // all must be present, else 401 without invoking
  int64_t cache_ttl_ms = 300'000;  // decisions kept per identity values; 0: invoke every time
  bool simple_response = true;     // {isAuthorized, context}; false: an IAM policy document
  std::vector<std::pair<std::string, std::string>> forward_context;  // context key -> header name
};

struct AuthMethod {
  enum class Kind : uint8_t { kJwt, kApiKey, kAuthorizer };
  std::string name;
  Kind kind = Kind::kJwt;
  JwtMethod jwt;
  ApiKeyMethod api_key;
  AuthorizerMethod authorizer;
  // Where the method's credential comes from (what "present" means for a route with
  // several methods).
  const std::vector<CredentialSource>& sources() const {
    return kind == Kind::kJwt ? jwt.from : kind == Kind::kApiKey ? api_key.from : authorizer.identity;
  }
};

struct Consumer {
  std::string name;
  std::vector<std::string> key_hashes;  // lower-case hex SHA-256 of each API key
  std::vector<std::string> ids;         // values of a JWT method's consumer_claim
  std::vector<std::string> groups;
  int plan = -1;  // index into Config::usage_plans; -1: none
};

struct Consumers {
  std::vector<Consumer> list;
  std::string file;  // when read from a file
  std::unordered_map<std::string, size_t> by_key_hash;
  std::unordered_map<std::string, size_t> by_name_or_id;
};

struct ClaimRequirement {
  std::string claim;
  std::vector<std::string> values;  // the claim (or one of its values) must be one of these
};

// Who may use a route once authenticated; every listed condition must hold.
struct AccessPolicy {
  std::vector<std::string> scopes;  // all of them
  std::vector<ClaimRequirement> claims;
  std::vector<std::string> consumers;  // allow only these (by name) ...
  std::vector<std::string> groups;     // ... or consumers in these groups
  std::vector<std::string> deny_consumers;
  std::vector<std::string> deny_groups;
  bool empty() const {
    return scopes.empty() && claims.empty() && consumers.empty() && groups.empty() && deny_consumers.empty() &&
           deny_groups.empty();
  }
};

struct Cors {
  bool enabled = false;
  std::vector<std::string> origins;  // "https://app.example.com", "https://*.example.com" or "*"
  std::vector<std::string> methods;  // allowed; empty: the route's methods (or the common ones)
  std::vector<std::string> headers;  // allowed request headers (lower case); empty: any requested
  std::vector<std::string> expose_headers;
  bool credentials = false;
  int64_t max_age_s = 600;
};

}  // namespace portico::config
