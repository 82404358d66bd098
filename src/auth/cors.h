// CORS (the Fetch standard's CORS protocol) at the edge: preflights are answered here,
// before authentication (a preflight carries no credentials), and responses to allowed
// origins get their Access-Control-* headers. An origin that is not allowed gets none.
#pragma once

#include <string>
#include <string_view>

#include "config/config.h"
#include "http/parser.h"

namespace portico::auth {

bool origin_allowed(const config::Cors& cors, std::string_view origin);

// Headers for the response to an actual (non-preflight) request from `origin`.
void add_cors_headers(const config::Cors& cors, std::string_view origin, std::string& out);

// A preflight for `route`: fills the response headers, or says why it is refused
// (origin, method or a request header not allowed).
bool preflight(const config::Cors& cors, const config::Route& route, std::string_view origin, std::string_view method,
               std::string_view request_headers, std::string& out, std::string& why);

}  // namespace portico::auth
