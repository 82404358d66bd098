// A route's `request:` (shaping the request before the terminal) and `response:`
// (formatting the answer after it). Values are kept as written (templates, JSON
// Pointers, a jq program); filters/ compiles them and reports what does not compile
// with the setting's file and line.
#include <fmt/format.h>

#include "config/sections.h"

namespace portico::config {
namespace {

// name: value pairs of a mapping, values scalars (templates).

// JSON Pointer: value (any YAML, kept as JSON) pairs.
void read_json_map(Context& ctx, const YAML::Node& n, const std::string& path,
                   std::vector<std::pair<std::string, std::string>>& out) {
  if (!n.IsMap()) {
    ctx.error(n, path, "expected a mapping of JSON Pointers to values");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    out.emplace_back(it->first.Scalar(), yaml_to_json(it->second));
  }
}

void read_edits(Context& ctx, const YAML::Node& n, const std::string& path, NamedEdits& e) {
  MapReader m(ctx, n, path);
  if (!m.valid()) return;
  if (auto v = m.get("set"); v.IsDefined()) read_string_map(ctx, v, m.path_of("set"), e.set);
  if (auto v = m.get("remove"); v.IsDefined())
    ctx.read_string_list(v, m.path_of("remove"), e.remove);
  if (auto v = m.get("rename"); v.IsDefined())
    read_string_map(ctx, v, m.path_of("rename"), e.rename);
}

std::string where(Context& ctx, const YAML::Node& n) {
  return fmt::format("{}:{}", ctx.file(), n.Mark().line + 1);
}

}  // namespace

void read_string_map(Context& ctx, const YAML::Node& n, const std::string& path,
                     std::vector<std::pair<std::string, std::string>>& out) {
  if (!n.IsMap()) {
    ctx.error(n, path, "expected a mapping of names to values");
    return;
  }
  for (auto it = n.begin(); it != n.end(); ++it) {
    std::string value;
    std::string name = it->first.Scalar();
    if (!ctx.read_string(it->second, path + "." + name, value)) continue;
    out.emplace_back(std::move(name), std::move(value));
  }
}

void read_route_formatting(Context& ctx, MapReader& route, Route& r) {
  if (YAML::Node n = route.get("request"); n.IsDefined()) {
    MapReader m(ctx, n, route.path_of("request"));
    if (m.valid()) {
      r.request.where = where(ctx, n);
      if (auto v = m.get("headers"); v.IsDefined())
        read_edits(ctx, v, m.path_of("headers"), r.request.headers);
      if (auto v = m.get("query"); v.IsDefined())
        read_edits(ctx, v, m.path_of("query"), r.request.query);
      if (auto v = m.get("body"); v.IsDefined()) {
        MapReader b(ctx, v, m.path_of("body"));
        if (b.valid()) {
          if (auto s = b.get("set"); s.IsDefined())
            read_json_map(ctx, s, b.path_of("set"), r.request.body_set);
        }
      }
    }
  }
  YAML::Node n = route.get("response");
  if (!n.IsDefined()) return;
  MapReader m(ctx, n, route.path_of("response"));
  if (!m.valid()) return;
  ResponseFormatting& f = r.response;
  f.where = where(ctx, n);
  if (auto v = m.get("status"); v.IsDefined()) {
    int64_t status = 0;
    if (ctx.read_int(v, m.path_of("status"), 200, 599, status)) f.status = static_cast<int>(status);
  }
  if (auto v = m.get("headers"); v.IsDefined()) read_edits(ctx, v, m.path_of("headers"), f.headers);
  if (auto v = m.get("jq"); v.IsDefined()) ctx.read_string(v, m.path_of("jq"), f.jq);
  if (auto v = m.get("select"); v.IsDefined())
    ctx.read_string_list(v, m.path_of("select"), f.select);
  if (auto v = m.get("drop"); v.IsDefined()) ctx.read_string_list(v, m.path_of("drop"), f.drop);
  if (auto v = m.get("rename"); v.IsDefined())
    read_string_map(ctx, v, m.path_of("rename"), f.rename);
  if (auto v = m.get("set"); v.IsDefined()) read_json_map(ctx, v, m.path_of("set"), f.set);
  if (auto v = m.get("envelope"); v.IsDefined()) f.envelope = yaml_to_json(v);
  if (auto v = m.get("errors"); v.IsDefined()) f.errors = yaml_to_json(v);
}

}  // namespace portico::config
