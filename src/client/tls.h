// TLS for the requests Portico makes itself (JWKS over https): OpenSSL client contexts
// that verify the server's certificate chain and name. Contexts are cached per CA file
// (loading a trust store costs milliseconds); used from the main thread only.
#pragma once

#include <string>

#include "core/result.h"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

namespace portico::client {

// A client context trusting the PEM certificates in ca_file, or the system's trust store
// (/etc/ssl/certs) when empty.
Result<SSL_CTX*> tls_context(const std::string& ca_file);

// Why an SSL call failed, in words ("certificate verify failed: self-signed certificate").
std::string tls_error(SSL* ssl, int rc);

}  // namespace portico::client
