// Header fields as views into the connection's buffer, tagged with an id for the few
// names the server and proxy act on (so hop-by-hop filtering needs no string compares).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace portico::http {

enum class HeaderId : uint8_t {
  kOther = 0,
  kHost,
  kContentLength,
  kTransferEncoding,
  kConnection,
  kKeepAlive,
  kProxyConnection,
  kTe,
  kTrailer,
  kUpgrade,
  kExpect,
  kProxyAuthenticate,
  kProxyAuthorization,
  kXRequestId,
  kXForwardedFor,
  kXForwardedProto,
  kXForwardedHost,
  kVia,
  kDate,
  kServer,
};

HeaderId classify_header(std::string_view name);

// Hop-by-hop per RFC 9110 7.6.1 (plus the legacy Keep-Alive/Proxy-Connection): never forwarded.
inline bool is_hop_by_hop(HeaderId id) {
  switch (id) {
    case HeaderId::kConnection:
    case HeaderId::kKeepAlive:
    case HeaderId::kProxyConnection:
    case HeaderId::kTe:
    case HeaderId::kTrailer:
    case HeaderId::kTransferEncoding:
    case HeaderId::kUpgrade:
    case HeaderId::kProxyAuthenticate:
    case HeaderId::kProxyAuthorization:
      return true;
    default:
      return false;
  }
}

struct Header {
  std::string_view name;
  std::string_view value;
  HeaderId id = HeaderId::kOther;
};

using HeaderList = std::vector<Header>;

// First header with this id, or nullptr.
const Header* find_header(const HeaderList& headers, HeaderId id);
// First header with this name (case-insensitive), or nullptr.
const Header* find_header(const HeaderList& headers, std::string_view name);

// True if the comma-separated list in value contains token (case-insensitive).
bool list_contains(std::string_view value, std::string_view token);

}  // namespace portico::http
