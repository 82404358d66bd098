#include "services/lambda_api.h"

#include <ctime>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "aws/sigv4.h"
#include "core/base64.h"
#include "core/strings.h"
#include "gateway/snapshot.h"
#include "http/request_values.h"
#include "services/aws_response.h"

namespace portico::services {
namespace {

namespace json = boost::json;

constexpr std::string_view kPrefix = "/2015-03-31/functions";
constexpr uint64_t kMaxSyncPayload = 6 * 1024 * 1024;  // 6291456, Lambda's limit
constexpr size_t kLogTailBytes = 4096;

// A FunctionName as Lambda takes it: a name, an ARN, or a partial ARN
// (ACCOUNT:function:NAME), each with an optional :QUALIFIER. Only $LATEST exists here.
bool resolve_name(std::string_view given, std::string_view qualifier, std::string& name) {
  std::string_view s = given;
  if (s.substr(0, 4) == "arn:") {
    size_t pos = s.find(":function:");
    if (pos == std::string_view::npos) return false;
    s = s.substr(pos + 10);
  } else if (size_t pos = s.find(":function:"); pos != std::string_view::npos) {
    s = s.substr(pos + 10);
  }
  std::string_view q = qualifier;
  if (size_t colon = s.find(':'); colon != std::string_view::npos) {
    q = s.substr(colon + 1);
    s = s.substr(0, colon);
  }
  if (!q.empty() && q != "$LATEST") return false;
  name = std::string(s);
  return !name.empty();
}

const config::Function* find_function(const config::Config& cfg, const std::string& name) {
  for (const auto& f : cfg.functions) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string function_arn(const config::Config& cfg, std::string_view name) {
  return functions::function_arn(cfg.services.region, cfg.services.account_id, name);
}

// FunctionConfiguration, as GetFunction and ListFunctions answer it.
json::object configuration(const config::Config& cfg, const config::Function& f) {
  json::object env;
  for (const auto& [k, v] : f.environment) env[k] = v;
  static const std::string loaded = [] {
    std::time_t t = std::time(nullptr);
    std::tm tm;
    gmtime_r(&t, &tm);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S.000+0000", &tm);
    return std::string(buf);
  }();
  std::string runtime = f.runtime_text;
  json::object o{
      {"FunctionName", f.name},
      {"FunctionArn", function_arn(cfg, f.name)},
      {"Runtime", runtime},
      {"Role", fmt::format("arn:aws:iam::{}:role/portico-{}", cfg.services.account_id, f.name)},
      {"Handler", f.handler},
      {"CodeSize", 0},
      {"Description", ""},
      {"Timeout", (f.timeout_ms + 999) / 1000},
      {"MemorySize", f.memory_bytes >> 20},
      {"LastModified", loaded},
      {"CodeSha256", base64_encode(aws::hmac_sha256("portico", f.signature()))},
      {"Version", "$LATEST"},
      {"TracingConfig", {{"Mode", "PassThrough"}}},
      {"State", "Active"},
      {"LastUpdateStatus", "Successful"},
      {"PackageType", "Zip"},
      {"Architectures", json::array{"x86_64"}},
      {"EphemeralStorage", {{"Size", 512}}}};
  if (!env.empty()) o["Environment"] = {{"Variables", env}};
  return o;
}

const http::Header* header(const gateway::RequestContext& ctx, std::string_view name) {
  return http::find_header(ctx.request->headers, name);
}

// One invocation through the Invoke API; alive while the function runs.
class InvokeHandler final : public gateway::Handler {
 public:
  InvokeHandler(gateway::Downstream& ds, gateway::RequestContext& ctx, bool tail)
      : ds_(ds), ctx_(ctx), tail_(tail) {}
  ~InvokeHandler() override {
    if (ticket_) ticket_->cancel();
  }
  void start() override {}
  void on_request_body(std::string_view, bool) override {}
  void on_downstream_abort() override {
    if (ticket_) ticket_->cancel();
  }

  void run(functions::FunctionHost& host, const std::string& name, std::string payload,
           net::EventLoop& loop, functions::InvokeOptions options) {
    ticket_ = host.invoke(
        name, std::move(payload), loop,
        [this](functions::InvocationResult&& r) { answer(std::move(r)); }, std::move(options));
  }

 private:
  void answer(functions::InvocationResult&& r) {
    ticket_.reset();
    using S = functions::InvocationResult::Status;
    std::string_view id = ctx_.request_id;
    switch (r.status) {
      case S::kNotFound:
        send_error(ds_, 404, id, "ResourceNotFoundException", r.message);
        return;
      case S::kThrottled:
        send_error(ds_, 429, id, "TooManyRequestsException", "Rate Exceeded.",
                   "ReservedFunctionConcurrentInvocationLimitExceeded");
        return;
      default:
        break;
    }
    std::string headers = "X-Amz-Executed-Version: $LATEST\r\n";
    if (!r.ok()) headers += "X-Amz-Function-Error: Unhandled\r\n";
    if (tail_) {
      std::string_view log = r.log;
      if (log.size() > kLogTailBytes) log = log.substr(log.size() - kLogTailBytes);
      headers += "X-Amz-Log-Result: " + base64_encode(log) + "\r\n";
    }
    send_json(ds_, 200, id, r.payload, headers);
  }

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  bool tail_;
  std::shared_ptr<functions::Ticket> ticket_;
};

// An Event invocation: answered 202 once the event is stored; alive until then.
class AcceptHandler final : public gateway::Handler {
 public:
  AcceptHandler(gateway::Downstream& ds) : ds_(ds), alive_(std::make_shared<bool>(true)) {}
  ~AcceptHandler() override { *alive_ = false; }
  void start() override {}
  void on_request_body(std::string_view, bool) override {}
  void on_downstream_abort() override {}

  void run(async::AsyncInvoker& async, const std::string& name, std::string payload,
           net::EventLoop& loop, std::string request_id) {
    async.accept(name, std::move(payload), loop,
                 [this, alive = alive_, request_id = std::move(request_id)](Result<std::string> r) {
                   if (!*alive) return;  // the client went away; the event is stored all the same
                   if (!r) {
                     send_error(ds_, 500, request_id, "ServiceException",
                                "the event could not be stored: " + r.error().message);
                   } else {
                     // The request id is the event's: the one its function sees.
                     send_json(ds_, 202, *r, {}, "X-Amz-Executed-Version: $LATEST\r\n");
                   }
                 });
  }

 private:
  gateway::Downstream& ds_;
  std::shared_ptr<bool> alive_;
};

std::unique_ptr<gateway::Handler> invoke(gateway::Downstream& ds, gateway::RequestContext& ctx,
                                         std::string body, const LambdaBackend& backend,
                                         net::EventLoop& loop, const config::Function& f) {
  std::string_view id = ctx.request_id;
  const http::Header* type = header(ctx, "x-amz-invocation-type");
  std::string_view invocation_type = type != nullptr ? type->value : "RequestResponse";
  if (invocation_type != "RequestResponse" && invocation_type != "Event" &&
      invocation_type != "DryRun") {
    send_error(
        ds, 400, id, "InvalidParameterValueException",
        fmt::format(
            "1 validation error detected: Value '{}' at 'invocationType' failed to satisfy "
            "constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]",
            invocation_type));
    return nullptr;
  }
  if (invocation_type == "Event" && body.size() > async::kMaxEventPayload) {
    send_error(ds, 413, id, "RequestTooLargeException",
               fmt::format("Request must be smaller than {} bytes for the InvokeFunction operation",
                           async::kMaxEventPayload));
    return nullptr;
  }
  if (body.size() > kMaxSyncPayload) {
    send_error(ds, 413, id, "RequestTooLargeException",
               fmt::format("Request must be smaller than {} bytes for the InvokeFunction operation",
                           kMaxSyncPayload));
    return nullptr;
  }
  if (body.empty()) body = "{}";
  boost::system::error_code ec;
  json::parse(body, ec);
  if (ec) {
    send_error(ds, 400, id, "InvalidRequestContentException",
               fmt::format("Could not parse request body into json: {}", ec.message()));
    return nullptr;
  }
  functions::InvokeOptions options;
  if (const http::Header* cc = header(ctx, "x-amz-client-context"); cc != nullptr) {
    auto decoded = base64_decode(trim(cc->value));
    json::value doc;
    if (decoded) doc = json::parse(*decoded, ec);
    if (!decoded || ec || !doc.is_object()) {
      send_error(ds, 400, id, "InvalidRequestContentException",
                 "Client context must be a valid Base64-encoded JSON object.");
      return nullptr;
    }
    options.client_context = std::move(*decoded);
  }
  if (invocation_type == "DryRun") {
    send_json(ds, 204, id, {}, "X-Amz-Executed-Version: $LATEST\r\n");
    return nullptr;
  }
  if (invocation_type == "Event") {
    if (backend.async == nullptr) {
      send_error(ds, 400, id, "InvalidParameterValueException",
                 "InvocationType Event is not offered on this listener");
      return nullptr;
    }
    auto handler = std::make_unique<AcceptHandler>(ds);
    handler->run(*backend.async, f.name, std::move(body), loop, std::string(id));
    return handler;
  }
  const http::Header* log_type = header(ctx, "x-amz-log-type");
  options.tail_log = log_type != nullptr && log_type->value == "Tail";
  auto handler = std::make_unique<InvokeHandler>(ds, ctx, options.tail_log);
  handler->run(backend.host, f.name, std::move(body), loop, std::move(options));
  return handler;
}

class BodyReader final : public gateway::Handler {
 public:
  BodyReader(gateway::Downstream& ds, WithBody then) : ds_(ds), then_(std::move(then)) {}
  void start() override { ds_.want_body(true); }
  void on_request_body(std::string_view data, bool end) override {
    body_.append(data);
    if (end) inner_ = then_(std::move(body_));
  }
  void on_downstream_abort() override {
    if (inner_) inner_->on_downstream_abort();
  }

 private:
  gateway::Downstream& ds_;
  WithBody then_;
  std::string body_;
  std::unique_ptr<gateway::Handler> inner_;
};

}  // namespace

std::unique_ptr<gateway::Handler> read_body_then(gateway::Downstream& ds, WithBody then) {
  return std::make_unique<BodyReader>(ds, std::move(then));
}

std::unique_ptr<gateway::Handler> lambda_request(gateway::Downstream& ds,
                                                 gateway::RequestContext& ctx, std::string body,
                                                 const LambdaBackend& backend,
                                                 net::EventLoop& loop) {
  const config::Config& cfg = *ctx.snapshot->config;
  std::string_view id = ctx.request_id;
  std::string_view path = ctx.request->path;
  std::string_view method = ctx.request->method;
  if (path.substr(0, kPrefix.size()) != kPrefix) {
    send_error(ds, 404, id, "UnknownOperationException", "Unknown operation");
    return nullptr;
  }
  std::string_view rest = path.substr(kPrefix.size());
  if (rest.empty() || rest == "/") {
    if (method != "GET") {
      send_error(ds, 404, id, "UnknownOperationException", "Unknown operation");
      return nullptr;
    }
    json::array list;
    for (const auto& f : cfg.functions) list.emplace_back(configuration(cfg, f));
    send_json(ds, 200, id, json::serialize(json::object{{"Functions", list}}));
    return nullptr;
  }
  rest.remove_prefix(1);
  size_t slash = rest.find('/');
  std::string given = percent_decode(rest.substr(0, slash));
  std::string_view action =
      slash == std::string_view::npos ? std::string_view() : rest.substr(slash + 1);
  std::string qualifier;
  if (auto q = http::find_query_param(ctx.request->query, "Qualifier"))
    qualifier = percent_decode(*q);
  std::string name;
  const config::Function* f =
      resolve_name(given, qualifier, name) ? find_function(cfg, name) : nullptr;
  if (f == nullptr) {
    send_error(ds, 404, id, "ResourceNotFoundException",
               fmt::format("Function not found: {}",
                           given.substr(0, 4) == "arn:" ? given : function_arn(cfg, given)));
    return nullptr;
  }
  if (action == "invocations" && method == "POST")
    return invoke(ds, ctx, std::move(body), backend, loop, *f);
  if (method == "GET" && action.empty()) {
    json::object o{{"Configuration", configuration(cfg, *f)},
                   {"Code", {{"RepositoryType", "S3"}, {"Location", ""}}},
                   {"Concurrency", {{"ReservedConcurrentExecutions", f->max_concurrency}}}};
    send_json(ds, 200, id, json::serialize(o));
    return nullptr;
  }
  if (method == "GET" && action == "configuration") {
    send_json(ds, 200, id, json::serialize(configuration(cfg, *f)));
    return nullptr;
  }
  send_error(ds, 404, id, "UnknownOperationException", "Unknown operation");
  return nullptr;
}

}  // namespace portico::services
