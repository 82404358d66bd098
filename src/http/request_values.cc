#include "http/request_values.h"

#include "core/strings.h"

namespace portico::http {

std::optional<std::string_view> find_cookie(const HeaderList& headers, std::string_view name) {
  for (const Header& h : headers) {
    if (!iequals(h.name, "cookie")) continue;
    // cookie-string = cookie-pair *( ";" SP cookie-pair ) (RFC 6265 4.2.1); be lenient
    // about the spaces.
    for (std::string_view pair : split(h.value, ';')) {
      pair = trim(pair);
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
      return value;
    }
  }
  return std::nullopt;
}

std::optional<std::string_view> find_query_param(std::string_view query, std::string_view name) {
  for (std::string_view pair : split(query, '&')) {
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
  }
  return std::nullopt;
}

}  // namespace portico::http
