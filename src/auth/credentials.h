// Finding a request's credential (a token or an API key) in the places a method names.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "config/auth_config.h"
#include "http/parser.h"

namespace portico::auth {

struct Credential {
  std::string_view value;
  const config::CredentialSource* source = nullptr;
};

// The first source, in order, that carries a credential. A Bearer source takes the
// Authorization header's "Bearer <token>" (scheme case-insensitive, RFC 6750 2.1).
std::optional<Credential> find_credential(const http::RequestHead& request,
                                          const std::vector<config::CredentialSource>& sources);
std::optional<Credential> find_credential(const http::RequestHead& request, const config::CredentialSource& source);

}  // namespace portico::auth
