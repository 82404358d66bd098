// The config loader's section readers (internal to config/): each checks one part of the
// YAML against its schema and fills the typed Config, reporting every problem to Context.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace portico::config {

void read_server(Context& ctx, const YAML::Node& node, Server& s);

// A path as written in the config, relative to the config file's directory.
std::string resolve_path(const std::string& path, const std::string& base_dir);

// `base_dir`: relative file paths (file discovery) are resolved against it.
void read_upstream(Context& ctx, const std::string& name, const YAML::Node& node, const std::string& base_dir,
                   Upstream& u);

// Retry policy (also used by routes to override their upstream's).
void read_retries(Context& ctx, const YAML::Node& node, const std::string& path, RetryPolicy& r);

// "header:X-User", "cookie:session", "query:user" or "client_ip".
bool read_hash_key(Context& ctx, const YAML::Node& node, const std::string& path, HashKey& key);

// `auth:` (JWT and API-key methods), `consumers:` (a mapping or a file), `cors:`.
void read_auth(Context& ctx, Config& cfg, const YAML::Node& node, const std::string& base_dir);
void read_consumers(Context& ctx, Config& cfg, const YAML::Node& node, const std::string& base_dir);
bool read_cors(Context& ctx, const YAML::Node& node, const std::string& path, Cors& cors);
// A route's auth, require, deny and cors keys (auth methods and consumers read first).
void read_route_auth(Context& ctx, const Config& cfg, MapReader& route, Route& r);

// `redis:`, `rate_limits:` and `usage_plans:` (before consumers, which name plans).
void read_redis(Context& ctx, Config& cfg, const YAML::Node& node);
void read_rate_limits(Context& ctx, Config& cfg, const YAML::Node& node);
void read_usage_plans(Context& ctx, Config& cfg, const YAML::Node& node);
// A route's rate_limit key, plus the policies that apply to all routes (auth read first).
void read_route_limits(Context& ctx, const Config& cfg, MapReader& route, Route& r);
// A route's `validate:` (validation.cc).
void read_route_validation(Context& ctx, const Config& cfg, size_t index, MapReader& route, Route& r);

// A route's `request:` (shaping) and `response:` (formatting) (formatting.cc).
void read_route_formatting(Context& ctx, MapReader& route, Route& r);
// A schema setting: a file name (relative to base_dir) or an inline schema, which gets
// inline_name as its file name in the config's directory (validation.cc).
void read_schema(Context& ctx, const YAML::Node& n, const std::string& path,
                 const std::string& inline_name, const std::string& base_dir,
                 std::optional<SchemaSource>& out);
// A mapping of names to strings, in order (formatting.cc).
void read_string_map(Context& ctx, const YAML::Node& n, const std::string& path,
                     std::vector<std::pair<std::string, std::string>>& out);
// A route's `aggregate:` (aggregate.cc).
void read_route_aggregate(Context& ctx, const Config& cfg, const YAML::Node& node,
                          const std::string& path, Route& r);
// A route's `steps:` (steps.cc).
void read_route_steps(Context& ctx, const Config& cfg, size_t index, const YAML::Node& node,
                      const std::string& path, Route& r);
// A YAML value as JSON (plain scalars by YAML 1.2's core schema, quoted ones strings).
std::string yaml_to_json(const YAML::Node& node);

// `functions:` (before routes, which name them).
void read_functions(Context& ctx, Config& cfg, const YAML::Node& node, const std::string& base_dir);
// `services:` (the AWS-compatible APIs' listener, region, account and credentials).
void read_services(Context& ctx, Config& cfg, const YAML::Node& node);
// A function name that must exist: its index, or -1 after reporting the error.
int function_index(Context& ctx, const Config& cfg, const YAML::Node& node, const std::string& path);

void read_route(Context& ctx, Config& cfg, size_t index, const YAML::Node& node,
                const std::vector<std::string>& upstream_names);

}  // namespace portico::config
