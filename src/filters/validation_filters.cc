#include "filters/validation_filters.h"

#include <simdjson.h>

#include <algorithm>
#include <tuple>

#include <fmt/format.h>
#include <boost/json/stream_parser.hpp>

#include "core/log.h"
#include "core/strings.h"
#include "filters/request_parameters.h"
#include "filters/settings_factory.h"
#include "schema/schema.h"

namespace portico::filters {
namespace {

constexpr size_t kMaxListed = 100;  // violations listed in one answer

// Where malformed JSON stops being JSON (simdjson says what, not where).
size_t error_offset(std::string_view text) {
  boost::json::stream_parser p;
  boost::system::error_code ec;
  size_t n = p.write_some(text.data(), text.size(), ec);
  return ec ? n : text.size();
}

// Parses body (padded in place) with the worker's parser.
simdjson::error_code parse(std::string& body, simdjson::dom::element& root) {
  thread_local simdjson::dom::parser parser;
  body.reserve(body.size() + simdjson::SIMDJSON_PADDING);
  return parser.parse(body.data(), body.size(), false).get(root);
}

// A schema for one part of the request, and what it says about its properties (for
// reading strings as numbers; unused for the body).
struct PartSchema {
  std::shared_ptr<const schema::Schema> schema;
  Declared declared;
};

// --- the request ----------------------------------------------------------------------

struct RequestSchemas {
  PartSchema body, query, path, headers;
  const config::Route* route = nullptr;  // its parameter names (the config outlives the filter)
};

class RequestValidation final : public Filter {
 public:
  using Settings = RequestSchemas;
  explicit RequestValidation(const RequestSchemas& schemas) : schemas_(schemas) {}

  Verdict on_request(FilterControl& chain) override {
    gateway::RequestContext& ctx = chain.context();
    const http::RequestHead& req = *ctx.request;
    // Parameters first: they are at hand, and a body is read only to be checked.
    if (schemas_.path.schema) {
      check("path", schemas_.path,
            path_object(schemas_.route->param_names, ctx.match.params,
                        static_cast<size_t>(ctx.match.param_count), schemas_.path.declared));
    }
    if (schemas_.query.schema)
      check("query", schemas_.query, query_object(req.query, schemas_.query.declared));
    if (schemas_.headers.schema) {
      check("headers", schemas_.headers, header_object(req.headers, schemas_.headers.declared));
    }
    if (!schemas_.body.schema) return answer(chain);

    if (req.framing == http::Framing::kNone ||
        (req.framing == http::Framing::kLength && req.content_length == 0)) {
      if (!violations_.empty()) return answer(chain);
      chain.refuse(400, "this route expects a JSON request body");
      return Verdict::kAnswered;
    }
    const http::Header* type = http::find_header(req.headers, "content-type");
    if (type == nullptr || !is_json_media_type(type->value)) {
      if (!violations_.empty()) return answer(chain);
      chain.refuse(
          415, type == nullptr
                   ? std::string("the request body must be JSON (Content-Type: application/json)")
                   : fmt::format("the request body must be JSON (Content-Type: application/json), "
                                 "not {}",
                                 type->value));
      return Verdict::kAnswered;
    }
    chain.read_body();
    return Verdict::kPause;
  }

  Verdict on_request_body(FilterControl& chain, std::string& body) override {
    JsonCheck check = check_json(*schemas_.body.schema, body);
    if (!check.malformed.empty()) {
      if (!violations_.empty()) return answer(chain);
      chain.refuse(400, fmt::format("the request body is not valid JSON ({})", check.malformed));
      return Verdict::kAnswered;
    }
    for (auto& v : check.violations) violations_.push_back(LocatedViolation{"body", std::move(v)});
    return answer(chain);
  }

 private:
  // Validates one part's instance, keeping its violations.
  void check(std::string_view part, const PartSchema& s, std::string instance) {
    simdjson::dom::element root;
    if (parse(instance, root) != simdjson::SUCCESS) {
      // Only bytes that are not UTF-8 make a parameter's JSON fail to parse.
      violations_.push_back(
          LocatedViolation{part, {"", "encoding", fmt::format("the {} is not valid UTF-8", part)}});
      return;
    }
    collect(part, *s.schema, root);
  }

  void collect(std::string_view part, const schema::Schema& schema,
               const simdjson::dom::element& root) {
    // The answer alone first (no strings built); the list only for a part that fails.
    if (schema.validate(root, nullptr)) return;
    std::vector<schema::Violation> found;
    schema.validate(root, &found);
    for (auto& v : found) violations_.push_back(LocatedViolation{part, std::move(v)});
  }

  Verdict answer(FilterControl& chain) {
    if (violations_.empty()) return Verdict::kContinue;
    // The parts at fault, in the order checked: "query", "path, query and body".
    std::vector<std::string_view> at_fault;
    for (const LocatedViolation& l : violations_) {
      if (std::find(at_fault.begin(), at_fault.end(), l.part) == at_fault.end())
        at_fault.push_back(l.part);
    }
    std::string parts(at_fault[0]);
    for (size_t i = 1; i < at_fault.size(); ++i) {
      parts += i + 1 == at_fault.size() ? " and " : ", ";
      parts += at_fault[i];
    }
    gateway::RequestContext& ctx = chain.context();
    ctx.error = fmt::format("request {}: {} violation{} of the route's schemas", parts,
                            violations_.size(), violations_.size() == 1 ? "" : "s");
    std::string message =
        parts.find(' ') == std::string::npos
            ? fmt::format("the request {} does not match the route's schema", parts)
            : fmt::format("the request's {} do not match the route's schemas", parts);
    chain.respond_json(400, violations_json(message, ctx.request_id, violations_));
    return Verdict::kAnswered;
  }

  const RequestSchemas& schemas_;
  std::vector<LocatedViolation> violations_;
};

// --- the response body --------------------------------------------------------------------

class ResponseValidation final : public Filter {
 public:
  using Settings = std::shared_ptr<const schema::Schema>;
  explicit ResponseValidation(const Settings& schema) : schema_(*schema) {}
  Verdict on_request(FilterControl& chain) override {
    // The body is checked as JSON: the upstream must not compress it.
    chain.context().drop_headers.emplace_back("accept-encoding");
    return Verdict::kContinue;
  }

  // Only successful answers have a contract; errors pass as they are.
  void on_response_body(gateway::RequestContext& ctx, ResponseHead& head,
                        std::string& body) override {
    if (head.status < 200 || head.status > 299 || ctx.request->method == "HEAD") return;
    JsonCheck check = check_json(schema_, body);
    if (check.ok()) return;
    std::string problem = check.summary();
    log::warn(
        "route {}: request {}: the {} response does not match the route's response schema: {}",
        ctx.route->name, ctx.request_id, head.status, problem);
    ctx.error = "response outside the route's schema: " + problem;
    head.status = 502;
    head.reason.clear();
    head.headers = "Content-Type: application/json\r\n";
    head.has_date = false;
    body = gateway::error_body("the response does not match the route's response schema",
                               ctx.request_id);
  }

 private:
  const schema::Schema& schema_;
};

void add_files(const schema::Schema& schema, std::vector<std::string>& files) {
  files.insert(files.end(), schema.files().begin(), schema.files().end());
}

}  // namespace

bool is_json_media_type(std::string_view value) {
  std::string_view type = trim(value.substr(0, value.find(';')));
  auto ends_with = [&](std::string_view suffix) {
    return type.size() >= suffix.size() &&
           iequals(type.substr(type.size() - suffix.size()), suffix);
  };
  return iequals(type, "application/json") || ends_with("+json");
}

Result<std::shared_ptr<const schema::Schema>> compile_schema(const config::SchemaSource& source,
                                                             std::string_view setting) {
  schema::Options options;
  options.load_files = true;  // a schema file's $refs to its neighbours
  schema::SchemaSet set(options);
  if (!source.inline_json.empty()) {
    if (auto added = set.add(source.uri, source.inline_json); !added) {
      return Error{fmt::format("{}: {}: {}", source.where, setting, added.error().message)};
    }
  }
  auto compiled = set.compile(source.uri);
  if (!compiled)
    return Error{fmt::format("{}: {}: {}", source.where, setting, compiled.error().message)};
  return *compiled;
}

std::string JsonCheck::summary() const {
  if (!malformed.empty()) return fmt::format("not JSON ({})", malformed);
  std::string out =
      fmt::format("{} violation{}:", violations.size(), violations.size() == 1 ? "" : "s");
  for (size_t i = 0; i < violations.size() && i < 10; ++i) {
    out += fmt::format(" {} {} ({});", violations[i].pointer.empty() ? "/" : violations[i].pointer,
                       violations[i].message, violations[i].keyword);
  }
  return out;
}

JsonCheck check_json(const schema::Schema& schema, std::string& text) {
  JsonCheck check;
  simdjson::dom::element root;
  if (auto err = parse(text, root); err != simdjson::SUCCESS) {
    check.malformed =
        fmt::format("at byte {}: {}", error_offset(text), simdjson::error_message(err));
  } else if (!schema.validate(root, nullptr)) {  // the answer alone first: no strings built
    schema.validate(root, &check.violations);
  }
  return check;
}

std::string violations_json(std::string_view message, std::string_view request_id,
                            const std::vector<LocatedViolation>& violations) {
  std::string out = "{\"error\":" + json_quote(message) +
                    ",\"request_id\":" + json_quote(request_id) + ",\"violations\":[";
  for (size_t i = 0; i < violations.size() && i < kMaxListed; ++i) {
    const auto& [part, v] = violations[i];
    if (i > 0) out += ',';
    out += "{\"in\":" + json_quote(part) + ",\"location\":" + json_quote(v.pointer) +
           ",\"keyword\":" + json_quote(v.keyword) + ",\"message\":" + json_quote(v.message) + "}";
  }
  out += "]}\n";
  return out;
}

FactoryResult make_request_validation_filter(const config::Config&, const config::Route& route) {
  const config::RouteValidation& v = route.validate;
  if (!v.body && !v.query && !v.path && !v.headers) return std::unique_ptr<const FilterFactory>();
  RequestSchemas schemas;
  schemas.route = &route;
  std::vector<std::string> files;
  const std::tuple<const std::optional<config::SchemaSource>&, PartSchema&, const char*> parts[] = {
      {v.body, schemas.body, "validate.body"},
      {v.query, schemas.query, "validate.query"},
      {v.path, schemas.path, "validate.path"},
      {v.headers, schemas.headers, "validate.headers"}};
  for (const auto& [source, part, setting] : parts) {
    if (!source) continue;
    auto schema = compile_schema(*source, setting);
    if (!schema) return schema.error();
    part.schema = *schema;
    part.declared = part.schema->declared_properties();
    add_files(*part.schema, files);
  }
  // A path schema can only speak of the route's own parameters.
  for (const schema::DeclaredProperty& d : schemas.path.declared) {
    if (std::find(route.param_names.begin(), route.param_names.end(), d.name) ==
        route.param_names.end()) {
      return Error{fmt::format("{}: validate.path: \"{}\" is not a parameter of the path {}",
                               v.path->where, d.name, route.path)};
    }
  }
  return std::unique_ptr<const FilterFactory>(std::make_unique<SettingsFactory<RequestValidation>>(
      "request_validation", std::move(schemas), FactoryTraits{false, false, std::move(files)}));
}

FactoryResult make_response_validation_filter(const config::Config&, const config::Route& route) {
  if (!route.validate.response) return std::unique_ptr<const FilterFactory>();
  auto schema = compile_schema(*route.validate.response, "validate.response");
  if (!schema) return schema.error();
  std::vector<std::string> files;
  add_files(**schema, files);
  return std::unique_ptr<const FilterFactory>(std::make_unique<SettingsFactory<ResponseValidation>>(
      "response_validation", *schema, FactoryTraits{false, true, std::move(files)}));
}

}  // namespace portico::filters
