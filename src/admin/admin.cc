#include "admin/admin.h"

#include <algorithm>

#include <fmt/format.h>

#include "config/json.h"
#include "core/strings.h"
#include "http/request_values.h"
#include "net/socket.h"
#include "services/lambda_api.h"

namespace portico::admin {
namespace {

class TextHandler final : public gateway::Handler {
 public:
  TextHandler(gateway::Downstream& ds, int status, std::string_view content_type, std::string body)
      : ds_(ds), status_(status), content_type_(content_type), body_(std::move(body)) {}
  void start() override {
    std::string& h = ds_.begin_response(status_);
    h.append("Content-Type: ");
    h.append(content_type_);
    h.append("\r\nCache-Control: no-store\r\n");
    ds_.end_response_head(gateway::BodyMode::kLength, body_.size());
    ds_.send_body(body_);
    ds_.finish();
  }
  void on_request_body(std::string_view, bool) override {}
  void on_downstream_abort() override {}

 private:
  gateway::Downstream& ds_;
  int status_;
  std::string_view content_type_;
  std::string body_;
};

constexpr std::string_view kJson = "application/json";

// An answer that comes later (from another thread): sent unless the client went away.
class LaterHandler final : public gateway::Handler {
 public:
  explicit LaterHandler(gateway::Downstream& ds) : ds_(ds), alive_(std::make_shared<bool>(true)) {}
  ~LaterHandler() override { *alive_ = false; }
  void start() override {}
  void on_request_body(std::string_view, bool) override {}
  void on_downstream_abort() override {}
  // A callback that sends (status, JSON body) if this handler still exists.
  std::function<void(int, std::string)> answer() {
    return [this, alive = alive_](int status, std::string body) {
      if (!*alive) return;
      TextHandler(ds_, status, kJson, std::move(body)).start();
    };
  }

 private:
  gateway::Downstream& ds_;
  std::shared_ptr<bool> alive_;
};

std::string error_json(std::string_view message) {
  return "{\"error\":" + json_quote(message) + "}\n";
}

}  // namespace

std::unique_ptr<gateway::Handler> AdminServer::function_logs(gateway::Downstream& ds,
                                                             gateway::RequestContext& ctx) {
  if (ctx.request->method != "GET" && ctx.request->method != "HEAD") {
    ds.send_error(405, fmt::format("use GET for {}", ctx.path), "Allow: GET\r\n");
    return nullptr;
  }
  logs::LogStore* store = backend_.log_store();
  if (store == nullptr) {
    ds.send_error(404, "function logs are not kept");
    return nullptr;
  }
  logs::LogQuery q;
  std::string function = percent_decode(ctx.path.substr(6));
  q.group = logs::function_log_group(function);
  std::string_view query = ctx.request->query;
  for (auto [key, field] : {std::pair{"start", &q.start_ms}, std::pair{"after", &q.after_seq}}) {
    if (auto v = http::find_query_param(query, key)) {
      auto n = parse_u64(*v);
      if (!n) {
        ds.send_error(400, fmt::format("{} must be a non-negative integer", key));
        return nullptr;
      }
      *field = static_cast<int64_t>(*n);
    }
  }
  if (auto v = http::find_query_param(query, "limit")) {
    auto n = parse_u64(*v);
    if (!n || *n == 0) {
      ds.send_error(400, "limit must be a positive integer");
      return nullptr;
    }
    q.limit = static_cast<size_t>(std::min<uint64_t>(*n, 10'000));
  }
  auto events = store->query(q);
  if (!events) return std::make_unique<TextHandler>(ds, 500, kJson, error_json(events.error().message));
  const auto& functions = backend_.current_snapshot()->config->functions;
  if (events->empty() &&
      std::none_of(functions.begin(), functions.end(), [&](const auto& f) { return f.name == function; })) {
    // A removed function's lines are still there; a name never configured is a typo.
    logs::LogQuery any;
    any.group = q.group;
    any.limit = 1;
    auto kept = store->query(any);
    if (!kept || kept->empty()) {
      ds.send_error(404, fmt::format("no function {} (and no logs of one)", function));
      return nullptr;
    }
  }
  std::string body = "{\"events\":[";
  for (size_t i = 0; i < events->size(); ++i) {
    const auto& e = (*events)[i];
    body += fmt::format("{}{{\"seq\":{},\"timestamp\":{},\"stream\":{},\"requestId\":{},\"message\":{}}}",
                        i == 0 ? "" : ",", e.seq, e.timestamp_ms, json_quote(e.stream), json_quote(e.request_id),
                        json_quote(e.message));
  }
  body += "]}\n";
  return std::make_unique<TextHandler>(ds, 200, kJson, std::move(body));
}

std::unique_ptr<gateway::Handler> AdminServer::dead_letters(gateway::Downstream& ds,
                                                            gateway::RequestContext& ctx) {
  std::string_view path = ctx.path;
  std::string_view method = ctx.request->method;
  async::AsyncInvoker* invoker = backend_.async_invoker();
  async::DeadLetterFilter filter;
  size_t limit = 100;
  std::string_view query = ctx.request->query;
  if (auto v = http::find_query_param(query, "function")) filter.function = percent_decode(*v);
  if (auto v = http::find_query_param(query, "id")) filter.id = percent_decode(*v);
  if (auto v = http::find_query_param(query, "limit")) {
    auto n = parse_u64(*v);
    if (!n || *n == 0) {
      ds.send_error(400, "limit must be a positive integer");
      return nullptr;
    }
    limit = static_cast<size_t>(std::min<uint64_t>(*n, 100'000));
  }
  bool replay = path == "/dead-letters/replay";
  if (replay ? method != "POST" : method != "GET" && method != "DELETE") {
    const char* allow = replay ? "POST" : "GET, DELETE";
    ds.send_error(405, fmt::format("use {} for {}", allow, path), fmt::format("Allow: {}\r\n", allow));
    return nullptr;
  }
  if (invoker == nullptr) {
    ds.send_error(404, "asynchronous invocation is not running");
    return nullptr;
  }
  auto handler = std::make_unique<LaterHandler>(ds);
  auto answer = handler->answer();
  if (replay) {
    invoker->replay(filter, loop_, [answer](Result<std::vector<async::Replayed>> r) {
      if (!r) return answer(500, error_json(r.error().message));
      std::string body = "{\"Replayed\":[";
      for (size_t i = 0; i < r->size(); ++i) {
        const auto& e = (*r)[i];
        body += fmt::format("{}{{\"function\":{},\"previousRequestId\":{},\"requestId\":{}}}",
                            i == 0 ? "" : ",", json_quote(e.function), json_quote(e.old_id),
                            json_quote(e.new_id));
      }
      answer(200, body + "]}\n");
    });
  } else if (method == "DELETE") {
    invoker->purge(filter, loop_, [answer](Result<size_t> r) {
      if (!r) return answer(500, error_json(r.error().message));
      answer(200, fmt::format("{{\"Purged\":{}}}\n", *r));
    });
  } else {
    invoker->dead_letters(filter, limit, loop_,
                          [answer, invoker](Result<std::vector<async::DeadLetter>> r) {
                            if (!r) return answer(500, error_json(r.error().message));
                            std::string body = "{\"DeadLetters\":[";
                            for (size_t i = 0; i < r->size(); ++i) {
                              if (i > 0) body += ',';
                              body += async::destination_record((*r)[i], invoker->region(),
                                                                invoker->account_id());
                            }
                            answer(200, body + "]}\n");
                          });
  }
  return handler;
}

AdminServer::AdminServer(net::EventLoop& loop, Backend& backend, int listen_fd)
    : LoopServer(loop, listen_fd), backend_(backend) {}

std::unique_ptr<gateway::Handler> AdminServer::dispatch(gateway::Downstream& ds, gateway::RequestContext& ctx) {
  std::string_view path = ctx.path;
  std::string_view method = ctx.request->method;
  bool get = method == "GET" || method == "HEAD";
  auto wrong_method = [&](const char* allow) {
    ds.send_error(405, fmt::format("use {} for {}", allow, path), fmt::format("Allow: {}\r\n", allow));
    return nullptr;
  };

  if (path == "/healthz") {
    if (!get) return wrong_method("GET");
    if (backend_.draining()) {
      return std::make_unique<TextHandler>(ds, 503, kJson, "{\"status\":\"draining\"}\n");
    }
    return std::make_unique<TextHandler>(ds, 200, kJson,
        fmt::format("{{\"status\":\"ok\",\"generation\":{}}}\n", backend_.current_snapshot()->generation));
  }
  if (path == "/metrics") {
    if (!get) return wrong_method("GET");
    std::string body;
    backend_.stats().render_prometheus(body);
    return std::make_unique<TextHandler>(ds, 200, "text/plain; version=0.0.4; charset=utf-8", std::move(body));
  }
  if (path == "/config") {
    if (!get) return wrong_method("GET");
    return std::make_unique<TextHandler>(ds, 200, kJson, config::to_json(*backend_.current_snapshot()->config) + "\n");
  }
  if (path == "/upstreams") {
    if (!get) return wrong_method("GET");
    return std::make_unique<TextHandler>(ds, 200, kJson, backend_.upstreams_json() + "\n");
  }
  if (path == "/reload") {
    if (method != "POST") return wrong_method("POST");
    ReloadResult r = backend_.reload("admin API");
    if (r.ok) {
      return std::make_unique<TextHandler>(ds, 200, kJson,
          fmt::format("{{\"status\":\"ok\",\"generation\":{}}}\n", r.generation));
    }
    std::string body = "{\"status\":\"failed\",\"generation\":" + std::to_string(r.generation) + ",\"errors\":[";
    bool first = true;
    for (auto line : split(r.errors, '\n')) {
      if (line.empty()) continue;
      if (!first) body += ',';
      first = false;
      body += json_quote(line);
    }
    body += "]}\n";
    return std::make_unique<TextHandler>(ds, 422, kJson, std::move(body));
  }
  if (path.substr(0, 21) == "/2015-03-31/functions" && backend_.functions() != nullptr) {
    functions::FunctionHost& host = *backend_.functions();
    return services::read_body_then(ds, [this, &ds, &ctx, &host](std::string body) {
      return services::lambda_request(ds, ctx, std::move(body), {host, backend_.async_invoker()},
                                      loop_);
    });
  }
  if (path == "/dead-letters" || path == "/dead-letters/replay") return dead_letters(ds, ctx);
  if (path.substr(0, 6) == "/logs/" && path.size() > 6) return function_logs(ds, ctx);
  ds.send_error(404, fmt::format("no admin endpoint {} (try /healthz, /metrics, /config, /upstreams, POST /reload, /dead-letters, /logs/FUNCTION)", path));
  return nullptr;
}

}  // namespace portico::admin
