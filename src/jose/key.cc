#include "jose/key.h"

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/base64.h"

namespace portico::jose {
namespace {

namespace json = boost::json;

constexpr const char* kAlgNames[kAlgCount] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256",
                                              "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"};
constexpr int kMinRsaBits = 2048;  // RFC 7518 3.3

// The hash of an algorithm: 256, 384 or 512 (EdDSA has none of its own).
int hash_bits(Alg alg) {
  switch (alg) {
    case Alg::kHS256: case Alg::kRS256: case Alg::kPS256: case Alg::kES256: return 256;
    case Alg::kHS384: case Alg::kRS384: case Alg::kPS384: case Alg::kES384: return 384;
    case Alg::kHS512: case Alg::kRS512: case Alg::kPS512: case Alg::kES512: return 512;
    case Alg::kEdDSA: return 0;
  }
  return 0;
}

const EVP_MD* digest(Alg alg) {
  switch (hash_bits(alg)) {
    case 256: return EVP_sha256();
    case 384: return EVP_sha384();
    case 512: return EVP_sha512();
    default: return nullptr;
  }
}

bool is_rsa(Alg a) { return a >= Alg::kRS256 && a <= Alg::kPS512; }
bool is_pss(Alg a) { return a >= Alg::kPS256 && a <= Alg::kPS512; }
bool is_ec(Alg a) { return a >= Alg::kES256 && a <= Alg::kES512; }

struct Curve {
  const char* jwk_name;
  const char* openssl_name;
  size_t coordinate_bytes;
  Alg alg;
};
constexpr Curve kCurves[] = {
    {"P-256", "prime256v1", 32, Alg::kES256},
    {"P-384", "secp384r1", 48, Alg::kES384},
    {"P-521", "secp521r1", 66, Alg::kES512},
};

const Curve* curve_by_openssl_name(std::string_view name) {
  for (const auto& c : kCurves) {
    if (name == c.openssl_name) return &c;
  }
  return nullptr;
}

const Curve* curve_of_alg(Alg alg) {
  for (const auto& c : kCurves) {
    if (c.alg == alg) return &c;
  }
  return nullptr;
}

// A base64url member of a JWK, decoded.
Result<std::string> member(const json::object& jwk, const char* name) {
  const json::value* v = jwk.if_contains(name);
  if (v == nullptr || !v->is_string()) return Error{fmt::format("missing \"{}\"", name)};
  auto bytes = base64url_decode(std::string_view(v->as_string()));
  if (!bytes || bytes->empty()) return Error{fmt::format("\"{}\" is not base64url", name)};
  return *bytes;
}

std::string string_member(const json::object& jwk, const char* name) {
  const json::value* v = jwk.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Builds a public EVP_PKEY of `type` from OpenSSL parameters.
EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
    pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

bool public_key_valid(EVP_PKEY* pkey) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(pkey, nullptr);
  bool ok = ctx != nullptr && EVP_PKEY_public_check(ctx) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

EVP_PKEY* rsa_key(const std::string& n, const std::string& e) {
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    pkey = from_params("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  return pkey;
}

EVP_PKEY* ec_key(const Curve& curve, const std::string& x, const std::string& y) {
  std::string point = "\x04" + x + y;  // uncompressed: 04 || X || Y
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve.openssl_name, 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1) {
    pkey = from_params("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (pkey != nullptr && !public_key_valid(pkey)) {  // the point must be on the curve
    EVP_PKEY_free(pkey);
    pkey = nullptr;
  }
  return pkey;
}

// ES signatures are r || s, each the size of a coordinate; OpenSSL wants DER.
bool raw_to_der(std::string_view raw, size_t coordinate_bytes, std::string& der) {
  if (raw.size() != 2 * coordinate_bytes) return false;
  auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, static_cast<int>(coordinate_bytes), nullptr);
  BIGNUM* s = BN_bin2bn(bytes + coordinate_bytes, static_cast<int>(coordinate_bytes), nullptr);
  ECDSA_SIG* sig = ECDSA_SIG_new();
  if (r == nullptr || s == nullptr || sig == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  int len = i2d_ECDSA_SIG(sig, nullptr);
  bool ok = len > 0;
  if (ok) {
    der.resize(static_cast<size_t>(len));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    ok = i2d_ECDSA_SIG(sig, &out) == len;
  }
  ECDSA_SIG_free(sig);  // frees r and s
  return ok;
}

}  // namespace

std::optional<Alg> parse_alg(std::string_view name) {
  for (int i = 0; i < kAlgCount; ++i) {
    if (name == kAlgNames[i]) return static_cast<Alg>(i);
  }
  return std::nullopt;
}

const char* alg_name(Alg alg) { return kAlgNames[static_cast<int>(alg)]; }

bool is_hmac(Alg alg) { return alg <= Alg::kHS512; }

Key::~Key() { EVP_PKEY_free(pkey_); }

Result<std::shared_ptr<const Key>> Key::from_jwk(const json::object& jwk) {
  std::string kty = string_member(jwk, "kty");
  std::string use = string_member(jwk, "use");
  if (!use.empty() && use != "sig") return Error{fmt::format("\"use\": \"{}\" is not a signature key", use)};
  if (const json::value* ops = jwk.if_contains("key_ops"); ops != nullptr) {
    bool verify = ops->is_array() && std::any_of(ops->as_array().begin(), ops->as_array().end(), [](const json::value& o) {
      return o.is_string() && o.as_string() == "verify";
    });
    if (!verify) return Error{"\"key_ops\" does not include \"verify\""};
  }
  std::optional<Alg> alg;
  if (std::string a = string_member(jwk, "alg"); !a.empty()) {
    alg = parse_alg(a);
    if (!alg) return Error{fmt::format("\"alg\": \"{}\" is not a supported signature algorithm", a)};
  }
  std::string kid = string_member(jwk, "kid");

  if (kty == "oct") {
    auto k = member(jwk, "k");
    if (!k) return k.error();
    if (!alg) return Error{"a secret (kty \"oct\") needs \"alg\" (HS256, HS384 or HS512)"};
    return from_secret(std::move(*k), *alg, kid);
  }

  std::unique_ptr<Key> key(new Key);
  key->kid_ = std::move(kid);
  key->alg_ = alg;
  if (kty == "RSA") {
    auto n = member(jwk, "n");
    auto e = member(jwk, "e");
    if (!n) return n.error();
    if (!e) return e.error();
    key->type_ = Type::kRsa;
    key->pkey_ = rsa_key(*n, *e);
    if (key->pkey_ == nullptr) return Error{"not a valid RSA public key"};
  } else if (kty == "EC") {
    std::string crv = string_member(jwk, "crv");
    const Curve* curve = nullptr;
    for (const auto& c : kCurves) {
      if (crv == c.jwk_name) curve = &c;
    }
    if (curve == nullptr) return Error{fmt::format("EC curve \"{}\" is not supported (P-256, P-384, P-521)", crv)};
    auto x = member(jwk, "x");
    auto y = member(jwk, "y");
    if (!x) return x.error();
    if (!y) return y.error();
    if (x->size() != curve->coordinate_bytes || y->size() != curve->coordinate_bytes) {
      return Error{fmt::format("{} coordinates must be {} bytes", crv, curve->coordinate_bytes)};
    }
    key->type_ = Type::kEc;
    key->ec_alg_ = curve->alg;
    key->pkey_ = ec_key(*curve, *x, *y);
    if (key->pkey_ == nullptr) return Error{fmt::format("not a valid {} public key (the point is not on the curve)", crv)};
  } else if (kty == "OKP") {
    std::string crv = string_member(jwk, "crv");
    if (crv != "Ed25519") return Error{fmt::format("OKP curve \"{}\" is not supported (Ed25519)", crv)};
    auto x = member(jwk, "x");
    if (!x) return x.error();
    if (x->size() != 32) return Error{"an Ed25519 public key is 32 bytes"};
    key->type_ = Type::kEd25519;
    key->pkey_ = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                             reinterpret_cast<const unsigned char*>(x->data()), x->size());
    if (key->pkey_ == nullptr) return Error{"not a valid Ed25519 public key"};
  } else {
    return Error{kty.empty() ? "missing \"kty\"" : fmt::format("key type \"{}\" is not supported", kty)};
  }
  key->bits_ = EVP_PKEY_get_bits(key->pkey_);
  if (key->type_ == Type::kRsa && key->bits_ < kMinRsaBits) {
    return Error{fmt::format("RSA keys must have at least {} bits (this one has {})", kMinRsaBits, key->bits_)};
  }
  if (alg && !key->allows(*alg)) {
    return Error{fmt::format("\"alg\": \"{}\" does not fit a {} key", alg_name(*alg), key->describe())};
  }
  return std::shared_ptr<const Key>(std::move(key));
}

Result<std::shared_ptr<const Key>> Key::from_pem(std::string_view pem, std::optional<Alg> alg, std::string kid) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  if (pkey == nullptr && bio != nullptr) {
    BIO_reset(bio);
    if (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      pkey = X509_get_pubkey(cert);
      X509_free(cert);
    }
  }
  BIO_free(bio);
  if (pkey == nullptr) return Error{"not a PEM public key (BEGIN PUBLIC KEY) or certificate (BEGIN CERTIFICATE)"};
  std::unique_ptr<Key> key(new Key);
  key->pkey_ = pkey;
  key->kid_ = std::move(kid);
  key->alg_ = alg;
  key->bits_ = EVP_PKEY_get_bits(pkey);
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      key->type_ = Type::kRsa;
      if (key->bits_ < kMinRsaBits) {
        return Error{fmt::format("RSA keys must have at least {} bits (this one has {})", kMinRsaBits, key->bits_)};
      }
      break;
    case EVP_PKEY_EC: {
      char group[64] = {};
      size_t len = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) {
        return Error{"cannot read the EC key's curve"};
      }
      const Curve* curve = curve_by_openssl_name(group);
      if (curve == nullptr) return Error{fmt::format("EC curve \"{}\" is not supported (P-256, P-384, P-521)", group)};
      key->type_ = Type::kEc;
      key->ec_alg_ = curve->alg;
      break;
    }
    case EVP_PKEY_ED25519:
      key->type_ = Type::kEd25519;
      break;
    default:
      return Error{"the key type is not supported (RSA, EC P-256/P-384/P-521, Ed25519)"};
  }
  if (alg && !key->allows(*alg)) {
    return Error{fmt::format("alg {} does not fit a {} key", alg_name(*alg), key->describe())};
  }
  return std::shared_ptr<const Key>(std::move(key));
}

Result<std::shared_ptr<const Key>> Key::from_secret(std::string secret, Alg alg, std::string kid) {
  if (!is_hmac(alg)) return Error{fmt::format("a secret can only verify HS256, HS384 or HS512, not {}", alg_name(alg))};
  size_t min = static_cast<size_t>(hash_bits(alg) / 8);
  if (secret.size() < min) {
    return Error{fmt::format("an {} secret must be at least {} bytes (RFC 7518 3.2); this one has {}", alg_name(alg),
                             min, secret.size())};
  }
  std::unique_ptr<Key> key(new Key);
  key->type_ = Type::kSecret;
  key->alg_ = alg;
  key->kid_ = std::move(kid);
  key->bits_ = static_cast<int>(secret.size() * 8);
  key->secret_ = std::move(secret);
  return std::shared_ptr<const Key>(std::move(key));
}

bool Key::allows(Alg alg) const {
  if (alg_ && *alg_ != alg) return false;
  switch (type_) {
    case Type::kRsa: return is_rsa(alg);
    case Type::kEc: return alg == ec_alg_;
    case Type::kEd25519: return alg == Alg::kEdDSA;
    case Type::kSecret: return is_hmac(alg);
  }
  return false;
}

bool Key::verify(Alg alg, std::string_view input, std::string_view signature) const {
  if (!allows(alg)) return false;
  return type_ == Type::kSecret ? verify_hmac(alg, input, signature) : verify_pkey(alg, input, signature);
}

bool Key::verify_hmac(Alg alg, std::string_view input, std::string_view signature) const {
  const char* name = hash_bits(alg) == 256 ? "SHA256" : hash_bits(alg) == 384 ? "SHA384" : "SHA512";
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, name, nullptr, secret_.data(), secret_.size(),
                reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, sizeof mac, &len) == nullptr) {
    return false;
  }
  // The length is public; the comparison of the bytes must not leak where they differ.
  return signature.size() == len && CRYPTO_memcmp(mac, signature.data(), len) == 0;
}

bool Key::verify_pkey(Alg alg, std::string_view input, std::string_view signature) const {
  std::string der;
  if (is_ec(alg)) {
    if (!raw_to_der(signature, curve_of_alg(alg)->coordinate_bytes, der)) return false;
    signature = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const EVP_MD* md = alg == Alg::kEdDSA ? nullptr : digest(alg);
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, pkey_) == 1;
  if (ok && is_pss(alg)) {
    // RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash.
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

std::string Key::describe() const {
  switch (type_) {
    case Type::kRsa: return fmt::format("RSA {} bits", bits_);
    case Type::kEc: return fmt::format("EC {}", curve_of_alg(ec_alg_)->jwk_name);
    case Type::kEd25519: return "Ed25519";
    case Type::kSecret: return fmt::format("secret {} bits", bits_);
  }
  return "?";
}

std::vector<const Key*> KeySet::candidates(std::optional<std::string_view> kid, Alg alg, size_t max_tries) const {
  std::vector<const Key*> out;
  for (const auto& k : keys_) {
    if (kid ? k->kid() != *kid : false) continue;
    if (!k->allows(alg)) continue;
    out.push_back(k.get());
    if (kid || out.size() >= max_tries) break;
  }
  return out;
}

bool KeySet::has_kid(std::string_view kid) const {
  return std::any_of(keys_.begin(), keys_.end(), [&](const auto& k) { return k->kid() == kid; });
}

std::string sha256_hex(std::string_view data) {
  unsigned char digest_bytes[32];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest_bytes, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kHex[digest_bytes[i] >> 4];
    out += kHex[digest_bytes[i] & 15];
  }
  return out;
}

Result<KeySet> parse_jwks(std::string_view text, std::vector<std::string>* skipped) {
  json::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec) return Error{fmt::format("not JSON: {}", ec.message())};
  const json::value* keys = doc.is_object() ? doc.as_object().if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) return Error{"not a JWK Set: expected {\"keys\": [...]}"};
  std::vector<std::shared_ptr<const Key>> out;
  size_t i = 0;
  for (const json::value& item : keys->as_array()) {
    std::string where = fmt::format("keys[{}]", i++);
    if (!item.is_object()) {
      if (skipped) skipped->push_back(where + ": not an object");
      continue;
    }
    auto key = Key::from_jwk(item.as_object());
    if (!key) {
      if (skipped) {
        std::string kid = string_member(item.as_object(), "kid");
        skipped->push_back(fmt::format("{}{}: {}", where, kid.empty() ? "" : " (kid " + kid + ")", key.error().message));
      }
      continue;
    }
    out.push_back(std::move(*key));
  }
  if (out.empty()) return Error{"the JWK Set has no usable signature key"};
  return KeySet(std::move(out));
}

}  // namespace portico::jose
