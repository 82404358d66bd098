// Verification keys for JWS (RFC 7515/7517/7518/8037) on OpenSSL 3. A key's type fixes
// the algorithms it may verify: an RSA key only RS*/PS*, an EC key only the ES alg of
// its curve, an Ed25519 key only EdDSA, a shared secret only HS*. So a public key can
// never be used as an HMAC secret (the "alg confusion" attack), whatever a token says.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace portico::jose {

enum class Alg : uint8_t {
  kHS256, kHS384, kHS512,
  kRS256, kRS384, kRS512,
  kPS256, kPS384, kPS512,
  kES256, kES384, kES512,
  kEdDSA,
};
inline constexpr int kAlgCount = 13;

// "RS256" -> Alg; nullopt for "none" and anything unknown.
std::optional<Alg> parse_alg(std::string_view name);
const char* alg_name(Alg alg);
bool is_hmac(Alg alg);

class Key {
 public:
  enum class Type : uint8_t { kRsa, kEc, kEd25519, kSecret };

  // A JWK (RFC 7517): kty RSA (n, e), EC (crv P-256/P-384/P-521, x, y), OKP (crv
  // Ed25519, x) or oct (k). Private members are ignored. "alg" (if present) narrows the
  // key to that one algorithm; "use": "enc" keys are refused.
  static Result<std::shared_ptr<const Key>> from_jwk(const boost::json::object& jwk);
  // A PEM public key (SubjectPublicKeyInfo) or X.509 certificate; alg optional.
  static Result<std::shared_ptr<const Key>> from_pem(std::string_view pem, std::optional<Alg> alg, std::string kid = {});
  // An HMAC secret for one HS algorithm; at least as long as the hash (RFC 7518 3.2).
  static Result<std::shared_ptr<const Key>> from_secret(std::string secret, Alg alg, std::string kid = {});

  ~Key();
  Key(const Key&) = delete;
  Key& operator=(const Key&) = delete;

  bool allows(Alg alg) const;
  // Verifies a signature over the JWS signing input; ES signatures are raw r||s.
  bool verify(Alg alg, std::string_view signing_input, std::string_view signature) const;

  Type type() const { return type_; }
  const std::string& kid() const { return kid_; }
  std::optional<Alg> alg() const { return alg_; }
  // "RSA 2048 bits", "EC P-256", "Ed25519", "secret 512 bits": never key material.
  std::string describe() const;

 private:
  Key() = default;
  bool verify_hmac(Alg alg, std::string_view input, std::string_view signature) const;
  bool verify_pkey(Alg alg, std::string_view input, std::string_view signature) const;

  Type type_ = Type::kRsa;
  std::string kid_;
  std::optional<Alg> alg_;  // set: only this algorithm
  Alg ec_alg_ = Alg::kES256;  // EC keys: the algorithm of the curve
  int bits_ = 0;
  EVP_PKEY* pkey_ = nullptr;
  std::string secret_;
};

// The keys a token may be verified with.
class KeySet {
 public:
  KeySet() = default;
  explicit KeySet(std::vector<std::shared_ptr<const Key>> keys) : keys_(std::move(keys)) {}

  // With a kid: the key with that kid, if it allows alg. Without: every key that allows
  // alg (at most max_tries, so a token without kid cannot make Portico try hundreds).
  std::vector<const Key*> candidates(std::optional<std::string_view> kid, Alg alg, size_t max_tries = 8) const;
  bool has_kid(std::string_view kid) const;
  const std::vector<std::shared_ptr<const Key>>& keys() const { return keys_; }
  bool empty() const { return keys_.empty(); }

 private:
  std::vector<std::shared_ptr<const Key>> keys_;
};

// Lower-case hex SHA-256 of data (API keys are stored and compared this way).
std::string sha256_hex(std::string_view data);

// A JWK Set document ({"keys": [...]}). Keys that are unusable here (encryption keys,
// unknown types or curves, too short) are skipped and described in `skipped`; a document
// with no usable key at all is an error.
Result<KeySet> parse_jwks(std::string_view json, std::vector<std::string>* skipped = nullptr);

}  // namespace portico::jose
