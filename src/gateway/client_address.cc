#include "gateway/client_address.h"

#include "core/strings.h"
#include "http/headers.h"

namespace portico::gateway {
namespace {

bool is_trusted(const net::IpBytes& ip, const std::vector<net::IpRange>& trusted) {
  for (const auto& r : trusted) {
    if (r.contains(ip)) return true;
  }
  return false;
}

}  // namespace

net::IpBytes client_address(const net::IpBytes& peer, const std::vector<net::IpRange>& trusted,
                            const http::RequestHead& request) {
  if (trusted.empty() || !is_trusted(peer, trusted)) return peer;
  net::IpBytes client = peer;
  // Several X-Forwarded-For fields are one list, in order: walk them last to first.
  const auto& headers = request.headers;
  for (size_t i = headers.size(); i-- > 0;) {
    if (headers[i].id != http::HeaderId::kXForwardedFor) continue;
    std::string_view list = headers[i].value;
    while (true) {
      size_t comma = list.rfind(',');
      std::string_view entry = trim(comma == std::string_view::npos ? list : list.substr(comma + 1));
      if (!entry.empty()) {
        auto ip = net::parse_ip(entry);
        if (!ip) return client;
        client = *ip;
        if (!is_trusted(client, trusted)) return client;
      }
      if (comma == std::string_view::npos) break;
      list = list.substr(0, comma);
    }
  }
  return client;  // every hop trusted: the leftmost is as far as anyone can tell
}

}  // namespace portico::gateway
