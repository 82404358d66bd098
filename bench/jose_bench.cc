// Signature verification per JOSE algorithm (Key::verify), and parsing a token: what a
// request costs when its token is not in the cache. Keys are made here with OpenSSL.
#include <benchmark/benchmark.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <map>
#include <string>

#include "core/base64.h"
#include "jose/jwt.h"

namespace {

using portico::jose::Alg;
using portico::jose::Key;

struct Signer {
  EVP_PKEY* pkey = nullptr;
  std::shared_ptr<const Key> key;
  std::string sign(Alg alg, std::string_view input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    const EVP_MD* md = alg == Alg::kEdDSA ? nullptr : alg == Alg::kES256 || alg == Alg::kRS256 ? EVP_sha256() : EVP_sha512();
    EVP_DigestSignInit(ctx, &pctx, md, nullptr, pkey);
    size_t len = 0;
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, reinterpret_cast<const unsigned char*>(input.data()), input.size());
    sig.resize(len);
    EVP_MD_CTX_free(ctx);
    if (alg == Alg::kES256) {  // DER -> raw r||s
      const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
      ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
      std::string raw(64, '\0');
      BN_bn2binpad(ECDSA_SIG_get0_r(s), reinterpret_cast<unsigned char*>(raw.data()), 32);
      BN_bn2binpad(ECDSA_SIG_get0_s(s), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
      ECDSA_SIG_free(s);
      return raw;
    }
    return sig;
  }
};

Signer make(Alg alg) {
  Signer s;
  EVP_PKEY_CTX* ctx = nullptr;
  if (alg == Alg::kRS256) {
    s.pkey = EVP_RSA_gen(2048);
  } else if (alg == Alg::kES256) {
    s.pkey = EVP_EC_gen("P-256");
  } else {
    ctx = EVP_PKEY_CTX_new_from_name(nullptr, "ED25519", nullptr);
    EVP_PKEY_keygen_init(ctx);
    EVP_PKEY_keygen(ctx, &s.pkey);
    EVP_PKEY_CTX_free(ctx);
  }
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, s.pkey);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  s.key = *Key::from_pem(std::string_view(data, static_cast<size_t>(n)), alg);
  BIO_free(bio);
  return s;
}

const std::string kInput = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLCJleHAiOjEzMDA4MTkzODAsInN1YiI6InVzZXItMSJ9";

void verify(benchmark::State& state, Alg alg) {
  Signer s = make(alg);
  std::string sig = s.sign(alg, kInput);
  for (auto _ : state) benchmark::DoNotOptimize(s.key->verify(alg, kInput, sig));
}

void BM_VerifyRS256(benchmark::State& state) { verify(state, Alg::kRS256); }
void BM_VerifyES256(benchmark::State& state) { verify(state, Alg::kES256); }
void BM_VerifyEdDSA(benchmark::State& state) { verify(state, Alg::kEdDSA); }

void BM_VerifyHS256(benchmark::State& state) {
  auto key = *Key::from_secret(std::string(32, 'k'), Alg::kHS256);
  std::string sig(32, '\0');  // wrong, but the work is the same
  for (auto _ : state) benchmark::DoNotOptimize(key->verify(Alg::kHS256, kInput, sig));
}

void BM_ParseJwt(benchmark::State& state) {
  std::string token = kInput + "." + portico::base64url_encode(std::string(256, 's'));
  for (auto _ : state) benchmark::DoNotOptimize(portico::jose::parse_jwt(token, 16384));
}

BENCHMARK(BM_VerifyRS256);
BENCHMARK(BM_VerifyES256);
BENCHMARK(BM_VerifyEdDSA);
BENCHMARK(BM_VerifyHS256);
BENCHMARK(BM_ParseJwt);

}  // namespace

BENCHMARK_MAIN();
