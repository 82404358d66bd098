#include "net/ip_range.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include <fmt/format.h>

namespace portico::net {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpBytes from_v6(const uint8_t* b) {
  IpBytes ip;
  if (memcmp(b, kMappedPrefix, sizeof kMappedPrefix) == 0) {
    ip.size = 4;
    memcpy(ip.bytes, b + 12, 4);
  } else {
    ip.size = 16;
    memcpy(ip.bytes, b, 16);
  }
  return ip;
}

}  // namespace

std::optional<IpBytes> parse_ip(std::string_view text) {
  char buf[INET6_ADDRSTRLEN];
  if (text.empty() || text.size() >= sizeof buf) return std::nullopt;
  memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  IpBytes ip;
  if (inet_pton(AF_INET, buf, ip.bytes) == 1) {
    ip.size = 4;
    return ip;
  }
  uint8_t b6[16];
  if (inet_pton(AF_INET6, buf, b6) == 1) return from_v6(b6);
  return std::nullopt;
}

std::optional<IpBytes> ip_of(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET) {
    IpBytes ip;
    ip.size = 4;
    memcpy(ip.bytes, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, 4);
    return ip;
  }
  if (addr.ss_family == AF_INET6) {
    return from_v6(reinterpret_cast<const uint8_t*>(&reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr));
  }
  return std::nullopt;
}

size_t format_ip(const IpBytes& ip, char* out, size_t cap) {
  if (ip.size == 0) return 0;
  const char* r = inet_ntop(ip.size == 4 ? AF_INET : AF_INET6, ip.bytes, out, static_cast<socklen_t>(cap));
  return r != nullptr ? strlen(out) : 0;
}

bool IpRange::contains(const IpBytes& ip) const {
  if (ip.size != base.size) return false;
  int full = prefix / 8;
  if (memcmp(ip.bytes, base.bytes, static_cast<size_t>(full)) != 0) return false;
  int rest = prefix % 8;
  if (rest == 0) return true;
  auto mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (ip.bytes[full] & mask) == base.bytes[full];
}

Result<IpRange> parse_ip_range(std::string_view text) {
  IpRange r;
  r.text = std::string(text);
  size_t slash = text.find('/');
  auto ip = parse_ip(text.substr(0, slash));
  if (!ip) return Error{fmt::format("\"{}\": expected an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32)", text)};
  // A mapped IPv6 range (::ffff:10.0.0.0/104) becomes its IPv4 equivalent.
  bool mapped = ip->size == 4 && text.substr(0, slash).find(':') != std::string_view::npos;
  int max = ip->size * 8;
  r.prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view digits = text.substr(slash + 1);
    int p = 0;
    if (digits.empty() || digits.size() > 3) return Error{fmt::format("\"{}\": bad prefix length", text)};
    for (char c : digits) {
      if (c < '0' || c > '9') return Error{fmt::format("\"{}\": bad prefix length", text)};
      p = p * 10 + (c - '0');
    }
    if (mapped) p -= 96;
    if (p < 0 || p > max) return Error{fmt::format("\"{}\": the prefix length must be 0 to {}", text, mapped ? 128 : max)};
    r.prefix = p;
  }
  r.base = *ip;
  for (int bit = r.prefix; bit < max; ++bit) r.base.bytes[bit / 8] &= static_cast<uint8_t>(~(0x80 >> (bit % 8)));
  return r;
}

}  // namespace portico::net
