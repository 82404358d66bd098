#include <string>

#include <fmt/format.h>

#include "core/strings.h"
#include "proxy/proxy.h"

namespace portico::proxy {
namespace {

bool named_in_connection(const http::HeaderList& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.id == http::HeaderId::kConnection && http::list_contains(h.value, name)) return true;
  }
  return false;
}


// The path the upstream receives: the normalised path, rewritten as the route says.
void append_upstream_path(const gateway::RequestContext& ctx, std::string& out) {
  const config::Route* route = ctx.route;
  if (route == nullptr || route->rewrite.empty()) {
    out.append(ctx.path);
    return;
  }
  const config::Rewrite& rw = route->rewrite;
  if (!rw.strip_prefix.empty()) {
    std::string_view rest = ctx.path;
    if (rest.substr(0, rw.strip_prefix.size()) == rw.strip_prefix) rest.remove_prefix(rw.strip_prefix.size());
    if (rest.empty() || rest[0] != '/') out += '/';
    out.append(rest);
    return;
  }
  std::string_view t = rw.path_template;
  while (!t.empty()) {
    size_t open = t.find('{');
    if (open == std::string_view::npos) {
      out.append(t);
      break;
    }
    out.append(t.substr(0, open));
    size_t close = t.find('}', open);
    std::string_view name = t.substr(open + 1, close - open - 1);
    if (name.size() > 3 && name.substr(name.size() - 3) == "...") name.remove_suffix(3);
    for (size_t i = 0; i < route->param_names.size(); ++i) {
      if (route->param_names[i] == name && static_cast<int>(i) < ctx.match.param_count) {
        out.append(ctx.match.params[i]);
        break;
      }
    }
    t.remove_prefix(close + 1);
  }
}

}  // namespace

void build_upstream_request_head(const gateway::RequestContext& ctx, std::string& out, std::string_view extra_headers,
                                 std::optional<uint64_t> fixed_length) {
  const http::RequestHead& req = *ctx.request;
  out.append(req.method);
  out += ' ';
  append_upstream_path(ctx, out);
  std::string_view query = ctx.upstream_query ? std::string_view(*ctx.upstream_query) : req.query;
  if (!query.empty()) {
    out += '?';
    out.append(query);
  }
  out.append(" HTTP/1.1\r\nHost: ");
  out.append(req.host);
  out.append("\r\n");

  std::string_view xff_first;
  bool xff_many = false;
  std::string_view via_first;
  for (const auto& h : req.headers) {
    switch (h.id) {
      case http::HeaderId::kHost:
      case http::HeaderId::kXRequestId:
      case http::HeaderId::kXForwardedProto:
      case http::HeaderId::kXForwardedHost:
      case http::HeaderId::kExpect:          // Portico answers 100-continue itself
      case http::HeaderId::kContentLength:   // re-framed below
        continue;
      case http::HeaderId::kXForwardedFor:
        if (xff_first.empty()) xff_first = h.value;
        else xff_many = true;
        continue;
      case http::HeaderId::kVia:
        if (via_first.empty()) via_first = h.value;
        continue;
      default:
        break;
    }
    if (http::is_hop_by_hop(h.id)) continue;
    if (req.connection_lists_headers && named_in_connection(req.headers, h.name)) continue;
    if ((!ctx.drop_headers.empty() || !ctx.credential_headers.empty()) &&
        gateway::header_dropped(ctx, h.name, true))
      continue;
    out.append(h.name);
    out.append(": ");
    out.append(h.value);
    out.append("\r\n");
  }

  out.append("X-Forwarded-For: ");
  if (xff_many) {
    for (const auto& h : req.headers) {
      if (h.id == http::HeaderId::kXForwardedFor) {
        out.append(h.value);
        out.append(", ");
      }
    }
  } else if (!xff_first.empty()) {
    out.append(xff_first);
    out.append(", ");
  }
  out.append(ctx.peer_ip);  // this hop; the client behind a trusted proxy is already in the list
  out.append("\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: ");
  out.append(req.host);
  out.append("\r\nX-Request-Id: ");
  out.append(ctx.request_id);
  out.append("\r\nVia: ");
  if (!via_first.empty()) {
    for (const auto& h : req.headers) {
      if (h.id == http::HeaderId::kVia) {
        out.append(h.value);
        out.append(", ");
      }
    }
  }
  out.append(req.version_minor == 0 ? "1.0 portico\r\n" : "1.1 portico\r\n");
  out.append(ctx.upstream_headers);
  out.append(extra_headers);
  if (fixed_length) {
    out.append(fmt::format("Content-Length: {}\r\n", *fixed_length));
  } else if (req.framing == http::Framing::kLength) {
    out.append(fmt::format("Content-Length: {}\r\n",
                           ctx.request_body_length.value_or(req.content_length)));
  } else if (req.framing == http::Framing::kChunked) {
    out.append("Transfer-Encoding: chunked\r\n");
  } else if (req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    out.append("Content-Length: 0\r\n");  // some origins answer 411 without it
  }
  out.append("\r\n");
}

}  // namespace portico::proxy
