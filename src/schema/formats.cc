// The formats Portico asserts (RFC 3339 dates and times, RFC 5321-style addresses,
// RFC 4122 UUIDs, RFC 3986 URIs, RFC 1123 host names, IP addresses), checked by hand:
// each is a few lines, and std::regex would cost more than the rest of a validation.
#include <arpa/inet.h>

#include <string>

#include "schema/program.h"

namespace portico::schema {
namespace {

// ASCII classes: what the RFCs mean, whatever the process's locale (and inline: these
// run per character of every checked string).
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
bool is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
bool is_alnum(unsigned char c) { return is_digit(c) || is_alpha(c); }
bool is_xdigit(unsigned char c) { return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

bool digits(std::string_view s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!is_digit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

int number(std::string_view s, size_t pos, size_t n) {
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

bool full_date(std::string_view s) {
  if (s.size() != 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2))
    return false;
  int y = number(s, 0, 4), m = number(s, 5, 2), d = number(s, 8, 2);
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

bool full_time(std::string_view s) {
  if (s.size() < 9 || !digits(s, 0, 2) || s[2] != ':' || !digits(s, 3, 2) || s[5] != ':' ||
      !digits(s, 6, 2))
    return false;
  int h = number(s, 0, 2), m = number(s, 3, 2), sec = number(s, 6, 2);
  if (h > 23 || m > 59 || sec > 60) return false;
  size_t pos = 8;
  if (pos < s.size() && s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && is_digit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start) return false;
  }
  if (pos >= s.size()) return false;
  int offset_h = 0, offset_m = 0, sign = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    if (pos + 1 != s.size()) return false;
  } else if (s[pos] == '+' || s[pos] == '-') {
    if (s.size() != pos + 6 || !digits(s, pos + 1, 2) || s[pos + 3] != ':' ||
        !digits(s, pos + 4, 2))
      return false;
    sign = s[pos] == '+' ? 1 : -1;
    offset_h = number(s, pos + 1, 2);
    offset_m = number(s, pos + 4, 2);
    if (offset_h > 23 || offset_m > 59) return false;
  } else {
    return false;
  }
  if (sec == 60) {  // a leap second: only at 23:59:60 UTC
    int utc = (h * 60 + m - sign * (offset_h * 60 + offset_m) + 24 * 60) % (24 * 60);
    if (utc != 23 * 60 + 59) return false;
  }
  return true;
}

bool hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t label = 0;
  char prev = '.';
  for (char c : s) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else {
      if (!is_alnum(static_cast<unsigned char>(c)) && c != '-') return false;
      if (c == '-' && label == 0) return false;
      if (++label > 63) return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

bool email(std::string_view s) {
  size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == s.size()) return false;
  std::string_view local = s.substr(0, at), domain = s.substr(at + 1);
  if (local.size() > 64 || local.front() == '.' || local.back() == '.' ||
      local.find("..") != std::string_view::npos)
    return false;
  for (char c : local) {
    unsigned char u = static_cast<unsigned char>(c);
    if (!is_alnum(u) && std::string_view("!#$%&'*+-/=?^_`{|}~.").find(c) == std::string_view::npos)
      return false;
  }
  if (domain.size() > 2 && domain.front() == '[' && domain.back() == ']') {
    std::string ip(domain.substr(1, domain.size() - 2));
    unsigned char buf[16];
    if (ip.rfind("IPv6:", 0) == 0) return inet_pton(AF_INET6, ip.c_str() + 5, buf) == 1;
    return inet_pton(AF_INET, ip.c_str(), buf) == 1;
  }
  return hostname(domain);
}

bool uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_xdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// An absolute URI: scheme ":" then only characters RFC 3986 allows (with valid
// percent-escapes).
bool uri(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(static_cast<unsigned char>(s[0])))
    return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = s[i];
    if (!is_alnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') return false;
  }
  for (size_t i = colon + 1; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '%') {
      if (i + 2 >= s.size() || !is_xdigit(static_cast<unsigned char>(s[i + 1])) ||
          !is_xdigit(static_cast<unsigned char>(s[i + 2]))) {
        return false;
      }
      i += 2;
      continue;
    }
    if (is_alnum(c) || std::string_view("-._~:/?#[]@!$&'()*+,;=").find(static_cast<char>(c)) !=
                           std::string_view::npos)
      continue;
    return false;
  }
  return true;
}

bool ipv4(std::string_view s) {
  int parts = 0;
  size_t pos = 0;
  while (true) {
    size_t start = pos;
    while (pos < s.size() && is_digit(static_cast<unsigned char>(s[pos]))) ++pos;
    size_t len = pos - start;
    if (len == 0 || len > 3 || (len > 1 && s[start] == '0') || number(s, start, len) > 255)
      return false;
    if (++parts == 4) return pos == s.size();
    if (pos >= s.size() || s[pos] != '.') return false;
    ++pos;
  }
}

}  // namespace

Format format_named(std::string_view name) {
  if (name == "email") return Format::kEmail;
  if (name == "date-time") return Format::kDateTime;
  if (name == "date") return Format::kDate;
  if (name == "time") return Format::kTime;
  if (name == "uuid") return Format::kUuid;
  if (name == "uri") return Format::kUri;
  if (name == "hostname") return Format::kHostname;
  if (name == "ipv4") return Format::kIpv4;
  if (name == "ipv6") return Format::kIpv6;
  return Format::kNone;
}

bool format_matches(Format format, std::string_view s) {
  switch (format) {
    case Format::kNone:
      return true;
    case Format::kEmail:
      return email(s);
    case Format::kDateTime: {
      size_t t = s.find_first_of("Tt");
      return t == 10 && full_date(s.substr(0, 10)) && full_time(s.substr(11));
    }
    case Format::kDate:
      return full_date(s);
    case Format::kTime:
      return full_time(s);
    case Format::kUuid:
      return uuid(s);
    case Format::kUri:
      return uri(s);
    case Format::kHostname:
      return hostname(s);
    case Format::kIpv4:
      return ipv4(s);
    case Format::kIpv6: {
      std::string copy(s);
      unsigned char buf[16];
      return copy.find('%') == std::string::npos && inet_pton(AF_INET6, copy.c_str(), buf) == 1;
    }
  }
  return true;
}

}  // namespace portico::schema
