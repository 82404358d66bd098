#include "functions/route_handler.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "core/clock.h"
#include "core/strings.h"
#include "functions/api_gateway.h"
#include "functions/request_event.h"
#include "functions/runtime_api.h"
#include "gateway/snapshot.h"

namespace portico::functions {
namespace {

class FunctionHandler final : public gateway::Handler {
 public:
  FunctionHandler(gateway::Downstream& ds, gateway::RequestContext& ctx, FunctionHost& host,
                  net::EventLoop& loop)
      : ds_(ds), ctx_(ctx), host_(host), loop_(loop), arrived_ms_(wall_ms()) {}

  ~FunctionHandler() override {
    if (ticket_) ticket_->cancel();
  }

  void start() override { ds_.want_body(true); }

  void on_request_body(std::string_view data, bool end) override {
    body_.append(data);
    if (end) invoke();
  }

  void on_downstream_abort() override {
    if (ticket_) ticket_->cancel();
  }

 private:
  void invoke() {
    const config::Config& cfg = *ctx_.snapshot->config;
    const config::Route& route = *ctx_.route;
    const config::Function& fn = cfg.functions[static_cast<size_t>(route.function)];
    v1_ = route.payload_format == config::PayloadFormat::kV1;
    std::string event = request_event(ctx_, v1_, body_, arrived_ms_);
    body_.clear();
    body_.shrink_to_fit();
    if (event.size() > kMaxPayloadBytes) {
      ds_.send_error(
          413,
          fmt::format("the function's event would be {} bytes, over Lambda's limit of {} bytes "
                      "(binary bodies grow by a third in base64)",
                      event.size(), kMaxPayloadBytes));
      return;
    }
    ticket_ = host_.invoke(fn.name, std::move(event), loop_,
                           [this](InvocationResult&& r) { on_result(std::move(r)); });
  }

  void on_result(InvocationResult&& r) {
    ticket_.reset();
    const std::string& name =
        ctx_.snapshot->config->functions[static_cast<size_t>(ctx_.route->function)].name;
    switch (r.status) {
      case InvocationResult::Status::kOk:
        break;
      case InvocationResult::Status::kThrottled:
        ctx_.error = r.message;
        ds_.send_error(429,
                       fmt::format("function {} is at its concurrency limit: {}", name, r.message),
                       "Retry-After: 1\r\n");
        return;
      case InvocationResult::Status::kTimeout:
        ctx_.error = r.message;
        ds_.send_error(504, fmt::format("function {} timed out: {}", name, r.message));
        return;
      case InvocationResult::Status::kNotFound:
        ctx_.error = r.message;
        ds_.send_error(503, fmt::format("function {} is not available: {}", name, r.message));
        return;
      case InvocationResult::Status::kFunctionError:
      case InvocationResult::Status::kRuntimeError:
        ctx_.error = fmt::format("{}: {}", r.error_type, r.message);
        ds_.send_error(502, fmt::format("function {} failed: {}{}{}", name, r.error_type,
                                        r.message.empty() ? "" : ": ", r.message));
        return;
    }
    auto mapped = v1_ ? map_http_result_v1(r.payload) : map_http_result_v2(r.payload);
    if (!mapped) {
      ctx_.error = mapped.error().message;
      ds_.send_error(502, fmt::format("function {} answered a response Portico cannot send: {}",
                                      name, mapped.error().message));
      return;
    }
    HttpResult& res = *mapped;
    bool head = ctx_.request->method == "HEAD";
    bool no_body = head || res.status == 204 || res.status == 304 || res.status < 200;
    std::string& h = ds_.begin_response(res.status);
    bool has_date = false;
    for (const auto& [k, v] : res.headers) {
      if (iequals(k, "date")) has_date = true;
      h += k;
      h += ": ";
      h += v;
      h += "\r\n";
    }
    if (no_body) {
      if (head && !res.body.empty()) {
        h += "Content-Length: ";
        append_decimal(h, static_cast<int64_t>(res.body.size()));
        h += "\r\n";
      }
      ds_.end_response_head(gateway::BodyMode::kNone, 0, has_date);
    } else {
      ds_.end_response_head(gateway::BodyMode::kLength, res.body.size(), has_date);
      ds_.send_body(res.body);
    }
    ds_.finish();
  }

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  FunctionHost& host_;
  net::EventLoop& loop_;
  int64_t arrived_ms_;
  std::string body_;
  std::shared_ptr<Ticket> ticket_;
  bool v1_ = false;
};

}  // namespace

std::unique_ptr<gateway::Handler> make_function_handler(gateway::Downstream& ds,
                                                        gateway::RequestContext& ctx,
                                                        FunctionHost& host, net::EventLoop& loop) {
  return std::make_unique<FunctionHandler>(ds, ctx, host, loop);
}

}  // namespace portico::functions
