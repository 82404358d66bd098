// JOSE: the RFC 7515 appendix A examples (HS256, RS256, ES256, ES512, and the unsecured
// A.5 which must be refused), RFC 8037 A.4 (Ed25519), key-type/algorithm binding, the
// parser's refusals and the claim rules.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/base64.h"
#include "jose/jwt.h"

namespace portico::jose {
namespace {

namespace json = boost::json;

// RFC 7515 A.1-A.3: the payload {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}
const char* kPayload = "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const char* kA1Token =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const char* kA1Key = R"({"kty":"oct","alg":"HS256",
  "k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"})";

const char* kA2Key = R"({"kty":"RSA","e":"AQAB",
  "n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"})";
const char* kA2Signature =
    "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQ"
    "jbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqt"
    "FZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

const char* kA3Key = R"({"kty":"EC","crv":"P-256",
  "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";
const char* kA3Signature = "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

const char* kA4Key = R"({"kty":"EC","crv":"P-521",
  "x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",
  "y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"})";
const char* kA4Token =
    "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA."
    "AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3"
    "xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";

const char* kA5Token =
    "eyJhbGciOiJub25lIn0."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.";

const char* kEd25519Key = R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";
const char* kEd25519Input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
const char* kEd25519Signature =
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";

std::shared_ptr<const Key> jwk(const char* text) {
  auto k = Key::from_jwk(json::parse(text).as_object());
  EXPECT_TRUE(k) << (k ? "" : k.error().message);
  return k ? *k : nullptr;
}

// Verifies a full token with one key, as the gateway does.
bool verifies(const std::string& token, const Key& key) {
  auto jwt = parse_jwt(token, 16384);
  return jwt && verify_signature(*jwt, {&key});
}

TEST(JoseRfc7515, A1HmacSha256) {
  auto key = jwk(kA1Key);
  ASSERT_TRUE(key);
  EXPECT_TRUE(verifies(kA1Token, *key));
  auto jwt = parse_jwt(kA1Token, 16384);
  ASSERT_TRUE(jwt);
  EXPECT_EQ(jwt->alg, Alg::kHS256);
  EXPECT_EQ(jwt->typ, "JWT");
  EXPECT_EQ(jwt->claims.at("iss").as_string(), "joe");
  EXPECT_EQ(jwt->claims.at("exp").as_int64(), 1300819380);
  std::string tampered = kA1Token;
  tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(verifies(tampered, *key));
}

TEST(JoseRfc7515, A2RsaSha256) {
  auto key = jwk(kA2Key);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->describe(), "RSA 2048 bits");
  EXPECT_TRUE(verifies(std::string("eyJhbGciOiJSUzI1NiJ9.") + kPayload + "." + kA2Signature, *key));
  // The same signature over another payload, or with another algorithm, fails.
  EXPECT_FALSE(verifies(std::string("eyJhbGciOiJSUzI1NiJ9.e30.") + kA2Signature, *key));
  EXPECT_FALSE(verifies(std::string("eyJhbGciOiJQUzI1NiJ9.") + kPayload + "." + kA2Signature, *key));
}

TEST(JoseRfc7515, A3EcdsaP256Sha256) {
  auto key = jwk(kA3Key);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->describe(), "EC P-256");
  EXPECT_TRUE(verifies(std::string("eyJhbGciOiJFUzI1NiJ9.") + kPayload + "." + kA3Signature, *key));
  // An ES256 key verifies nothing else, and a DER (not raw r||s) signature is refused.
  EXPECT_FALSE(key->allows(Alg::kES384));
  EXPECT_FALSE(key->allows(Alg::kRS256));
  EXPECT_FALSE(verifies(std::string("eyJhbGciOiJFUzI1NiJ9.") + kPayload + "." + std::string(kA3Signature).substr(0, 80),
                        *key));
}

TEST(JoseRfc7515, A4EcdsaP521Sha512) {
  auto key = jwk(kA4Key);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->describe(), "EC P-521");
  EXPECT_TRUE(key->allows(Alg::kES512));
  auto jwt = parse_jwt(kA4Token, 16384);
  // The A.4 payload is the text "Payload", not a JSON object: not a JWT...
  ASSERT_FALSE(jwt);
  EXPECT_EQ(jwt.error().message, "the token's payload is not a JSON object");
  // ...but its signature verifies.
  std::string token = kA4Token;
  size_t dot = token.rfind('.');
  EXPECT_TRUE(key->verify(Alg::kES512, token.substr(0, dot), *base64url_decode(token.substr(dot + 1))));
}

TEST(JoseRfc7515, A5UnsecuredIsRefused) {
  auto jwt = parse_jwt(kA5Token, 16384);
  ASSERT_FALSE(jwt);
  EXPECT_EQ(jwt.error().message, "unsigned tokens (alg \"none\") are not accepted");
  // Any spelling of "none".
  std::string none_upper = base64url_encode(R"({"alg":"NONE"})") + "." + kPayload + ".c2ln";
  EXPECT_EQ(parse_jwt(none_upper, 16384).error().message, "unsigned tokens (alg \"none\") are not accepted");
}

TEST(JoseRfc8037, A4Ed25519) {
  auto key = jwk(kEd25519Key);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->describe(), "Ed25519");
  EXPECT_TRUE(key->verify(Alg::kEdDSA, kEd25519Input, *base64url_decode(kEd25519Signature)));
  EXPECT_FALSE(key->verify(Alg::kEdDSA, std::string(kEd25519Input) + "x", *base64url_decode(kEd25519Signature)));
}

TEST(JoseKeys, AlgorithmIsFixedByTheKeyType) {
  // The RS256 public key's bytes as an HMAC secret must never verify an HS256 token:
  // a secret only comes from an oct JWK or a configured secret, never from a public key.
  auto rsa = jwk(kA2Key);
  EXPECT_FALSE(rsa->allows(Alg::kHS256));
  EXPECT_TRUE(rsa->allows(Alg::kPS512));
  auto hmac = jwk(kA1Key);
  EXPECT_FALSE(hmac->allows(Alg::kHS512));  // the JWK says HS256
  EXPECT_FALSE(hmac->allows(Alg::kRS256));
  // A JWK's alg narrows the key.
  auto rs384 = Key::from_jwk(json::parse(std::string(kA2Key).insert(1, R"("alg":"RS384",)")).as_object());
  ASSERT_TRUE(rs384);
  EXPECT_TRUE((*rs384)->allows(Alg::kRS384));
  EXPECT_FALSE((*rs384)->allows(Alg::kRS256));
}

TEST(JoseKeys, UnusableKeysAreRefusedWithReasons) {
  auto err = [](const char* text) {
    auto k = Key::from_jwk(json::parse(text).as_object());
    EXPECT_FALSE(k) << text;
    return k ? std::string() : k.error().message;
  };
  std::string rsa1024 = R"({"kty":"RSA","e":"AQAB","n":")" + base64url_encode(std::string(128, '\xC3')) + "\"}";
  EXPECT_EQ(err(rsa1024.c_str()), "RSA keys must have at least 2048 bits (this one has 1024)");
  EXPECT_EQ(err(R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"})"),
            "not a valid P-256 public key (the point is not on the curve)");
  EXPECT_EQ(err(R"({"kty":"EC","crv":"secp256k1","x":"AA","y":"AA"})"),
            "EC curve \"secp256k1\" is not supported (P-256, P-384, P-521)");
  EXPECT_EQ(err(R"({"kty":"OKP","crv":"X25519","x":"AA"})"), "OKP curve \"X25519\" is not supported (Ed25519)");
  EXPECT_EQ(err(R"({"kty":"oct","k":"c2hvcnQ","alg":"HS256"})"),
            "an HS256 secret must be at least 32 bytes (RFC 7518 3.2); this one has 5");
  EXPECT_EQ(err(R"({"kty":"oct","k":"c2hvcnQ"})"), "a secret (kty \"oct\") needs \"alg\" (HS256, HS384 or HS512)");
  EXPECT_EQ(err(R"({"kty":"RSA","use":"enc","e":"AQAB","n":"AA"})"), "\"use\": \"enc\" is not a signature key");
  EXPECT_EQ(err(R"({"kty":"EC","crv":"P-256","alg":"ES384","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})"),
            "\"alg\": \"ES384\" does not fit a EC P-256 key");
  EXPECT_EQ(err(R"({"kty":"RSA","alg":"none","e":"AQAB","n":"AA"})"), "\"alg\": \"none\" is not a supported signature algorithm");
}

TEST(JoseKeys, JwksSkipsWhatItCannotUse) {
  std::string jwks = std::string(R"({"keys":[)") + kA3Key + "," + R"({"kty":"RSA","use":"enc","kid":"e1","e":"AQAB","n":"AA"},)" +
                     kEd25519Key + "]}";
  std::vector<std::string> skipped;
  auto set = parse_jwks(jwks, &skipped);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->keys().size(), 2u);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0], "keys[1] (kid e1): \"use\": \"enc\" is not a signature key");
  EXPECT_EQ(set->candidates(std::nullopt, Alg::kEdDSA).size(), 1u);
  EXPECT_TRUE(set->candidates(std::nullopt, Alg::kRS256).empty());
  EXPECT_FALSE(parse_jwks(R"({"keys":[]})"));
  EXPECT_EQ(parse_jwks("[]").error().message, "not a JWK Set: expected {\"keys\": [...]}");
}

TEST(JoseParse, RefusalsComeBeforeAnyKeyIsTouched) {
  auto err = [](const std::string& token, size_t max = 16384) {
    auto j = parse_jwt(token, max);
    EXPECT_FALSE(j) << token;
    return j ? std::string() : j.error().message;
  };
  std::string h = base64url_encode(R"({"alg":"RS256","kid":"k1"})");
  EXPECT_EQ(err("abc"), "the token is not a JWS compact serialization (three parts separated by dots)");
  EXPECT_EQ(err(h + "." + kPayload + ".sig.extra"), "the token is not a JWS compact serialization (three parts separated by dots)");
  EXPECT_EQ(err("!!." + std::string(kPayload) + ".c2ln"), "the token's header is not base64url");
  EXPECT_EQ(err(base64url_encode("[1]") + "." + kPayload + ".c2ln"), "the token's header is not a JSON object");
  EXPECT_EQ(err(base64url_encode(R"({"typ":"JWT"})") + "." + kPayload + ".c2ln"), "the token's header has no \"alg\"");
  EXPECT_EQ(err(base64url_encode(R"({"alg":"HS1"})") + "." + kPayload + ".c2ln"), "the algorithm \"HS1\" is not supported");
  EXPECT_EQ(err(base64url_encode(R"({"alg":"RS256","crit":["exp"],"exp":1})") + "." + kPayload + ".c2ln"),
            "the token has critical header extensions, none of which are supported");
  EXPECT_EQ(err(h + "." + kPayload + "."), "the token's signature is missing or not base64url");
  EXPECT_EQ(err(h + "." + kPayload + ".c2ln", 20), "the token is larger than 20 bytes");
  EXPECT_EQ(err(base64url_encode(R"({"alg":"RS256","kid":7})") + "." + kPayload + ".c2ln"), "the token's \"kid\" is not a string");
  auto ok = parse_jwt(h + "." + kPayload + ".c2ln", 16384);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->kid, "k1");
  // Keys embedded in the header are not used: nothing but alg/kid/typ/crit is read.
  auto embedded = parse_jwt(base64url_encode(std::string(R"({"alg":"ES256","jwk":)") + kA3Key + R"(,"jku":"http://evil"})") +
                                "." + kPayload + "." + kA3Signature,
                            16384);
  ASSERT_TRUE(embedded);
  EXPECT_FALSE(embedded->kid);
}

Jwt with_claims(const std::string& claims, const std::string& typ = "") {
  Jwt j;
  j.claims = json::parse(claims).as_object();
  j.typ = typ;
  return j;
}

TEST(JoseClaims, TimeClaimsWithLeeway) {
  ClaimRules r;
  r.leeway_s = 30;
  double now = 1'000'000;
  EXPECT_EQ(check_claims(with_claims(R"({"exp":1000100})"), r, now), std::nullopt);
  EXPECT_EQ(check_claims(with_claims(R"({"exp":999980})"), r, now), std::nullopt);  // within leeway
  EXPECT_EQ(check_claims(with_claims(R"({"exp":999970})"), r, now), "the token has expired");
  EXPECT_EQ(check_claims(with_claims(R"({"exp":999999.5})"), ClaimRules{}, now), "the token has expired");
  EXPECT_EQ(check_claims(with_claims(R"({"exp":"soon"})"), r, now), "the \"exp\" claim is not a number");
  EXPECT_EQ(check_claims(with_claims(R"({"nbf":1000020})"), r, now), std::nullopt);
  EXPECT_EQ(check_claims(with_claims(R"({"nbf":1000031})"), r, now), "the token is not valid yet");
  EXPECT_EQ(check_claims(with_claims(R"({"iat":1000060})"), r, now), "the token was issued in the future");
  r.max_age_s = 60;
  EXPECT_EQ(check_claims(with_claims(R"({"iat":999950})"), r, now), std::nullopt);
  EXPECT_EQ(check_claims(with_claims(R"({"iat":999900})"), r, now), "the token is too old");
  EXPECT_EQ(check_claims(with_claims(R"({})"), r, now), "the token has no \"iat\" claim, so its age is unknown");
}

TEST(JoseClaims, IssuerAudienceRequiredAndType) {
  ClaimRules r;
  r.issuers = {"https://id.example.com"};
  r.audiences = {"api", "admin"};
  r.required = {"sub"};
  r.typ = "at+jwt";
  auto check = [&](const std::string& claims, const std::string& typ = "at+jwt") { return check_claims(with_claims(claims, typ), r, 0); };
  EXPECT_EQ(check(R"({"iss":"https://id.example.com","aud":"api","sub":"u"})"), std::nullopt);
  EXPECT_EQ(check(R"({"iss":"https://id.example.com","aud":["x","admin"],"sub":"u"})"), std::nullopt);
  EXPECT_EQ(check(R"({"iss":"https://id.example.com","aud":"api","sub":"u"})", "application/AT+JWT"), std::nullopt);
  EXPECT_EQ(check(R"({"iss":"https://evil.example.com","aud":"api","sub":"u"})"), "the token's issuer is not accepted");
  EXPECT_EQ(check(R"({"aud":"api","sub":"u"})"), "the token's issuer is not accepted");
  EXPECT_EQ(check(R"({"iss":"https://id.example.com","aud":["x"],"sub":"u"})"), "the token's audience is not accepted");
  EXPECT_EQ(check(R"({"iss":"https://id.example.com","aud":7,"sub":"u"})"), "the token's audience is not accepted");
  EXPECT_EQ(check(R"({"iss":"https://id.example.com","aud":"api"})"), "the token has no \"sub\" claim");
  EXPECT_EQ(check(R"({"iss":"https://id.example.com","aud":"api","sub":"u"})", "JWT"), "the token's type is not \"at+jwt\"");
}

}  // namespace
}  // namespace portico::jose
