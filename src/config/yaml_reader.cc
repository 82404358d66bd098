#include "config/yaml_reader.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::config {

void Context::error(const YAML::Mark& mark, const std::string& path, std::string message) {
  Diagnostic d;
  d.file = file_;
  if (!mark.is_null()) {
    d.line = mark.line + 1;
    d.column = mark.column + 1;
  }
  d.path = path;
  d.message = std::move(message);
  errors_.push_back(std::move(d));
}

bool Context::read_string(const YAML::Node& n, const std::string& path, std::string& out) {
  if (!n.IsScalar()) {
    error(n, path, "expected a string");
    return false;
  }
  out = n.Scalar();
  return true;
}

bool Context::read_bool(const YAML::Node& n, const std::string& path, bool& out) {
  if (n.IsScalar()) {
    std::string v = to_lower(n.Scalar());
    if (v == "true" || v == "yes" || v == "on") {
      out = true;
      return true;
    }
    if (v == "false" || v == "no" || v == "off") {
      out = false;
      return true;
    }
  }
  error(n, path, "expected true or false");
  return false;
}

bool Context::read_int(const YAML::Node& n, const std::string& path, int64_t min, int64_t max,
                       int64_t& out) {
  std::optional<uint64_t> v;
  if (n.IsScalar()) v = parse_u64(n.Scalar());
  if (!v || *v > static_cast<uint64_t>(max) || static_cast<int64_t>(*v) < min) {
    error(n, path, fmt::format("expected a whole number from {} to {}", min, max));
    return false;
  }
  out = static_cast<int64_t>(*v);
  return true;
}

bool Context::read_duration(const YAML::Node& n, const std::string& path, int64_t& out_ms) {
  if (!n.IsScalar() || !parse_duration_ms(n.Scalar(), out_ms)) {
    error(n, path, "expected a duration such as 250ms, 5s, 2m or 1h");
    return false;
  }
  return true;
}

bool Context::read_size(const YAML::Node& n, const std::string& path, uint64_t& out) {
  if (!n.IsScalar() || !parse_size(n.Scalar(), out)) {
    error(n, path, "expected a size such as 512, 8KiB, 10MiB or 1GiB");
    return false;
  }
  return true;
}

bool Context::read_percent(const YAML::Node& n, const std::string& path, uint32_t& out) {
  std::optional<uint64_t> v;
  if (n.IsScalar()) {
    std::string_view t = n.Scalar();
    if (!t.empty() && t.back() == '%') t.remove_suffix(1);
    v = parse_u64(t);
  }
  if (!v || *v > 100) {
    error(n, path, "expected a percentage from 0 to 100, such as 20%");
    return false;
  }
  out = static_cast<uint32_t>(*v);
  return true;
}

bool Context::read_string_list(const YAML::Node& n, const std::string& path,
                               std::vector<std::string>& out) {
  out.clear();
  if (n.IsScalar()) {
    out.push_back(n.Scalar());
    return true;
  }
  if (!n.IsSequence()) {
    error(n, path, "expected a string or a list of strings");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      error(n[i], fmt::format("{}[{}]", path, i), "expected a string");
      ok = false;
      continue;
    }
    out.push_back(n[i].Scalar());
  }
  return ok;
}

MapReader::MapReader(Context& ctx, const YAML::Node& node, std::string path)
    : ctx_(ctx), node_(node), path_(std::move(path)) {
  if (!node.IsDefined() || node.IsNull()) {  // absent or empty ("server:"): all defaults
    valid_ = true;
    return;
  }
  if (!node.IsMap()) {
    ctx_.error(node, path_.empty() ? "(top level)" : path_, "expected a mapping of keys to values");
    return;
  }
  valid_ = true;
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string& key = it->first.Scalar();
    if (!seen.insert(key).second) {
      ctx_.error(it->first, path_of(key.c_str()), fmt::format("duplicate key \"{}\"", key));
    }
  }
}

int Context::find_name(const YAML::Node& n, const std::string& path, std::string_view what, const std::string& name,
                       const std::vector<std::string>& names) {
  auto it = std::find(names.begin(), names.end(), name);
  if (it != names.end()) return static_cast<int>(it - names.begin());
  std::string hint = suggest(name, names);
  error(n, path, hint.empty() ? fmt::format("unknown {} \"{}\"", what, name)
                              : fmt::format("unknown {} \"{}\" (did you mean \"{}\"?)", what, name, hint));
  return -1;
}

void MapReader::finish() {
  if (finished_) return;
  finished_ = true;
  if (!valid_ || !node_.IsMap()) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const std::string& key = it->first.Scalar();
    ctx_.find_name(it->first, path_of(key.c_str()), "key", key, known_);
  }
}

YAML::Node MapReader::get(const char* key) {
  known_.emplace_back(key);
  if (!valid_ || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
  // Iterate rather than node_[key]: operator[] on a const-less node would insert.
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool MapReader::has(const char* key) {
  YAML::Node n = get(key);
  return n.IsDefined();
}

std::string MapReader::path_of(const char* key) const {
  return path_.empty() ? std::string(key) : path_ + "." + key;
}

}  // namespace portico::config
