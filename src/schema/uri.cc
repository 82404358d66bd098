// RFC 3986 section 5: resolving a URI reference against a base URI (what $id and $ref
// need), with its dot-segment removal.
#include <string>

#include "schema/schema.h"

namespace portico::schema {
namespace {

struct Uri {
  std::string scheme, authority, path, query, fragment;
  bool has_scheme = false, has_authority = false, has_query = false, has_fragment = false;
};

Uri parse(std::string_view s) {
  Uri u;
  if (size_t hash = s.find('#'); hash != std::string_view::npos) {
    u.has_fragment = true;
    u.fragment = s.substr(hash + 1);
    s = s.substr(0, hash);
  }
  if (size_t q = s.find('?'); q != std::string_view::npos) {
    u.has_query = true;
    u.query = s.substr(q + 1);
    s = s.substr(0, q);
  }
  size_t colon = s.find(':');
  size_t slash = s.find('/');
  if (colon != std::string_view::npos && colon > 0 &&
      (slash == std::string_view::npos || colon < slash)) {
    u.has_scheme = true;
    u.scheme = s.substr(0, colon);
    s = s.substr(colon + 1);
  }
  if (s.substr(0, 2) == "//") {
    u.has_authority = true;
    s = s.substr(2);
    size_t end = s.find('/');
    u.authority = s.substr(0, end);
    s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  }
  u.path = s;
  return u;
}

std::string remove_dot_segments(std::string_view in) {
  std::string input(in), out;
  while (!input.empty()) {
    if (input.rfind("../", 0) == 0) {
      input.erase(0, 3);
    } else if (input.rfind("./", 0) == 0) {
      input.erase(0, 2);
    } else if (input.rfind("/./", 0) == 0) {
      input.erase(0, 2);
    } else if (input == "/.") {
      input = "/";
    } else if (input.rfind("/../", 0) == 0 || input == "/..") {
      input = input == "/.." ? "/" : input.substr(3);
      size_t last = out.rfind('/');
      out.erase(last == std::string::npos ? 0 : last);
    } else if (input == "." || input == "..") {
      input.clear();
    } else {
      size_t next = input.find('/', input[0] == '/' ? 1 : 0);
      out += input.substr(0, next);
      input.erase(0, next == std::string::npos ? input.size() : next);
    }
  }
  return out;
}

}  // namespace

std::string resolve_uri(std::string_view base_text, std::string_view ref_text) {
  Uri base = parse(base_text), r = parse(ref_text), t;
  if (r.has_scheme) {
    t = r;
    t.path = remove_dot_segments(r.path);
  } else {
    if (r.has_authority) {
      t.authority = r.authority;
      t.has_authority = true;
      t.path = remove_dot_segments(r.path);
      t.query = r.query;
      t.has_query = r.has_query;
    } else {
      if (r.path.empty()) {
        t.path = base.path;
        t.query = r.has_query ? r.query : base.query;
        t.has_query = r.has_query || base.has_query;
      } else {
        if (r.path[0] == '/') {
          t.path = remove_dot_segments(r.path);
        } else {
          std::string merged;
          if (base.has_authority && base.path.empty()) {
            merged = "/" + r.path;
          } else {
            size_t last = base.path.rfind('/');
            merged = last == std::string::npos ? r.path : base.path.substr(0, last + 1) + r.path;
          }
          t.path = remove_dot_segments(merged);
        }
        t.query = r.query;
        t.has_query = r.has_query;
      }
      t.authority = base.authority;
      t.has_authority = base.has_authority;
    }
    t.scheme = base.scheme;
    t.has_scheme = base.has_scheme;
    t.fragment = r.fragment;
    t.has_fragment = r.has_fragment;
  }
  std::string out;
  if (t.has_scheme) out += t.scheme + ":";
  if (t.has_authority) out += "//" + t.authority;
  out += t.path;
  if (t.has_query) out += "?" + t.query;
  if (t.has_fragment) out += "#" + t.fragment;
  return out;
}

}  // namespace portico::schema
