// Schema-checking helpers over yaml-cpp: every mapping is read through a MapReader that
// records which keys the schema asked for, so any other key is reported as unknown with
// the closest known key as a suggestion. Errors carry the YAML path and line/column.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"

namespace portico::config {

class Context {
 public:
  Context(std::string file, std::vector<Diagnostic>& errors) : file_(std::move(file)), errors_(errors) {}

  void error(const YAML::Mark& mark, const std::string& path, std::string message);
  void error(const YAML::Node& node, const std::string& path, std::string message) {
    error(node.Mark(), path, std::move(message));
  }
  size_t error_count() const { return errors_.size(); }
  std::vector<Diagnostic>& errors() { return errors_; }
  const std::string& file() const { return file_; }

  // Typed readers: report a precise error and return false on a bad value.
  bool read_string(const YAML::Node& n, const std::string& path, std::string& out);
  bool read_bool(const YAML::Node& n, const std::string& path, bool& out);
  bool read_int(const YAML::Node& n, const std::string& path, int64_t min, int64_t max, int64_t& out);
  bool read_duration(const YAML::Node& n, const std::string& path, int64_t& out_ms);
  bool read_size(const YAML::Node& n, const std::string& path, uint64_t& out);
  // "50%" or 50, from 0 to 100.
  bool read_percent(const YAML::Node& n, const std::string& path, uint32_t& out);
  bool read_u32(const YAML::Node& n, const std::string& path, uint32_t min, uint32_t max, uint32_t& out) {
    int64_t v;
    if (!read_int(n, path, min, max, v)) return false;
    out = static_cast<uint32_t>(v);
    return true;
  }
  // A scalar or a sequence of scalars.
  bool read_string_list(const YAML::Node& n, const std::string& path, std::vector<std::string>& out);
  // The index of name among names; else reports `unknown WHAT "name"` (with the
  // closest name as a suggestion) and returns -1.
  int find_name(const YAML::Node& n, const std::string& path, std::string_view what, const std::string& name,
                const std::vector<std::string>& names);

 private:
  std::string file_;
  std::vector<Diagnostic>& errors_;
};

class MapReader {
 public:
  // Reports an error (and reads nothing) when node is not a mapping.
  MapReader(Context& ctx, const YAML::Node& node, std::string path);
  ~MapReader() { finish(); }
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;

  // Reports the keys nobody asked for; runs at most once (the destructor calls it too).
  void finish();

  bool valid() const { return valid_; }
  // The value for key (undefined node if absent); the key becomes known.
  YAML::Node get(const char* key);
  bool has(const char* key);
  std::string path_of(const char* key) const;
  const std::string& path() const { return path_; }
  const YAML::Node& node() const { return node_; }

 private:
  Context& ctx_;
  YAML::Node node_;
  std::string path_;
  std::vector<std::string> known_;
  bool valid_ = false;
  bool finished_ = false;
};

}  // namespace portico::config
