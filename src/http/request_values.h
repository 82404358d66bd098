// Values a request carries besides its headers: a cookie by name, a query parameter by
// name. Views into the request; raw bytes (no percent-decoding), so a configured value
// matches what the client sent.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/strings.h"
#include "http/headers.h"

namespace portico::http {

// The value of the first cookie with this name in any Cookie header.
std::optional<std::string_view> find_cookie(const HeaderList& headers, std::string_view name);

// The value of the first query parameter with this name ("" for "?flag" or "?flag=").
std::optional<std::string_view> find_query_param(std::string_view query, std::string_view name);

// Calls f(name, value) for each query parameter ("a=1&b" gives a/1 and b/""), both
// percent-decoded with '+' as a space (form encoding, as API Gateway reads queries).
template <typename F>
void for_each_decoded_query_param(std::string_view query, F&& f) {
  for (std::string_view pair : split(query, '&')) {
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string value =
        eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
    f(percent_decode(pair.substr(0, eq), true), std::move(value));
  }
}

}  // namespace portico::http
