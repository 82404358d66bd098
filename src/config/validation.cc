// A route's `validate:` section: JSON Schemas for the request body, query, path
// parameters, headers and the response body, each a file (relative to the config file) or written
// inline in YAML (turned into JSON here). The schemas are compiled with the route's filters
// (filters/), which report a schema that does not compile with its file and JSON Pointer.
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "config/sections.h"
#include "core/strings.h"

namespace portico::config {
namespace {

// A plain YAML scalar as JSON: null, booleans and numbers as YAML 1.2's core schema
// reads them; anything else (and every quoted scalar) is a string.
std::string scalar_json(const YAML::Node& n) {
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return json_quote(s);  // quoted: always a string
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return "null";
  if (s == "true" || s == "True" || s == "TRUE") return "true";
  if (s == "false" || s == "False" || s == "FALSE") return "false";
  // A JSON number as written (YAML's 0x, 0o, .inf and the like stay strings).
  if (is_json_number(s)) return s;
  return json_quote(s);
}

void to_json(const YAML::Node& n, std::string& out) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      out += '{';
      bool first = true;
      for (auto it = n.begin(); it != n.end(); ++it) {
        if (!first) out += ',';
        first = false;
        out += json_quote(it->first.Scalar());
        out += ':';
        to_json(it->second, out);
      }
      out += '}';
      break;
    }
    case YAML::NodeType::Sequence: {
      out += '[';
      for (size_t i = 0; i < n.size(); ++i) {
        if (i > 0) out += ',';
        to_json(n[i], out);
      }
      out += ']';
      break;
    }
    case YAML::NodeType::Scalar:
      out += scalar_json(n);
      break;
    default:
      out += "null";
  }
}


}  // namespace

void read_schema(Context& ctx, const YAML::Node& n, const std::string& path,
                 const std::string& inline_name, const std::string& base_dir,
                 std::optional<SchemaSource>& out) {
  SchemaSource source;
  source.where = fmt::format("{}:{}", ctx.file(), n.Mark().line + 1);
  if (n.IsScalar()) {
    std::string file = resolve_path(n.Scalar(), base_dir);
    std::error_code ec;
    std::string absolute = std::filesystem::absolute(file, ec).lexically_normal().string();
    if (access(absolute.c_str(), R_OK) != 0) {
      ctx.error(n, path, fmt::format("cannot read the schema file \"{}\"", absolute));
      return;
    }
    source.uri = "file://" + absolute;
  } else if (n.IsMap()) {
    std::error_code ec;
    std::string dir = std::filesystem::absolute(base_dir.empty() ? "." : base_dir, ec)
                          .lexically_normal()
                          .string();
    if (!dir.empty() && dir.back() == '/') dir.pop_back();
    source.uri = "file://" + dir + "/" + inline_name;
    source.inline_json = yaml_to_json(n);
  } else {
    ctx.error(n, path, "expected a schema file name or an inline schema (a mapping)");
    return;
  }
  out = std::move(source);
}

std::string yaml_to_json(const YAML::Node& node) {
  std::string out;
  to_json(node, out);
  return out;
}

void read_route_validation(Context& ctx, const Config& cfg, size_t index, MapReader& route,
                           Route& r) {
  YAML::Node n = route.get("validate");
  if (!n.IsDefined()) return;
  MapReader v(ctx, n, route.path_of("validate"));
  if (!v.valid()) return;
  std::string base_dir = std::filesystem::path(cfg.file).parent_path().string();
  const std::pair<const char*, std::optional<SchemaSource>*> parts[] = {
      {"body", &r.validate.body},
      {"query", &r.validate.query},
      {"path", &r.validate.path},
      {"headers", &r.validate.headers},
      {"response", &r.validate.response}};
  for (const auto& [part, out] : parts) {
    if (auto b = v.get(part); b.IsDefined()) {
      read_schema(ctx, b, v.path_of(part), fmt::format("routes[{}].validate.{}.json", index, part),
                  base_dir, *out);
    }
  }
}

}  // namespace portico::config
