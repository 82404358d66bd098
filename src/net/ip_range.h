// IP addresses as bytes and CIDR ranges: which peers are trusted proxies, and the
// client address they report in X-Forwarded-For.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace portico::net {

// An IPv4 (4 bytes) or IPv6 (16 bytes) address. IPv4-mapped IPv6 addresses
// (::ffff:a.b.c.d, what a dual-stack socket reports for IPv4 peers) are kept as IPv4,
// so one range matches both spellings.
struct IpBytes {
  uint8_t size = 0;  // 4 or 16; 0: none
  uint8_t bytes[16] = {};
};

std::optional<IpBytes> parse_ip(std::string_view text);
std::optional<IpBytes> ip_of(const sockaddr_storage& addr);
// Canonical text (inet_ntop) into out (at least 46 bytes); returns its length.
size_t format_ip(const IpBytes& ip, char* out, size_t cap);

// "10.0.0.0/8", "2001:db8::/32", or one address ("192.0.2.1" = /32, "::1" = /128).
struct IpRange {
  IpBytes base;  // host bits cleared
  int prefix = 0;
  std::string text;

  bool contains(const IpBytes& ip) const;
};

Result<IpRange> parse_ip_range(std::string_view text);

}  // namespace portico::net
