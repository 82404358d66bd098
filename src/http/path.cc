#include "http/path.h"

namespace portico::http {
namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool unreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

bool needs_work(std::string_view p) {
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] == '%') return true;
    if (p[i] == '.' && i > 0 && p[i - 1] == '/') {
      // "/." followed by end, '/', or ".": a dot segment
      if (i + 1 == p.size() || p[i + 1] == '/') return true;
      if (p[i + 1] == '.' && (i + 2 == p.size() || p[i + 2] == '/')) return true;
    }
  }
  return false;
}

}  // namespace

const char* normalize_path(std::string_view raw, std::string& out, std::string_view& result) {
  if (raw.empty() || raw[0] != '/' || !needs_work(raw)) {
    result = raw;
    return nullptr;
  }
  // 1. Decode unreserved escapes, normalise the case of the others.
  std::string decoded;
  decoded.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '%') {
      decoded += raw[i];
      continue;
    }
    if (i + 2 >= raw.size()) return "invalid percent-encoding in path";
    int hi = hex(raw[i + 1]), lo = hex(raw[i + 2]);
    if (hi < 0 || lo < 0) return "invalid percent-encoding in path";
    auto c = static_cast<unsigned char>(hi * 16 + lo);
    if (unreserved(c)) {
      decoded += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      decoded += '%';
      decoded += kHex[hi];
      decoded += kHex[lo];
    }
    i += 2;
  }
  // 2. Remove dot segments (RFC 3986 5.2.4), segment by segment.
  out.clear();
  size_t i = 0;
  const size_t n = decoded.size();
  while (i < n) {
    // decoded[i] == '/' here; the segment runs to the next '/'.
    size_t end = decoded.find('/', i + 1);
    if (end == std::string::npos) end = n;
    std::string_view seg(decoded.data() + i + 1, end - i - 1);
    bool last = end == n;
    if (seg == ".") {
      if (last) out += '/';
    } else if (seg == "..") {
      size_t cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
      if (last) out += '/';
    } else {
      out += '/';
      out.append(seg);
    }
    i = end;
  }
  if (out.empty()) out.push_back('/');
  result = out;
  return nullptr;
}

}  // namespace portico::http
