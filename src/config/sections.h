// The config loader's section readers (internal to config/): each checks one part of the
// YAML against its schema and fills the typed Config, reporting every problem to Context.
#pragma once

#include <string>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace portico::config {

void read_server(Context& ctx, const YAML::Node& node, Server& s);

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

void read_route(Context& ctx, Config& cfg, size_t index, const YAML::Node& node,
                const std::vector<std::string>& upstream_names);

}  // namespace portico::config
