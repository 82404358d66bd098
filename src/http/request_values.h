// Values a request carries besides its headers: a cookie by name, a query parameter by
// name. Views into the request; raw bytes (no percent-decoding), so a configured value
// matches what the client sent.
#pragma once

#include <optional>
#include <string_view>

#include "http/headers.h"

namespace portico::http {

// The value of the first cookie with this name in any Cookie header.
std::optional<std::string_view> find_cookie(const HeaderList& headers, std::string_view name);

// The value of the first query parameter with this name ("" for "?flag" or "?flag=").
std::optional<std::string_view> find_query_param(std::string_view query, std::string_view name);

}  // namespace portico::http
