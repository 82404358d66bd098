#include "auth/cors.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::auth {
namespace {

// Request headers a preflight never needs permission for (the CORS-safelisted ones).
bool safelisted(std::string_view h) {
  return h == "accept" || h == "accept-language" || h == "content-language" || h == "content-type";
}

bool listed(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

bool origin_allowed(const config::Cors& cors, std::string_view origin) {
  if (origin.empty() || origin == "null") return false;
  for (const auto& o : cors.origins) {
    if (o == "*" || iequals(o, origin)) return true;
    // "https://*.example.com": that scheme, any subdomain (not the bare domain).
    size_t star = o.find("://*.");
    if (star == std::string::npos) continue;
    std::string_view scheme = std::string_view(o).substr(0, star + 3);
    std::string_view suffix = std::string_view(o).substr(star + 4);  // ".example.com"
    if (origin.size() > scheme.size() + suffix.size() && iequals(origin.substr(0, scheme.size()), scheme) &&
        iequals(origin.substr(origin.size() - suffix.size()), suffix) &&
        origin.substr(scheme.size(), origin.size() - scheme.size() - suffix.size()).find_first_of("/:") ==
            std::string_view::npos) {
      return true;
    }
  }
  return false;
}

void add_cors_headers(const config::Cors& cors, std::string_view origin, std::string& out) {
  out += "Vary: Origin\r\n";  // the answer depends on who asks: caches must know
  if (!origin_allowed(cors, origin)) return;
  out += "Access-Control-Allow-Origin: ";
  out += origin;
  out += "\r\n";
  if (cors.credentials) out += "Access-Control-Allow-Credentials: true\r\n";
  if (!cors.expose_headers.empty()) out += fmt::format("Access-Control-Expose-Headers: {}\r\n", fmt::join(cors.expose_headers, ", "));
}

bool preflight(const config::Cors& cors, const config::Route& route, std::string_view origin, std::string_view method,
               std::string_view request_headers, std::string& out, std::string& why) {
  if (!origin_allowed(cors, origin)) {
    why = "origin not allowed";
    return false;
  }
  const std::vector<std::string>& methods = !cors.methods.empty() ? cors.methods : route.methods;
  if (!methods.empty() && !listed(methods, method)) {
    why = fmt::format("method {} not allowed", method.substr(0, 32));
    return false;
  }
  std::string allowed_headers;
  for (std::string_view h : split(request_headers, ',')) {
    std::string name = to_lower(trim(h));
    if (name.empty()) continue;
    if (!cors.headers.empty() && !listed(cors.headers, name) && !safelisted(name)) {
      why = fmt::format("request header {} not allowed", name.substr(0, 64));
      return false;
    }
    if (!allowed_headers.empty()) allowed_headers += ", ";
    allowed_headers += name;
  }
  out += "Vary: Origin\r\n";
  out += fmt::format("Access-Control-Allow-Origin: {}\r\n", origin);
  if (cors.credentials) out += "Access-Control-Allow-Credentials: true\r\n";
  out += fmt::format("Access-Control-Allow-Methods: {}\r\n",
                     methods.empty() ? std::string(method) : fmt::format("{}", fmt::join(methods, ", ")));
  if (!allowed_headers.empty()) out += fmt::format("Access-Control-Allow-Headers: {}\r\n", allowed_headers);
  out += fmt::format("Access-Control-Max-Age: {}\r\n", cors.max_age_s);
  return true;
}

}  // namespace portico::auth
