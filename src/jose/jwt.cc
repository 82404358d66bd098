#include "jose/jwt.h"

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/base64.h"
#include "core/strings.h"

namespace portico::jose {
namespace {

namespace json = boost::json;

Result<json::object> decode_object(std::string_view b64, const char* what) {
  auto bytes = base64url_decode(b64);
  if (!bytes) return Error{fmt::format("the token's {} is not base64url", what)};
  json::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return Error{fmt::format("the token's {} is not a JSON object", what)};
  return std::move(v.as_object());
}

std::optional<double> number(const json::object& o, const char* name, bool& present) {
  const json::value* v = o.if_contains(name);
  present = v != nullptr;
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->as_int64());
  if (v->is_uint64()) return static_cast<double>(v->as_uint64());
  if (v->is_double()) return v->as_double();
  return std::nullopt;
}

// "JWT", "jwt" and "application/jwt" are the same type (RFC 7515 4.1.9).
std::string normal_type(std::string_view t) {
  std::string lower = to_lower(t);
  if (lower.rfind("application/", 0) == 0) lower.erase(0, 12);
  return lower;
}

}  // namespace

Result<Jwt> parse_jwt(std::string_view token, size_t max_bytes) {
  if (token.size() > max_bytes) return Error{fmt::format("the token is larger than {} bytes", max_bytes)};
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Error{"the token is not a JWS compact serialization (three parts separated by dots)"};
  }
  auto header = decode_object(token.substr(0, dot1), "header");
  if (!header) return header.error();

  Jwt jwt;
  const json::value* alg = header->if_contains("alg");
  if (alg == nullptr || !alg->is_string()) return Error{"the token's header has no \"alg\""};
  std::string_view alg_text = alg->as_string();
  auto parsed = parse_alg(alg_text);
  if (!parsed) {
    if (iequals(alg_text, "none")) return Error{"unsigned tokens (alg \"none\") are not accepted"};
    return Error{fmt::format("the algorithm \"{}\" is not supported", alg_text.substr(0, 32))};
  }
  jwt.alg = *parsed;
  if (header->if_contains("crit") != nullptr) return Error{"the token has critical header extensions, none of which are supported"};
  if (const json::value* kid = header->if_contains("kid")) {
    if (!kid->is_string()) return Error{"the token's \"kid\" is not a string"};
    jwt.kid = std::string(kid->as_string());
  }
  if (const json::value* typ = header->if_contains("typ"); typ != nullptr && typ->is_string()) {
    jwt.typ = std::string(typ->as_string());
  }

  auto claims = decode_object(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!claims) return claims.error();
  jwt.claims = std::move(*claims);
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!signature || signature->empty()) return Error{"the token's signature is missing or not base64url"};
  jwt.signature = std::move(*signature);
  jwt.signing_input = token.substr(0, dot2);
  return jwt;
}

bool verify_signature(const Jwt& jwt, const std::vector<const Key*>& candidates) {
  for (const Key* k : candidates) {
    if (k->verify(jwt.alg, jwt.signing_input, jwt.signature)) return true;
  }
  return false;
}

std::optional<double> expiry(const Jwt& jwt) {
  bool present;
  return number(jwt.claims, "exp", present);
}

std::optional<std::string> check_claims(const Jwt& jwt, const ClaimRules& rules, double now) {
  const json::object& c = jwt.claims;
  double leeway = static_cast<double>(rules.leeway_s);
  bool present = false;
  auto exp = number(c, "exp", present);
  if (present && !exp) return "the \"exp\" claim is not a number";
  if (exp && now >= *exp + leeway) return "the token has expired";
  auto nbf = number(c, "nbf", present);
  if (present && !nbf) return "the \"nbf\" claim is not a number";
  if (nbf && now + leeway < *nbf) return "the token is not valid yet";
  auto iat = number(c, "iat", present);
  if (present && !iat) return "the \"iat\" claim is not a number";
  if (iat && *iat > now + leeway) return "the token was issued in the future";
  if (rules.max_age_s > 0) {
    if (!iat) return "the token has no \"iat\" claim, so its age is unknown";
    if (now - *iat > static_cast<double>(rules.max_age_s) + leeway) return "the token is too old";
  }
  if (!rules.issuers.empty()) {
    const json::value* iss = c.if_contains("iss");
    bool ok = iss != nullptr && iss->is_string() &&
              std::find(rules.issuers.begin(), rules.issuers.end(), std::string_view(iss->as_string())) != rules.issuers.end();
    if (!ok) return "the token's issuer is not accepted";
  }
  if (!rules.audiences.empty()) {
    const json::value* aud = c.if_contains("aud");
    auto accepted = [&](const json::value& v) {
      return v.is_string() && std::find(rules.audiences.begin(), rules.audiences.end(), std::string_view(v.as_string())) !=
                                  rules.audiences.end();
    };
    bool ok = aud != nullptr && (accepted(*aud) || (aud->is_array() && std::any_of(aud->as_array().begin(),
                                                                                    aud->as_array().end(), accepted)));
    if (!ok) return "the token's audience is not accepted";
  }
  for (const auto& name : rules.required) {
    if (c.if_contains(name) == nullptr) return fmt::format("the token has no \"{}\" claim", name);
  }
  if (!rules.typ.empty() && normal_type(jwt.typ) != normal_type(rules.typ)) {
    return fmt::format("the token's type is not \"{}\"", rules.typ);
  }
  return std::nullopt;
}

}  // namespace portico::jose
