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

namespace json = boost::json;

// A streamed response that starts with a JSON prelude (status, headers, cookies), then 8
// NUL bytes, then the body: what aws-lambda-ric's awslambda.HttpResponseStream writes.
constexpr std::string_view kPreludeType = "application/vnd.awslambda.http-integration-response";
constexpr std::string_view kPreludeEnd{"\0\0\0\0\0\0\0\0", 8};
constexpr size_t kMaxPrelude = 64 * 1024;

// The function's headers as header lines; true if they set Date.
bool append_headers(std::string& h, const HttpResult& res) {
  bool has_date = false;
  for (const auto& [k, v] : res.headers) {
    if (iequals(k, "date")) has_date = true;
    h.append(k).append(": ").append(v).append("\r\n");
  }
  return has_date;
}

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
    InvokeOptions options;
    options.stream = [this](StreamPiece&& piece) { on_piece(std::move(piece)); };
    ticket_ = host_.invoke(
        fn.name, std::move(event), loop_, [this](InvocationResult&& r) { on_result(std::move(r)); },
        std::move(options));
  }

  const std::string& function_name() const {
    return ctx_.snapshot->config->functions[static_cast<size_t>(ctx_.route->function)].name;
  }

  // --- a streamed response, passed on as it arrives ---

  void on_piece(StreamPiece&& piece) {
    if (piece.kind == StreamPiece::Kind::kStart) {
      streaming_ = true;
      if (iequals(piece.data, kPreludeType)) {
        awaiting_prelude_ = true;
      } else {
        HttpResult head;
        head.headers.emplace_back("Content-Type", std::move(piece.data));
        begin_stream(head);
      }
      return;
    }
    if (stream_failed_) return;
    if (!awaiting_prelude_) {
      send_stream(piece.data);
      return;
    }
    prelude_.append(piece.data);
    size_t end = prelude_.find(kPreludeEnd);
    if (end == std::string::npos) {
      if (prelude_.size() > kMaxPrelude)
        fail_stream("its response stream's prelude is over 64 KiB");
      return;
    }
    awaiting_prelude_ = false;
    std::string rest = prelude_.substr(end + kPreludeEnd.size());
    prelude_.resize(end);
    // The prelude is a 2.0 result without a body; without a Content-Type the body is
    // bytes, not the JSON API Gateway assumes for a whole result.
    boost::system::error_code ec;
    json::value doc = json::parse(prelude_, ec);
    if (ec || !doc.is_object()) {
      fail_stream("its response stream's prelude is not a JSON object");
      return;
    }
    json::object& o = doc.as_object();
    if (!o.contains("statusCode")) o["statusCode"] = 200;
    json::value* headers = o.if_contains("headers");
    if (headers == nullptr || !headers->is_object()) {
      o["headers"] = json::object();
      headers = o.if_contains("headers");
    }
    bool has_type = false;
    for (const auto& kv : headers->as_object()) has_type |= iequals(kv.key(), "content-type");
    if (!has_type) headers->as_object()["Content-Type"] = "application/octet-stream";
    o.erase("body");
    auto mapped = map_http_result_v2(json::serialize(o));
    if (!mapped) {
      fail_stream(mapped.error().message);
      return;
    }
    begin_stream(*mapped);
    if (!rest.empty()) send_stream(rest);
  }

  void begin_stream(const HttpResult& res) {
    bool has_date = append_headers(ds_.begin_response(res.status), res);
    no_body_ = ctx_.request->method == "HEAD" || res.status == 204 || res.status == 304;
    ds_.end_response_head(no_body_ ? gateway::BodyMode::kNone : gateway::BodyMode::kStream, 0,
                          has_date);
  }

  void send_stream(std::string_view data) {
    if (!no_body_ && !data.empty()) ds_.send_body(data);
  }

  // Before the response started: a 502. (After it, a failure can only cut it short.)
  void fail_stream(std::string_view why) {
    stream_failed_ = true;
    ctx_.error = std::string(why);
    ds_.send_error(502, fmt::format("function {} answered a response Portico cannot send: {}",
                                    function_name(), why));
  }

  void end_stream(InvocationResult&& r) {
    if (stream_failed_) return;
    if (!r.ok()) {
      ctx_.error = fmt::format("{}: {}", r.error_type, r.message);
      if (ds_.response_started()) {
        ds_.abort();  // the client sees a truncated response, not a complete wrong one
      } else {
        ds_.send_error(502, fmt::format("function {} failed: {}{}{}", function_name(), r.error_type,
                                        r.message.empty() ? "" : ": ", r.message));
      }
      return;
    }
    if (awaiting_prelude_) {
      fail_stream("its response stream ended inside the prelude");
      return;
    }
    ds_.finish();
  }

  void on_result(InvocationResult&& r) {
    ticket_.reset();
    if (streaming_) return end_stream(std::move(r));
    const std::string& name = function_name();
    if (auto failed = invocation_failure(r, name)) {
      ctx_.error = std::move(failed->error);
      ds_.send_error(failed->status, failed->message, failed->extra_headers);
      return;
    }
    auto mapped = v1_ ? map_http_result_v1(r.payload) : map_http_result_v2(r.payload);
    if (!mapped) {
      ctx_.error = mapped.error().message;
      ds_.send_error(502, fmt::format("function {} answered a response Portico cannot send: {}",
                                      name, mapped.error().message));
      return;
    }
    send_http_result(ds_, ctx_, *mapped);
  }

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  FunctionHost& host_;
  net::EventLoop& loop_;
  int64_t arrived_ms_;
  std::string body_;
  std::shared_ptr<Ticket> ticket_;
  bool v1_ = false;
  bool streaming_ = false;         // the function streams its response
  bool awaiting_prelude_ = false;  // ... and its prelude has not ended yet
  bool stream_failed_ = false;     // answered 502 already
  bool no_body_ = false;
  std::string prelude_;
};

}  // namespace

std::optional<FunctionFailure> invocation_failure(const InvocationResult& r,
                                                  std::string_view name) {
  switch (r.status) {
    case InvocationResult::Status::kOk:
      return std::nullopt;
    case InvocationResult::Status::kThrottled:
      return FunctionFailure{
          429, fmt::format("function {} is at its concurrency limit: {}", name, r.message),
          r.message, "Retry-After: 1\r\n"};
    case InvocationResult::Status::kTimeout:
      return FunctionFailure{504, fmt::format("function {} timed out: {}", name, r.message),
                             r.message, ""};
    case InvocationResult::Status::kNotFound:
      return FunctionFailure{503, fmt::format("function {} is not available: {}", name, r.message),
                             r.message, ""};
    case InvocationResult::Status::kFunctionError:
    case InvocationResult::Status::kRuntimeError:
      break;
  }
  return FunctionFailure{502,
                         fmt::format("function {} failed: {}{}{}", name, r.error_type,
                                     r.message.empty() ? "" : ": ", r.message),
                         fmt::format("{}: {}", r.error_type, r.message), ""};
}

void send_http_result(gateway::Downstream& ds, const gateway::RequestContext& ctx,
                      const HttpResult& res) {
  bool head = ctx.request->method == "HEAD";
  bool no_body = head || res.status == 204 || res.status == 304 || res.status < 200;
  std::string& h = ds.begin_response(res.status);
  bool has_date = append_headers(h, res);
  if (no_body) {
    if (head && !res.body.empty()) {
      h += "Content-Length: ";
      append_decimal(h, static_cast<int64_t>(res.body.size()));
      h += "\r\n";
    }
    ds.end_response_head(gateway::BodyMode::kNone, 0, has_date);
  } else {
    ds.end_response_head(gateway::BodyMode::kLength, res.body.size(), has_date);
    ds.send_body(res.body);
  }
  ds.finish();
}

std::unique_ptr<gateway::Handler> make_function_handler(gateway::Downstream& ds,
                                                        gateway::RequestContext& ctx,
                                                        FunctionHost& host, net::EventLoop& loop) {
  return std::make_unique<FunctionHandler>(ds, ctx, host, loop);
}

}  // namespace portico::functions
