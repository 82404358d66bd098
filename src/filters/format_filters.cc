#include "filters/format_filters.h"

#include <simdjson.h>

#include <optional>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "core/log.h"
#include "core/strings.h"
#include "filters/settings_factory.h"
#include "format/jq.h"
#include "format/json_edit.h"
#include "format/template.h"
#include "http/parser.h"
#include "http/request_values.h"

namespace portico::filters {
namespace {

namespace json = boost::json;

// A header value as rendered, safe to write into a head: what is not a field-value
// character (CR, LF, other controls) becomes a space, so a template that renders a
// client's value cannot add header lines.
std::string header_safe(std::string value) {
  for (char& c : value) {
    if (!http::is_field_value_char(c)) c = ' ';
  }
  return value;
}

// Compiled NamedEdits: names to remove, renames, and values to set.
struct Edits {
  std::vector<std::string> remove;                          // lower case
  std::vector<std::pair<std::string, std::string>> rename;  // from (lower case), to
  std::vector<std::pair<std::string, format::Template>> set;
  bool empty() const { return remove.empty() && rename.empty() && set.empty(); }
};

Result<Edits> compile_edits(const config::NamedEdits& e, bool lower, std::string_view where,
                            std::string_view setting) {
  Edits out;
  auto name = [&](const std::string& n) { return lower ? to_lower(n) : n; };
  for (const auto& n : e.remove) out.remove.push_back(name(n));
  for (const auto& [from, to] : e.rename) out.rename.emplace_back(name(from), to);
  for (const auto& [n, value] : e.set) {
    auto t = format::Template::compile_string(value);
    if (!t) return Error{fmt::format("{}: {}.set.{}: {}", where, setting, n, t.error().message)};
    out.set.emplace_back(n, std::move(*t));
  }
  return out;
}

// --- response head lines ("Name: value\r\n") ---------------------------------------------

void remove_header_lines(std::string& headers, std::string_view name) {
  size_t at = 0;
  while (at < headers.size()) {
    size_t end = headers.find("\r\n", at);
    end = end == std::string::npos ? headers.size() : end + 2;
    std::string_view line(headers.data() + at, end - at);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && iequals(trim(line.substr(0, colon)), name)) {
      headers.erase(at, end - at);
    } else {
      at = end;
    }
  }
}

std::optional<std::string> header_line_value(const std::string& headers, std::string_view name) {
  for (std::string_view line : split(headers, '\n')) {
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !iequals(trim(line.substr(0, colon)), name)) continue;
    std::string_view value = line.substr(colon + 1);
    if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
    return std::string(trim(value));
  }
  return std::nullopt;
}

void add_header_line(std::string& headers, std::string_view name, std::string_view value) {
  headers += name;
  headers += ": ";
  headers += value;
  headers += "\r\n";
}

// The text is exactly one JSON value (simdjson checks it in about a microsecond per KiB).
bool is_one_json_value(std::string& text) {
  thread_local simdjson::dom::parser parser;
  text.reserve(text.size() + simdjson::SIMDJSON_PADDING);
  simdjson::dom::element root;
  return parser.parse(text.data(), text.size(), false).get(root) == simdjson::SUCCESS;
}

// --- response formatting ------------------------------------------------------------------

struct ResponseSettings {
  int status = 0;
  Edits headers;
  std::shared_ptr<format::JqProgram> jq;
  std::vector<format::Pointer> select, drop;
  std::vector<std::pair<format::Pointer, format::Pointer>> rename;
  std::vector<std::pair<format::Pointer, format::Template>> set;
  std::optional<format::Template> envelope, errors;
  bool jq_uses_request = false, jq_uses_principal = false;
  bool shapes_after_jq() const {
    return !select.empty() || !drop.empty() || !rename.empty() || !set.empty() ||
           envelope.has_value();
  }
  bool shapes_success_body() const { return jq || shapes_after_jq(); }
};

class ResponseFormatting final : public Filter {
 public:
  using Settings = ResponseSettings;
  explicit ResponseFormatting(const ResponseSettings& s) : s_(s) {}
  Verdict on_request(FilterControl& chain) override {
    // The body is read as JSON: the upstream must not compress it.
    if (s_.shapes_success_body() || s_.errors) {
      chain.context().drop_headers.emplace_back("accept-encoding");
    }
    return Verdict::kContinue;
  }

  void on_response_head(gateway::RequestContext& ctx, ResponseHead& head) override {
    status_ = head.status;  // templates and jq see the terminal's status
    format::Scope scope{&ctx, nullptr, head.status};
    for (const auto& name : s_.headers.remove) remove_header_lines(head.headers, name);
    for (const auto& [from, to] : s_.headers.rename) {
      if (auto v = header_line_value(head.headers, from)) {
        remove_header_lines(head.headers, from);
        add_header_line(head.headers, to, *v);
      }
    }
    for (const auto& [name, value] : s_.headers.set) {
      remove_header_lines(head.headers, name);
      add_header_line(head.headers, name, header_safe(value.render_text(scope)));
    }
    if (s_.status != 0 && head.status >= 200 && head.status <= 299) {
      head.status = s_.status;
      head.reason.clear();
    }
  }

  void on_response_body(gateway::RequestContext& ctx, ResponseHead& head,
                        std::string& body) override {
    if (ctx.request->method == "HEAD" || head.status == 204 || head.status == 304) return;
    bool error = status_ >= 400;
    if (error ? !s_.errors : !s_.shapes_success_body()) return;
    if (error) {
      json::value doc = parse_body(body);
      format::Scope scope{&ctx, &doc, status_};
      replace(head, body, s_.errors->render(scope));
      return;
    }
    json::value doc;
    if (s_.jq) {
      // The body goes to jq as the text it is (jq parses it); the request and principal
      // only when the program names them.
      std::string input = "{\"body\":";
      if (body.empty()) {
        input += "null";
      } else if (is_one_json_value(body)) {
        input += body;  // checked whole, so it cannot reach past its own member
      } else {
        input += json::serialize(json::value(body));
      }
      input += ",\"status\":" + std::to_string(status_);
      if (s_.jq_uses_request) input += ",\"request\":" + json::serialize(format::request_json(ctx));
      if (s_.jq_uses_principal)
        input += ",\"principal\":" + json::serialize(format::principal_json(ctx));
      input += '}';
      auto out = s_.jq->run(input);
      if (!out) return fail(ctx, head, body, out.error().message);
      if (!s_.shapes_after_jq()) {
        replace_text(head, body, std::move(*out));
        return;
      }
      boost::system::error_code ec;
      doc = json::parse(*out, ec);
      if (ec) return fail(ctx, head, body, "jq's output is not JSON");
    } else {
      doc = parse_body(body);
    }
    if (!s_.select.empty()) doc = format::select(doc, s_.select);
    for (const auto& [from, to] : s_.rename) {
      if (const json::value* v = format::find(doc, from)) {
        json::value moved = *v;
        format::erase(doc, from);
        format::put(doc, to, std::move(moved));
      }
    }
    for (const auto& p : s_.drop) format::erase(doc, p);
    for (const auto& [at, value] : s_.set) {
      format::Scope scope{&ctx, &doc, status_};
      json::value v = value.render(scope);
      if (!format::put(doc, at, std::move(v))) {
        return fail(ctx, head, body,
                    fmt::format("set {}: the response has no object or array there", at.text));
      }
    }
    if (s_.envelope) {
      format::Scope scope{&ctx, &doc, status_};
      doc = s_.envelope->render(scope);
    }
    replace(head, body, doc);
  }

 private:
  // The body as JSON; one that is not JSON is its text, as a string.
  static json::value parse_body(const std::string& body) {
    if (body.empty()) return nullptr;
    boost::system::error_code ec;
    json::value doc = json::parse(body, ec);
    return ec ? json::value(body) : doc;
  }

  static void replace(ResponseHead& head, std::string& body, const json::value& doc) {
    replace_text(head, body, json::serialize(doc));
  }

  static void replace_text(ResponseHead& head, std::string& body, std::string text) {
    body = std::move(text);
    remove_header_lines(head.headers, "content-type");
    remove_header_lines(head.headers, "content-encoding");
    add_header_line(head.headers, "Content-Type", "application/json");
  }

  void fail(gateway::RequestContext& ctx, ResponseHead& head, std::string& body,
            const std::string& why) {
    log::warn("route {}: request {}: the response formatter failed: {}", ctx.route->name,
              ctx.request_id, why);
    ctx.error = "response formatting: " + why;
    head.status = 502;
    head.reason.clear();
    head.headers = "Content-Type: application/json\r\n";
    head.has_date = false;
    body = gateway::error_body("the response could not be formatted", ctx.request_id);
    if (s_.errors) {
      boost::system::error_code ec;
      json::value doc = json::parse(body, ec);
      format::Scope scope{&ctx, &doc, 502};
      replace(head, body, s_.errors->render(scope));
    }
  }

  const ResponseSettings& s_;
  int status_ = 0;  // the terminal's
};

// --- request shaping ----------------------------------------------------------------------

struct RequestSettings {
  Edits headers;  // names lower case
  Edits query;
  std::vector<std::pair<format::Pointer, format::Template>> body_set;
};

class RequestShaping final : public Filter {
 public:
  using Settings = RequestSettings;
  explicit RequestShaping(const RequestSettings& s) : s_(s) {}

  Verdict on_request(FilterControl& chain) override {
    gateway::RequestContext& ctx = chain.context();
    const http::RequestHead& req = *ctx.request;
    format::Scope scope{&ctx, nullptr, 0};
    if (!s_.headers.empty()) shape_headers(ctx, req, scope);
    if (!s_.query.empty()) shape_query(ctx, req, scope);
    if (s_.body_set.empty()) return Verdict::kContinue;
    // No body: nothing to put fields into.
    if (req.framing == http::Framing::kNone ||
        (req.framing == http::Framing::kLength && req.content_length == 0)) {
      return Verdict::kContinue;
    }
    chain.read_body();
    return Verdict::kPause;
  }

  Verdict on_request_body(FilterControl& chain, std::string& body) override {
    boost::system::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec || !doc.is_object()) {
      chain.refuse(415, "this route takes a JSON object as its request body");
      return Verdict::kAnswered;
    }
    gateway::RequestContext& ctx = chain.context();
    for (const auto& [at, value] : s_.body_set) {
      format::Scope scope{&ctx, &doc, 0};
      json::value v = value.render(scope);
      if (!format::put(doc, at, std::move(v))) {
        chain.refuse(400, fmt::format("the request body has no object or array at {}", at.text));
        return Verdict::kAnswered;
      }
    }
    body = json::serialize(doc);
    return Verdict::kContinue;
  }

 private:
  void shape_headers(gateway::RequestContext& ctx, const http::RequestHead& req,
                     const format::Scope& scope) {
    for (const auto& name : s_.headers.remove) ctx.drop_headers.push_back(name);
    for (const auto& [from, to] : s_.headers.rename) {
      const http::Header* h = http::find_header(req.headers, from);
      if (h == nullptr) continue;
      ctx.drop_headers.push_back(from);
      add_header_line(ctx.upstream_headers, to, h->value);
    }
    for (const auto& [name, value] : s_.headers.set) {
      ctx.drop_headers.push_back(to_lower(name));  // the client's copy never passes
      std::string v = header_safe(value.render_text(scope));
      if (!v.empty()) add_header_line(ctx.upstream_headers, name, v);
    }
  }

  void shape_query(gateway::RequestContext& ctx, const http::RequestHead& req,
                   const format::Scope& scope) {
    std::string out;
    auto add = [&](std::string_view name, std::string_view raw_value, bool has_value) {
      if (!out.empty()) out += '&';
      out += name;
      if (has_value) {
        out += '=';
        out += raw_value;
      }
    };
    // Parameters as the client encoded them, minus the removed and set ones, renamed.
    for (std::string_view pair : split(req.query, '&')) {
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      std::string name = percent_decode(pair.substr(0, eq), true);
      auto matches = [&](const std::string& n) { return n == name; };
      if (std::any_of(s_.query.remove.begin(), s_.query.remove.end(), matches)) continue;
      if (std::any_of(s_.query.set.begin(), s_.query.set.end(),
                      [&](const auto& s) { return s.first == name; }))
        continue;
      std::string_view raw_value =
          eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
      auto renamed = std::find_if(s_.query.rename.begin(), s_.query.rename.end(),
                                  [&](const auto& r) { return r.first == name; });
      if (renamed != s_.query.rename.end()) {
        add(percent_encode(renamed->second), raw_value, eq != std::string_view::npos);
      } else {
        add(pair.substr(0, eq), raw_value, eq != std::string_view::npos);
      }
    }
    for (const auto& [name, value] : s_.query.set) {
      json::value v = value.render(scope);
      if (v.is_null()) continue;  // nothing to set it to (no such claim): left out
      add(percent_encode(name), percent_encode(value.render_text(scope)), true);
    }
    ctx.upstream_query = std::move(out);
  }

  const RequestSettings& s_;
};

Result<std::vector<format::Pointer>> pointers(const std::vector<std::string>& texts,
                                              std::string_view where, std::string_view setting) {
  std::vector<format::Pointer> out;
  for (const auto& t : texts) {
    auto p = format::parse_pointer(t);
    if (!p) return Error{fmt::format("{}: {}: {}", where, setting, p.error().message)};
    out.push_back(std::move(*p));
  }
  return out;
}

using JsonSets = std::vector<std::pair<format::Pointer, format::Template>>;

Result<JsonSets> compile_sets(const std::vector<std::pair<std::string, std::string>>& sets,
                              std::string_view where, std::string_view setting) {
  JsonSets out;
  for (const auto& [at, value] : sets) {
    auto p = format::parse_pointer(at);
    if (!p) return Error{fmt::format("{}: {}: {}", where, setting, p.error().message)};
    auto t = format::Template::compile_json(value);
    if (!t) return Error{fmt::format("{}: {} {}: {}", where, setting, at, t.error().message)};
    out.emplace_back(std::move(*p), std::move(*t));
  }
  return out;
}

}  // namespace

FactoryResult make_request_shaping_filter(const config::Config&, const config::Route& route) {
  const config::RequestShaping& c = route.request;
  if (c.empty()) return std::unique_ptr<const FilterFactory>();
  RequestSettings s;
  auto headers = compile_edits(c.headers, true, c.where, "request.headers");
  if (!headers) return headers.error();
  s.headers = std::move(*headers);
  auto query = compile_edits(c.query, false, c.where, "request.query");
  if (!query) return query.error();
  s.query = std::move(*query);
  auto sets = compile_sets(c.body_set, c.where, "request.body.set");
  if (!sets) return sets.error();
  s.body_set = std::move(*sets);
  return std::unique_ptr<const FilterFactory>(std::make_unique<SettingsFactory<RequestShaping>>(
      "request_shaping", std::move(s), FactoryTraits{}));
}

FactoryResult make_response_formatting_filter(const config::Config&, const config::Route& route) {
  const config::ResponseFormatting& c = route.response;
  if (c.empty()) return std::unique_ptr<const FilterFactory>();
  ResponseSettings s;
  s.status = c.status;
  auto headers = compile_edits(c.headers, false, c.where, "response.headers");
  if (!headers) return headers.error();
  s.headers = std::move(*headers);
  if (!c.jq.empty()) {
    auto jq = format::JqProgram::compile(c.jq);
    if (!jq) return Error{fmt::format("{}: response.jq: {}", c.where, jq.error().message)};
    s.jq = std::move(*jq);
    s.jq_uses_request = c.jq.find("$request") != std::string::npos;
    s.jq_uses_principal = c.jq.find("$principal") != std::string::npos;
  }
  auto select = pointers(c.select, c.where, "response.select");
  if (!select) return select.error();
  s.select = std::move(*select);
  auto drop = pointers(c.drop, c.where, "response.drop");
  if (!drop) return drop.error();
  s.drop = std::move(*drop);
  for (const auto& [from, to] : c.rename) {
    auto f = format::parse_pointer(from);
    auto t = format::parse_pointer(to);
    if (!f || !t) {
      return Error{
          fmt::format("{}: response.rename: {}", c.where, (!f ? f.error() : t.error()).message)};
    }
    s.rename.emplace_back(std::move(*f), std::move(*t));
  }
  auto sets = compile_sets(c.set, c.where, "response.set");
  if (!sets) return sets.error();
  s.set = std::move(*sets);
  for (auto [text, out, setting] : {std::tuple{&c.envelope, &s.envelope, "response.envelope"},
                                    std::tuple{&c.errors, &s.errors, "response.errors"}}) {
    if (text->empty()) continue;
    auto t = format::Template::compile_json(*text);
    if (!t) return Error{fmt::format("{}: {}: {}", c.where, setting, t.error().message)};
    *out = std::move(*t);
  }
  bool body = s.shapes_success_body() || s.errors.has_value();
  return std::unique_ptr<const FilterFactory>(std::make_unique<SettingsFactory<ResponseFormatting>>(
      "response_formatting", std::move(s), FactoryTraits{true, body, {}}));
}

}  // namespace portico::filters
