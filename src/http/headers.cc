#include "http/headers.h"

#include "core/strings.h"

namespace portico::http {

HeaderId classify_header(std::string_view n) {
  switch (n.size()) {
    case 2:
      if (iequals(n, "te")) return HeaderId::kTe;
      break;
    case 3:
      if (iequals(n, "via")) return HeaderId::kVia;
      break;
    case 4:
      if (iequals(n, "host")) return HeaderId::kHost;
      if (iequals(n, "date")) return HeaderId::kDate;
      break;
    case 6:
      if (iequals(n, "expect")) return HeaderId::kExpect;
      if (iequals(n, "server")) return HeaderId::kServer;
      break;
    case 7:
      if (iequals(n, "upgrade")) return HeaderId::kUpgrade;
      if (iequals(n, "trailer")) return HeaderId::kTrailer;
      break;
    case 10:
      if (iequals(n, "connection")) return HeaderId::kConnection;
      if (iequals(n, "keep-alive")) return HeaderId::kKeepAlive;
      break;
    case 12:
      if (iequals(n, "x-request-id")) return HeaderId::kXRequestId;
      break;
    case 14:
      if (iequals(n, "content-length")) return HeaderId::kContentLength;
      break;
    case 15:
      if (iequals(n, "x-forwarded-for")) return HeaderId::kXForwardedFor;
      break;
    case 16:
      if (iequals(n, "proxy-connection")) return HeaderId::kProxyConnection;
      if (iequals(n, "x-forwarded-host")) return HeaderId::kXForwardedHost;
      break;
    case 17:
      if (iequals(n, "transfer-encoding")) return HeaderId::kTransferEncoding;
      if (iequals(n, "x-forwarded-proto")) return HeaderId::kXForwardedProto;
      break;
    case 18:
      if (iequals(n, "proxy-authenticate")) return HeaderId::kProxyAuthenticate;
      break;
    case 19:
      if (iequals(n, "proxy-authorization")) return HeaderId::kProxyAuthorization;
      break;
  }
  return HeaderId::kOther;
}

const Header* find_header(const HeaderList& headers, HeaderId id) {
  for (const auto& h : headers) {
    if (h.id == id) return &h;
  }
  return nullptr;
}

const Header* find_header(const HeaderList& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return &h;
  }
  return nullptr;
}

bool list_contains(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trim(value.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace portico::http
