#include "format/template.h"

#include <charconv>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "core/strings.h"

#include "config/config.h"
#include "gateway/principal.h"
#include "gateway/snapshot.h"
#include "http/parser.h"
#include "http/request_values.h"
#include "http/status.h"

namespace portico::format {
namespace {

namespace json = boost::json;

// The names a template may use (the first word of a ${...} path).
enum class Root {
  kBody,
  kStatus,
  kReason,
  kRequestId,
  kMethod,
  kPath,
  kRoute,
  kClientIp,
  kParam,
  kQuery,
  kHeader,
  kSubject,
  kConsumer,
  kClaims,
  kScopes,
  kGroups,
  kResponses,
};

struct RootName {
  const char* name;
  Root root;
  bool takes_key;  // needs a name after it (param.id); the others may be followed by a path
};

constexpr RootName kRoots[] = {
    {"body", Root::kBody, false},           {"status", Root::kStatus, false},
    {"reason", Root::kReason, false},       {"request_id", Root::kRequestId, false},
    {"method", Root::kMethod, false},       {"path", Root::kPath, false},
    {"route", Root::kRoute, false},         {"client_ip", Root::kClientIp, false},
    {"param", Root::kParam, true},          {"query", Root::kQuery, true},
    {"header", Root::kHeader, true},        {"subject", Root::kSubject, false},
    {"consumer", Root::kConsumer, false},   {"claims", Root::kClaims, false},
    {"scopes", Root::kScopes, false},       {"groups", Root::kGroups, false},
    {"responses", Root::kResponses, false},  // aggregate backends only (Names::kAggregate)
};

struct Path {
  bool is_literal = false;  // a quoted 'text' (a last alternative)
  std::string literal;
  Root root = Root::kBody;
  std::vector<std::string> keys;  // after the root: members or array indexes
};

struct Piece {
  std::string literal;             // when alternatives is empty
  std::vector<Path> alternatives;  // a ${a|b}
};

std::string known_names(Names names) {
  std::string out;
  for (const RootName& r : kRoots) {
    if (r.root == Root::kResponses && names != Names::kAggregate) continue;
    if (!out.empty()) out += ", ";
    out += r.name;
    if (r.takes_key) out += ".NAME";
  }
  return out;
}

Result<Path> parse_path(std::string_view text, Names names) {
  Path path;
  if (text.size() >= 2 && text.front() == '\'' && text.back() == '\'') {
    path.is_literal = true;
    path.literal = std::string(text.substr(1, text.size() - 2));
    return path;
  }
  std::vector<std::string> words;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == '.') {
      words.emplace_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  for (const RootName& r : kRoots) {
    if (words[0] != r.name) continue;
    if (r.root == Root::kResponses && names != Names::kAggregate) break;
    path.root = r.root;
    if (r.takes_key && words.size() != 2) {
      return Error{fmt::format("\"${{{}}}\": {} takes one name ({}.NAME)", text, r.name, r.name)};
    }
    if (!r.takes_key && words.size() > 1 && r.root != Root::kBody && r.root != Root::kClaims &&
        r.root != Root::kResponses) {
      return Error{fmt::format("\"${{{}}}\": {} has no members", text, r.name)};
    }
    for (size_t i = 1; i < words.size(); ++i) {
      if (words[i].empty()) return Error{fmt::format("\"${{{}}}\": an empty name", text)};
      path.keys.push_back(words[i]);
    }
    return path;
  }
  return Error{fmt::format("\"${{{}}}\": unknown name \"{}\" (known: {})", text, words[0],
                           known_names(names))};
}

Result<std::vector<Piece>> parse_text(std::string_view s, Names names) {
  std::vector<Piece> pieces;
  std::string literal;
  size_t i = 0;
  while (i < s.size()) {
    if (s.compare(i, 3, "$${") == 0) {
      literal += "${";
      i += 3;
      continue;
    }
    if (s.compare(i, 2, "${") != 0) {
      literal += s[i++];
      continue;
    }
    size_t end = s.find('}', i + 2);
    if (end == std::string_view::npos) {
      return Error{fmt::format("\"{}\": \"${{\" without its \"}}\"", s)};
    }
    if (!literal.empty()) pieces.push_back(Piece{std::move(literal), {}});
    literal.clear();
    Piece expr;
    std::string_view inner = s.substr(i + 2, end - i - 2);
    size_t start = 0;
    for (size_t k = 0; k <= inner.size(); ++k) {
      if (k == inner.size() || inner[k] == '|') {
        auto path = parse_path(inner.substr(start, k - start), names);
        if (!path) return path.error();
        expr.alternatives.push_back(std::move(*path));
        start = k + 1;
      }
    }
    pieces.push_back(std::move(expr));
    i = end + 1;
  }
  if (!literal.empty() || pieces.empty()) pieces.push_back(Piece{std::move(literal), {}});
  return pieces;
}

json::value walk(json::value v, const std::vector<std::string>& keys, size_t from) {
  for (size_t i = from; i < keys.size(); ++i) {
    if (auto* o = v.if_object()) {
      auto* m = o->if_contains(keys[i]);
      if (m == nullptr) return nullptr;
      json::value next = *m;
      v = std::move(next);
    } else if (auto* a = v.if_array()) {
      size_t index = 0;
      auto [end, ec] = std::from_chars(keys[i].data(), keys[i].data() + keys[i].size(), index);
      if (ec != std::errc() || end != keys[i].data() + keys[i].size() || index >= a->size())
        return nullptr;
      json::value next = (*a)[index];
      v = std::move(next);
    } else {
      return nullptr;
    }
  }
  return v;
}

json::value strings(const std::vector<std::string>& list) {
  json::array a;
  for (const auto& s : list) a.emplace_back(s);
  return a;
}

json::value lookup(const Path& p, const Scope& scope) {
  if (p.is_literal) return json::value(p.literal);
  const gateway::RequestContext* ctx = scope.request;
  const gateway::Principal* principal = ctx != nullptr ? ctx->principal.get() : nullptr;
  switch (p.root) {
    case Root::kBody:
      return scope.body != nullptr ? walk(*scope.body, p.keys, 0) : json::value();
    case Root::kResponses:
      return scope.responses != nullptr ? walk(*scope.responses, p.keys, 0) : json::value();
    case Root::kStatus:
      return scope.status != 0 ? json::value(scope.status) : json::value();
    case Root::kReason:
      return scope.status != 0 ? json::value(http::reason_phrase(scope.status)) : json::value();
    case Root::kClaims:
      return principal != nullptr ? walk(principal->claims, p.keys, 0) : json::value();
    case Root::kSubject:
      return principal != nullptr && !principal->subject.empty() ? json::value(principal->subject)
                                                                 : json::value();
    case Root::kConsumer:
      return principal != nullptr && !principal->consumer.empty() ? json::value(principal->consumer)
                                                                  : json::value();
    case Root::kScopes:
      return principal != nullptr ? strings(principal->scopes) : json::value();
    case Root::kGroups:
      return principal != nullptr ? strings(principal->groups) : json::value();
    default:
      break;
  }
  if (ctx == nullptr) return nullptr;
  const http::RequestHead& req = *ctx->request;
  switch (p.root) {
    case Root::kRequestId:
      return json::value(ctx->request_id);
    case Root::kMethod:
      return json::value(req.method);
    case Root::kPath:
      return json::value(ctx->path);
    case Root::kRoute:
      return ctx->route != nullptr ? json::value(ctx->route->name) : json::value();
    case Root::kClientIp:
      return json::value(ctx->client_ip);
    case Root::kParam: {
      if (ctx->route == nullptr) return nullptr;
      const auto& names = ctx->route->param_names;
      for (size_t i = 0; i < names.size() && i < static_cast<size_t>(ctx->match.param_count); ++i) {
        if (names[i] == p.keys[0]) return json::value(percent_decode(ctx->match.params[i]));
      }
      return nullptr;
    }
    case Root::kQuery: {
      json::value found;
      http::for_each_decoded_query_param(req.query, [&](std::string name, std::string value) {
        if (found.is_null() && name == p.keys[0]) found = json::value(value);
      });
      return found;
    }
    case Root::kHeader: {
      std::string joined;
      bool any = false;
      for (const http::Header& h : req.headers) {
        if (!iequals(h.name, p.keys[0])) continue;
        if (any) joined += ", ";
        joined += h.value;
        any = true;
      }
      return any ? json::value(joined) : json::value();
    }
    default:
      return nullptr;
  }
}

json::value value_of(const Piece& piece, const Scope& scope) {
  for (const Path& p : piece.alternatives) {
    json::value v = lookup(p, scope);
    if (!v.is_null()) return v;
  }
  return nullptr;
}

void append_text(std::string& out, const json::value& v) {
  if (v.is_null()) return;
  if (const auto* s = v.if_string()) {
    out.append(s->data(), s->size());
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

struct Template::Node {
  enum class Kind { kConstant, kText, kObject, kArray } kind = Kind::kConstant;
  json::value constant;
  std::vector<Piece> pieces;      // kText
  std::vector<std::string> keys;  // kObject: member names, values in children
  std::vector<Node> children;     // kObject's member values, kArray's items
};

namespace {

Result<Template::Node> compile_value(const json::value& v, Names names) {
  Template::Node n;
  if (const auto* s = v.if_string()) {
    if (s->find('$') == json::string::npos) {
      n.constant = v;
      return n;
    }
    auto pieces = parse_text(std::string_view(s->data(), s->size()), names);
    if (!pieces) return pieces.error();
    n.kind = Template::Node::Kind::kText;
    n.pieces = std::move(*pieces);
  } else if (const auto* o = v.if_object()) {
    n.kind = Template::Node::Kind::kObject;
    for (const auto& m : *o) {
      auto child = compile_value(m.value(), names);
      if (!child) return child.error();
      n.keys.emplace_back(m.key());
      n.children.push_back(std::move(*child));
    }
  } else if (const auto* a = v.if_array()) {
    n.kind = Template::Node::Kind::kArray;
    for (const auto& item : *a) {
      auto child = compile_value(item, names);
      if (!child) return child.error();
      n.children.push_back(std::move(*child));
    }
  } else {
    n.constant = v;
  }
  return n;
}

json::value render_node(const Template::Node& n, const Scope& scope) {
  using Kind = Template::Node::Kind;
  switch (n.kind) {
    case Kind::kConstant:
      return n.constant;
    case Kind::kText: {
      if (n.pieces.size() == 1 && !n.pieces[0].alternatives.empty())
        return value_of(n.pieces[0], scope);
      std::string out;
      for (const Piece& p : n.pieces) {
        if (p.alternatives.empty()) {
          out += p.literal;
        } else {
          append_text(out, value_of(p, scope));
        }
      }
      return json::value(out);
    }
    case Kind::kObject: {
      json::object o;
      for (size_t i = 0; i < n.keys.size(); ++i) o[n.keys[i]] = render_node(n.children[i], scope);
      return o;
    }
    case Kind::kArray: {
      json::array a;
      for (const auto& child : n.children) a.push_back(render_node(child, scope));
      return a;
    }
  }
  return nullptr;
}

}  // namespace

Template::Template() = default;
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

Result<Template> Template::compile_json(std::string_view text, Names names) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return Error{fmt::format("not JSON: {}", ec.message())};
  auto node = compile_value(v, names);
  if (!node) return node.error();
  Template t;
  t.root_ = std::make_unique<Node>(std::move(*node));
  return t;
}

Result<Template> Template::compile_string(std::string_view text, Names names) {
  return compile_json(json::serialize(json::value(text)), names);
}

json::value Template::render(const Scope& scope) const { return render_node(*root_, scope); }

std::string Template::render_text(const Scope& scope) const {
  std::string out;
  append_text(out, render(scope));
  return out;
}

json::value request_json(const gateway::RequestContext& ctx) {
  const http::RequestHead& req = *ctx.request;
  json::object o;
  o["method"] = req.method;
  o["path"] = ctx.path;
  o["route"] = ctx.route != nullptr ? json::value(ctx.route->name) : json::value();
  o["request_id"] = ctx.request_id;
  o["client_ip"] = ctx.client_ip;
  json::object params;
  if (ctx.route != nullptr) {
    const auto& names = ctx.route->param_names;
    for (size_t i = 0; i < names.size() && i < static_cast<size_t>(ctx.match.param_count); ++i) {
      params[names[i]] = percent_decode(ctx.match.params[i]);
    }
  }
  o["params"] = std::move(params);
  json::object query;
  http::for_each_decoded_query_param(req.query, [&](std::string name, std::string value) {
    json::value* v = query.if_contains(name);
    if (v == nullptr) {
      query[name] = value;
    } else if (auto* a = v->if_array()) {
      a->emplace_back(value);
    } else {
      json::array both{*v, json::value(value)};
      *v = std::move(both);
    }
  });
  o["query"] = std::move(query);
  json::object headers;
  for (const http::Header& h : req.headers) {
    std::string name = to_lower(h.name);
    json::value* v = headers.if_contains(name);
    if (v == nullptr) {
      headers[name] = h.value;
    } else {
      json::string& s = v->as_string();
      s.append(", ");
      s.append(h.value);
    }
  }
  o["headers"] = std::move(headers);
  return o;
}

json::value principal_json(const gateway::RequestContext& ctx) {
  const gateway::Principal* p = ctx.principal.get();
  if (p == nullptr) return nullptr;
  json::object o;
  o["method"] = p->method;
  o["subject"] = p->subject;
  o["consumer"] = p->consumer.empty() ? json::value() : json::value(p->consumer);
  o["groups"] = strings(p->groups);
  o["scopes"] = strings(p->scopes);
  o["claims"] = p->claims;
  return o;
}

}  // namespace portico::format
