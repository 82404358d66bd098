#include "auth/credentials.h"

#include "core/strings.h"
#include "http/request_values.h"

namespace portico::auth {

std::optional<Credential> find_credential(const http::RequestHead& req,
                                          const std::vector<config::CredentialSource>& sources) {
  for (const auto& s : sources) {
    if (auto c = find_credential(req, s)) return c;
  }
  return std::nullopt;
}

std::optional<Credential> find_credential(const http::RequestHead& req, const config::CredentialSource& s) {
  {
    std::optional<std::string_view> v;
    switch (s.kind) {
      case config::CredentialSource::Kind::kBearer:
        for (const auto& h : req.headers) {
          if (!iequals(h.name, "authorization")) continue;
          std::string_view value = trim(h.value);
          if (value.size() > 7 && iequals(value.substr(0, 7), "bearer ")) {
            v = trim(value.substr(7));
            break;
          }
        }
        break;
      case config::CredentialSource::Kind::kHeader:
        if (const http::Header* h = http::find_header(req.headers, s.name)) v = trim(h->value);
        break;
      case config::CredentialSource::Kind::kCookie:
        v = http::find_cookie(req.headers, s.name);
        break;
      case config::CredentialSource::Kind::kQuery:
        v = http::find_query_param(req.query, s.name);
        break;
    }
    if (v && !v->empty()) return Credential{*v, &s};
  }
  return std::nullopt;
}

}  // namespace portico::auth
