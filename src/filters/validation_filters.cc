#include "filters/validation_filters.h"

#include <simdjson.h>

#include <fmt/format.h>
#include <boost/json/stream_parser.hpp>

#include "core/log.h"
#include "core/strings.h"
#include "schema/schema.h"

namespace portico::filters {
namespace {

constexpr size_t kMaxListed = 100;  // violations listed in one answer

Result<std::shared_ptr<const schema::Schema>> compile(const config::SchemaSource& source,
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

// "application/json", "application/problem+json; charset=utf-8": JSON.
bool is_json_media_type(std::string_view value) {
  std::string_view type = trim(value.substr(0, value.find(';')));
  auto ends_with = [&](std::string_view suffix) {
    return type.size() >= suffix.size() &&
           iequals(type.substr(type.size() - suffix.size()), suffix);
  };
  return iequals(type, "application/json") || ends_with("+json");
}

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

std::string violations_json(std::string_view message, std::string_view request_id,
                            const std::vector<schema::Violation>& violations) {
  std::string out = "{\"error\":" + json_quote(message) +
                    ",\"request_id\":" + json_quote(request_id) + ",\"violations\":[";
  for (size_t i = 0; i < violations.size() && i < kMaxListed; ++i) {
    const auto& v = violations[i];
    if (i > 0) out += ',';
    out += "{\"location\":" + json_quote(v.pointer) + ",\"keyword\":" + json_quote(v.keyword) +
           ",\"message\":" + json_quote(v.message) + "}";
  }
  out += "]}\n";
  return out;
}

// --- the request body ---------------------------------------------------------------------

class RequestValidation final : public Filter {
 public:
  explicit RequestValidation(const schema::Schema& schema) : schema_(schema) {}

  Verdict on_request(FilterControl& chain) override {
    const http::RequestHead& req = *chain.context().request;
    if (req.framing == http::Framing::kNone ||
        (req.framing == http::Framing::kLength && req.content_length == 0)) {
      chain.refuse(400, "this route expects a JSON request body");
      return Verdict::kAnswered;
    }
    const http::Header* type = http::find_header(req.headers, "content-type");
    if (type == nullptr || !is_json_media_type(type->value)) {
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
    simdjson::dom::element root;
    if (auto err = parse(body, root); err != simdjson::SUCCESS) {
      chain.refuse(400, fmt::format("the request body is not valid JSON (at byte {}: {})",
                                    error_offset(body), simdjson::error_message(err)));
      return Verdict::kAnswered;
    }
    // The answer alone first (no strings built); the list only for a body that fails.
    if (schema_.validate(root, nullptr)) return Verdict::kContinue;
    std::vector<schema::Violation> violations;
    schema_.validate(root, &violations);
    gateway::RequestContext& ctx = chain.context();
    ctx.error = fmt::format("request body: {} violation{} of the route's schema", violations.size(),
                            violations.size() == 1 ? "" : "s");
    chain.respond_json(400, violations_json("the request body does not match the route's schema",
                                            ctx.request_id, violations));
    return Verdict::kAnswered;
  }

 private:
  const schema::Schema& schema_;
};

class RequestValidationFactory final : public FilterFactory {
 public:
  explicit RequestValidationFactory(std::shared_ptr<const schema::Schema> schema)
      : schema_(std::move(schema)) {}
  std::string_view name() const override { return "request_validation"; }
  void watched_files(std::vector<std::string>& out) const override {
    out.insert(out.end(), schema_->files().begin(), schema_->files().end());
  }
  std::unique_ptr<Filter> make(const WorkerServices&, gateway::RequestContext&) const override {
    return std::make_unique<RequestValidation>(*schema_);
  }

 private:
  std::shared_ptr<const schema::Schema> schema_;
};

// --- the response body --------------------------------------------------------------------

class ResponseValidation final : public Filter {
 public:
  explicit ResponseValidation(const schema::Schema& schema) : schema_(schema) {}
  Verdict on_request(FilterControl&) override { return Verdict::kContinue; }

  // Only successful answers have a contract; errors pass as they are.
  void on_response_body(gateway::RequestContext& ctx, ResponseHead& head,
                        std::string& body) override {
    if (head.status < 200 || head.status > 299 || ctx.request->method == "HEAD") return;
    std::string problem;
    std::vector<schema::Violation> violations;
    simdjson::dom::element root;
    if (auto err = parse(body, root); err != simdjson::SUCCESS) {
      problem = fmt::format("not JSON (at byte {}: {})", error_offset(body),
                            simdjson::error_message(err));
    } else if (!schema_.validate(root, nullptr)) {
      schema_.validate(root, &violations);
      problem =
          fmt::format("{} violation{}:", violations.size(), violations.size() == 1 ? "" : "s");
      for (size_t i = 0; i < violations.size() && i < 10; ++i) {
        problem +=
            fmt::format(" {} {} ({});", violations[i].pointer.empty() ? "/" : violations[i].pointer,
                        violations[i].message, violations[i].keyword);
      }
    } else {
      return;
    }
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

class ResponseValidationFactory final : public FilterFactory {
 public:
  explicit ResponseValidationFactory(std::shared_ptr<const schema::Schema> schema)
      : schema_(std::move(schema)) {}
  std::string_view name() const override { return "response_validation"; }
  void watched_files(std::vector<std::string>& out) const override {
    out.insert(out.end(), schema_->files().begin(), schema_->files().end());
  }
  std::unique_ptr<Filter> make(const WorkerServices&, gateway::RequestContext&) const override {
    return std::make_unique<ResponseValidation>(*schema_);
  }
  bool wants_response_body() const override { return true; }

 private:
  std::shared_ptr<const schema::Schema> schema_;
};

}  // namespace

FactoryResult make_request_validation_filter(const config::Config&, const config::Route& route) {
  if (!route.validate.body) return std::unique_ptr<const FilterFactory>();
  auto schema = compile(*route.validate.body, "validate.body");
  if (!schema) return schema.error();
  return std::unique_ptr<const FilterFactory>(std::make_unique<RequestValidationFactory>(*schema));
}

FactoryResult make_response_validation_filter(const config::Config&, const config::Route& route) {
  if (!route.validate.response) return std::unique_ptr<const FilterFactory>();
  auto schema = compile(*route.validate.response, "validate.response");
  if (!schema) return schema.error();
  return std::unique_ptr<const FilterFactory>(std::make_unique<ResponseValidationFactory>(*schema));
}

}  // namespace portico::filters
