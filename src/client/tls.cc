#include "client/tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <map>
#include <memory>

#include <fmt/format.h>

namespace portico::client {
namespace {

std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

struct CtxFree {
  void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};

}  // namespace

Result<SSL_CTX*> tls_context(const std::string& ca_file) {
  static std::map<std::string, std::unique_ptr<SSL_CTX, CtxFree>> contexts;
  auto it = contexts.find(ca_file);
  if (it != contexts.end()) return it->second.get();
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return Error{"cannot create a TLS context: " + openssl_errors()};
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(ctx.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  int ok = ca_file.empty() ? SSL_CTX_set_default_verify_paths(ctx.get())
                           : SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr);
  if (ok != 1) {
    return Error{ca_file.empty() ? "cannot load the system's trusted certificates: " + openssl_errors()
                                 : fmt::format("cannot load CA file \"{}\": {}", ca_file, openssl_errors())};
  }
  SSL_CTX* raw = ctx.get();
  contexts.emplace(ca_file, std::move(ctx));
  return raw;
}

std::string tls_error(SSL* ssl, int rc) {
  int err = SSL_get_error(ssl, rc);
  long verify = SSL_get_verify_result(ssl);
  std::string queued = openssl_errors();
  if (verify != X509_V_OK) return fmt::format("certificate verify failed: {}", X509_verify_cert_error_string(verify));
  if (err == SSL_ERROR_SYSCALL && queued.empty()) return "connection closed during the TLS exchange";
  if (err == SSL_ERROR_ZERO_RETURN) return "TLS connection closed";
  return queued.empty() ? fmt::format("TLS error {}", err) : queued;
}

}  // namespace portico::client
