#include "http/router.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::http {

// ---- patterns ----

std::vector<std::string> PathPattern::param_names() const {
  std::vector<std::string> names;
  for (const auto& s : segments) {
    if (s.kind != Kind::kLiteral) names.push_back(s.text);
  }
  return names;
}

Result<PathPattern> parse_path_pattern(std::string_view p) {
  if (p.empty() || p[0] != '/') return Error{"path must start with '/'"};
  PathPattern out;
  std::vector<std::string> seen;
  auto parts = split(p.substr(1), '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view s = parts[i];
    if (!s.empty() && s.front() == '{') {
      if (s.back() != '}' || s.size() < 3) {
        return Error{fmt::format("segment \"{}\": a parameter is written {{name}}", s)};
      }
      std::string_view name = s.substr(1, s.size() - 2);
      PathPattern::Kind kind = PathPattern::Kind::kParam;
      if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
        if (i + 1 != parts.size()) {
          return Error{fmt::format("catch-all {{{}}} must be the last segment", name)};
        }
        name.remove_suffix(3);
        kind = PathPattern::Kind::kCatchAll;
      }
      for (char c : name) {
        if (!(isalnum(static_cast<unsigned char>(c)) || c == '_')) {
          return Error{fmt::format("parameter name \"{}\" may only use letters, digits and '_'", name)};
        }
      }
      if (std::find(seen.begin(), seen.end(), name) != seen.end()) {
        return Error{fmt::format("parameter {{{}}} appears twice", name)};
      }
      seen.emplace_back(name);
      out.segments.push_back({kind, std::string(name)});
    } else {
      if (s.find_first_of("{}") != std::string_view::npos) {
        return Error{fmt::format("segment \"{}\": braces must enclose a whole segment", s)};
      }
      out.segments.push_back({PathPattern::Kind::kLiteral, std::string(s)});
    }
  }
  if (seen.size() > static_cast<size_t>(Router::kMaxParams)) {
    return Error{fmt::format("at most {} parameters per path", Router::kMaxParams)};
  }
  return out;
}

// ---- trie ----

namespace {

enum MethodBit : uint32_t {
  kGet = 1, kHead = 2, kPost = 4, kPut = 8, kDelete = 16, kPatch = 32, kOptions = 64, kTrace = 128,
};

uint32_t method_bit(std::string_view m) {
  switch (m.size()) {
    case 3:
      if (m == "GET") return kGet;
      if (m == "PUT") return kPut;
      break;
    case 4:
      if (m == "HEAD") return kHead;
      if (m == "POST") return kPost;
      break;
    case 5:
      if (m == "PATCH") return kPatch;
      if (m == "TRACE") return kTrace;
      break;
    case 6:
      if (m == "DELETE") return kDelete;
      break;
    case 7:
      if (m == "OPTIONS") return kOptions;
      break;
  }
  return 0;
}

struct MethodRoute {
  uint32_t mask = 0;                // standard methods
  std::vector<std::string> custom;  // other methods
  bool any = false;
  int id = -1;

  bool accepts(std::string_view m, uint32_t bit) const {
    if (any) return true;
    if (bit != 0) return (mask & bit) != 0;
    return std::find(custom.begin(), custom.end(), m) != custom.end();
  }
  bool overlaps(const MethodRoute& o) const {
    if (any || o.any) return any && o.any;  // "any" coexists with explicit methods
    if (mask & o.mask) return true;
    for (const auto& c : custom) {
      if (std::find(o.custom.begin(), o.custom.end(), c) != o.custom.end()) return true;
    }
    return false;
  }
  void describe(std::string& out) const {
    static constexpr const char* kNames[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"};
    uint32_t bits = mask | ((mask & kGet) ? uint32_t{kHead} : 0u);  // GET routes answer HEAD too
    for (int i = 0; i < 8; ++i) {
      if (bits & (1u << i)) {
        if (out.find(kNames[i]) != std::string::npos) continue;
        if (!out.empty()) out += ", ";
        out += kNames[i];
      }
    }
    for (const auto& c : custom) {
      if (!out.empty()) out += ", ";
      out += c;
    }
  }
};

// Picks the route for a method among those ending at one node.
const MethodRoute* pick(const std::vector<MethodRoute>& routes, std::string_view method, uint32_t bit) {
  const MethodRoute* any = nullptr;
  const MethodRoute* get_for_head = nullptr;
  for (const auto& r : routes) {
    if (r.any) {
      any = &r;
    } else if (r.accepts(method, bit)) {
      return &r;
    } else if (bit == kHead && (r.mask & kGet)) {
      get_for_head = &r;
    }
  }
  return get_for_head ? get_for_head : any;
}

}  // namespace

struct Router::Node {
  std::vector<std::pair<std::string, std::unique_ptr<Node>>> literals;  // sorted by key
  std::unique_ptr<Node> param;
  std::vector<MethodRoute> routes;            // routes ending exactly here
  std::vector<MethodRoute> catch_all_routes;  // "{rest...}" routes hanging off here

  Node* literal(std::string_view key) const {
    auto it = std::lower_bound(literals.begin(), literals.end(), key,
                               [](const auto& e, std::string_view k) { return e.first < k; });
    return it != literals.end() && it->first == key ? it->second.get() : nullptr;
  }
  Node* add_literal(const std::string& key) {
    auto it = std::lower_bound(literals.begin(), literals.end(), key,
                               [](const auto& e, std::string_view k) { return e.first < k; });
    if (it != literals.end() && it->first == key) return it->second.get();
    return literals.emplace(it, key, std::make_unique<Node>())->second.get();
  }
};

struct Router::Table {
  Node root;
};

namespace {

struct Search {
  std::string_view method;
  uint32_t bit;
  std::string_view path;
  Router::Match* m;
  int depth_params = 0;
  bool path_matched = false;
};

// Segment boundaries are found on the fly: `pos` is the index just after a '/'.
bool walk(const Router::Node* node, size_t pos, Search& s) {
  std::string_view path = s.path;
  if (pos > path.size()) {
    // Every segment consumed.
    if (!node->routes.empty()) {
      if (const MethodRoute* r = pick(node->routes, s.method, s.bit)) {
        s.m->route = r->id;
        s.m->param_count = s.depth_params;
        return true;
      }
      s.path_matched = true;
      for (const auto& r : node->routes) r.describe(s.m->allow);
    }
    return false;
  }
  size_t end = path.find('/', pos);
  if (end == std::string_view::npos) end = path.size();
  std::string_view seg = path.substr(pos, end - pos);

  if (const Router::Node* lit = node->literal(seg)) {
    if (walk(lit, end + 1, s)) return true;
  }
  if (node->param && !seg.empty() && s.depth_params < Router::kMaxParams) {
    s.m->params[s.depth_params++] = seg;
    if (walk(node->param.get(), end + 1, s)) return true;
    --s.depth_params;
  }
  if (!node->catch_all_routes.empty()) {
    if (const MethodRoute* r = pick(node->catch_all_routes, s.method, s.bit)) {
      s.m->params[s.depth_params] = path.substr(pos);
      s.m->param_count = s.depth_params + 1;
      s.m->route = r->id;
      return true;
    }
    s.path_matched = true;
    for (const auto& r : node->catch_all_routes) r.describe(s.m->allow);
  }
  return false;
}
}  // namespace

Router::Router() : any_host_(std::make_unique<Table>()) {}
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

Router::Table* Router::table_for(std::string_view host) {
  if (host.empty()) return any_host_.get();
  std::string key = to_lower(host);
  bool wildcard = key.size() > 2 && key[0] == '*' && key[1] == '.';
  auto& list = wildcard ? wildcard_hosts_ : exact_hosts_;
  if (wildcard) key.erase(0, 1);  // ".example.com"
  for (auto& [k, t] : list) {
    if (k == key) return t.get();
  }
  list.emplace_back(key, std::make_unique<Table>());
  Table* t = list.back().second.get();
  if (wildcard) {
    std::stable_sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
  } else {
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  return t;
}

Result<void> Router::add(std::string_view host, const std::vector<std::string>& methods,
                         const PathPattern& pattern, int route_id) {
  Node* node = &table_for(host)->root;
  bool catch_all = false;
  for (const auto& seg : pattern.segments) {
    switch (seg.kind) {
      case PathPattern::Kind::kLiteral:
        node = node->add_literal(seg.text);
        break;
      case PathPattern::Kind::kParam:
        if (!node->param) node->param = std::make_unique<Node>();
        node = node->param.get();
        break;
      case PathPattern::Kind::kCatchAll:
        catch_all = true;
        break;
    }
  }
  MethodRoute r;
  r.id = route_id;
  r.any = methods.empty();
  for (const auto& m : methods) {
    uint32_t bit = method_bit(m);
    if (bit) r.mask |= bit;
    else r.custom.push_back(m);
  }
  auto& list = catch_all ? node->catch_all_routes : node->routes;
  for (const auto& existing : list) {
    if (existing.overlaps(r)) {
      return Error{fmt::format("conflicts with route #{} (same host, path shape and method)", existing.id + 1)};
    }
  }
  list.push_back(std::move(r));
  ++size_;
  return {};
}

bool Router::match(std::string_view host, std::string_view method, std::string_view path,
                   Match& m) const {
  m.route = -1;
  m.method_not_allowed = false;
  m.allow.clear();
  m.param_count = 0;
  if (path.empty() || path[0] != '/') return false;
  Search s{method, method_bit(method), path, &m};

  auto try_table = [&](const Table& t) {
    s.depth_params = 0;
    return walk(&t.root, 1, s);
  };

  if (!exact_hosts_.empty() || !wildcard_hosts_.empty()) {
    // Lower-case the host without its port into a stack buffer.
    char buf[256];
    size_t n = 0;
    size_t end = host.size();
    if (!host.empty() && host[0] == '[') {
      size_t close = host.find(']');
      end = close == std::string_view::npos ? host.size() : close + 1;
    } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
      end = colon;
    }
    if (end < sizeof buf) {
      for (size_t i = 0; i < end; ++i) buf[n++] = ascii_lower(host[i]);
      std::string_view h(buf, n);
      auto it = std::lower_bound(exact_hosts_.begin(), exact_hosts_.end(), h,
                                 [](const auto& e, std::string_view k) { return e.first < k; });
      if (it != exact_hosts_.end() && it->first == h && try_table(*it->second)) return true;
      for (const auto& [suffix, table] : wildcard_hosts_) {
        if (h.size() > suffix.size() && h.substr(h.size() - suffix.size()) == suffix &&
            try_table(*table)) {
          return true;
        }
      }
    }
  }
  if (try_table(*any_host_)) return true;
  m.method_not_allowed = s.path_matched;
  return false;
}

}  // namespace portico::http
