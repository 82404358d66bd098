// Route table: host + method + path to a route id, compiled into one segment trie per host.
//
// Patterns: "/literal/{param}/more" and a trailing catch-all "/files/{path...}" which
// matches "/files/" and everything below it (not "/files").
// Precedence, documented in docs/routing.md:
//   1. host: exact host, then wildcard hosts ("*.example.com", longest suffix first), then
//      routes without a host;
//   2. path, segment by segment from the left: literal beats {param} beats {rest...}, with
//      backtracking when a more specific branch leads nowhere;
//   3. method: a route listing the method beats a route for any method; GET routes also
//      answer HEAD unless a HEAD route exists.
// A path that matches only routes for other methods yields method_not_allowed + allow.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace portico::http {

struct PathPattern {
  enum class Kind : uint8_t { kLiteral, kParam, kCatchAll };
  struct Segment {
    Kind kind;
    std::string text;  // literal text or parameter name
  };
  std::vector<Segment> segments;
  std::vector<std::string> param_names() const;
};

// Parses "/a/{b}/{c...}"; errors name the problem.
Result<PathPattern> parse_path_pattern(std::string_view pattern);

class Router {
 public:
  static constexpr int kMaxParams = 16;

  struct Match {
    int route = -1;
    bool method_not_allowed = false;
    std::string allow;  // for 405: the methods the path does accept, comma-separated
    int param_count = 0;
    std::string_view params[kMaxParams];  // values in pattern order (views into the path)
  };

  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  // host: "" (any), "api.example.com" or "*.example.com"; methods: empty = any.
  // Errors: a conflicting route already claims the same host, pattern and method.
  Result<void> add(std::string_view host, const std::vector<std::string>& methods,
                   const PathPattern& pattern, int route_id);

  // path must already be normalised; host may carry a port (ignored).
  bool match(std::string_view host, std::string_view method, std::string_view path, Match& m) const;

  size_t size() const { return size_; }

  struct Node;  // opaque trie node (router.cc)
  struct Table;

 private:
  Table* table_for(std::string_view host);
  std::unique_ptr<Table> any_host_;
  std::vector<std::pair<std::string, std::unique_ptr<Table>>> exact_hosts_;     // sorted
  std::vector<std::pair<std::string, std::unique_ptr<Table>>> wildcard_hosts_;  // ".suffix", longest first
  size_t size_ = 0;
};

}  // namespace portico::http
