#include "steps/steps_handler.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "core/clock.h"
#include "core/log.h"
#include "filters/validation_filters.h"
#include "functions/api_gateway.h"
#include "functions/request_event.h"
#include "functions/route_handler.h"
#include "functions/runtime_api.h"
#include "gateway/snapshot.h"

namespace portico::steps {
namespace {

class StepsHandler final : public gateway::Handler {
 public:
  StepsHandler(gateway::Downstream& ds, gateway::RequestContext& ctx,
               const std::vector<std::shared_ptr<const schema::Schema>>& schemas,
               functions::FunctionHost& host, net::EventLoop& loop)
      : ds_(ds),
        ctx_(ctx),
        steps_(ctx.route->steps),
        schemas_(schemas),
        host_(host),
        loop_(loop),
        deadline_(loop, [this] { on_deadline(); }),
        arrived_ms_(wall_ms()) {}

  ~StepsHandler() override {
    if (ticket_) ticket_->cancel();
  }

  void start() override {
    // One budget for every step: the route's total timeout, else its response timeout.
    const config::Route& route = *ctx_.route;
    budget_ms_ =
        route.total_timeout_ms > 0 ? route.total_timeout_ms : route.response_timeout_ms.value_or(0);
    if (budget_ms_ > 0) deadline_.arm_after_ms(budget_ms_);
    ds_.want_body(true);
  }

  void on_request_body(std::string_view data, bool end) override {
    body_.append(data);
    if (end) run();
  }

  void on_downstream_abort() override { stop(); }

 private:
  // From the next step on, until one waits for a function or the steps end.
  void run() {
    while (next_ < steps_.size()) {
      const config::Step& step = steps_[next_];
      if (step.kind == config::Step::Kind::kFunction) {
        invoke(step);
        return;
      }
      if (!validate(step)) return;
      ++next_;
    }
    answer_with_result();
  }

  // "step 2 of 3 (function business)"
  std::string step_label(size_t i) const {
    return fmt::format("step {} of {} ({})", i + 1, steps_.size(), steps_[i].name);
  }

  bool validate(const config::Step& step) {
    const schema::Schema& schema = *schemas_[next_];
    if (!have_result_) return validate_request(schema);
    filters::JsonCheck check = filters::check_json(schema, result_.body);
    if (check.ok()) return true;
    std::string problem = check.summary();
    log::warn("route {}: request {}: {}: the result of {} does not match its schema: {}",
              ctx_.route->name, ctx_.request_id, step_label(next_), step_label(last_function_),
              problem);
    fail(502,
         fmt::format("{} answered outside the route's contract ({} failed)",
                     steps_[last_function_].name, step.name),
         "result outside the step's schema: " + problem);
    return false;
  }

  // A validate step before any function checks the request's body, as `validate: body`
  // does: a client error, answered 400 (or 415) with every violation listed.
  bool validate_request(const schema::Schema& schema) {
    const http::RequestHead& req = *ctx_.request;
    if (body_.empty()) {
      fail(400, "this route expects a JSON request body", "no request body");
      return false;
    }
    const http::Header* type = http::find_header(req.headers, "content-type");
    if (type == nullptr || !filters::is_json_media_type(type->value)) {
      fail(415, "the request body must be JSON (Content-Type: application/json)",
           "request body not JSON");
      return false;
    }
    filters::JsonCheck check = filters::check_json(schema, body_);
    if (check.ok()) return true;
    if (!check.malformed.empty()) {
      fail(400, fmt::format("the request body is not valid JSON ({})", check.malformed),
           "request body not JSON");
      return false;
    }
    std::vector<filters::LocatedViolation> located;
    for (auto& v : check.violations) located.push_back({"body", std::move(v)});
    ctx_.error = fmt::format("{}: {} violation{} of the request body's schema", step_label(next_),
                             located.size(), located.size() == 1 ? "" : "s");
    finished_ = true;
    deadline_.cancel();
    gateway::write_json(
        ds_, 400,
        filters::violations_json("the request body does not match the route's schema",
                                 ctx_.request_id, located),
        {});
    return false;
  }

  void invoke(const config::Step& step) {
    const config::Config& cfg = *ctx_.snapshot->config;
    const config::Function& fn = cfg.functions[static_cast<size_t>(step.function)];
    bool v1 = ctx_.route->payload_format == config::PayloadFormat::kV1;
    std::string event;
    if (!have_result_) {
      event = functions::request_event(ctx_, v1, body_, arrived_ms_);
      if (later_function(next_)) request_context_ = request_context_of(event);
      body_.clear();
      body_.shrink_to_fit();
    } else {
      event = functions::build_result_event(result_, request_context_);
    }
    if (event.size() > functions::kMaxPayloadBytes) {
      // The client's body is too large for the first function; a result, for a later one.
      fail(have_result_ ? 502 : 413,
           fmt::format("the event for {} would be {} bytes, over Lambda's limit of {} bytes",
                       step_label(next_), event.size(), functions::kMaxPayloadBytes),
           "event over the payload limit");
      return;
    }
    ticket_ = host_.invoke(fn.name, std::move(event), loop_,
                           [this](functions::InvocationResult&& r) { on_result(std::move(r)); });
  }

  bool later_function(size_t i) const {
    for (size_t j = i + 1; j < steps_.size(); ++j) {
      if (steps_[j].kind == config::Step::Kind::kFunction) return true;
    }
    return false;
  }

  // The request's requestContext (request id, route key, authorizer), which later
  // functions get beside the result they format.
  static std::string request_context_of(const std::string& event) {
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(event, ec);
    if (ec || !doc.is_object()) return {};
    const boost::json::value* rc = doc.as_object().if_contains("requestContext");
    return rc == nullptr ? std::string() : boost::json::serialize(*rc);
  }

  void on_result(functions::InvocationResult&& r) {
    ticket_.reset();
    if (finished_) return;
    const std::string& name =
        ctx_.snapshot->config->functions[static_cast<size_t>(steps_[next_].function)].name;
    if (auto failed = functions::invocation_failure(r, name)) {
      log::warn("route {}: request {}: {} failed: {}", ctx_.route->name, ctx_.request_id,
                step_label(next_), failed->error);
      fail(failed->status, fmt::format("{} ({})", failed->message, step_label(next_)),
           failed->error, failed->extra_headers);
      return;
    }
    bool v1 = ctx_.route->payload_format == config::PayloadFormat::kV1;
    auto mapped =
        v1 ? functions::map_http_result_v1(r.payload) : functions::map_http_result_v2(r.payload);
    if (!mapped) {
      log::warn("route {}: request {}: {} answered a response Portico cannot use: {}",
                ctx_.route->name, ctx_.request_id, step_label(next_), mapped.error().message);
      fail(502,
           fmt::format("function {} answered a response Portico cannot use: {} ({})", name,
                       mapped.error().message, step_label(next_)),
           mapped.error().message);
      return;
    }
    result_ = std::move(*mapped);
    have_result_ = true;
    last_function_ = next_++;
    if (result_.status >= 400 && next_ < steps_.size()) {
      // The function answered an error of its own: that is the answer; nothing after it
      // has a result to work on.
      log::info("route {}: request {}: {} answered {}; the steps after it did not run",
                ctx_.route->name, ctx_.request_id, step_label(last_function_), result_.status);
      ctx_.error = fmt::format("{} answered {}", step_label(last_function_), result_.status);
      answer_with_result();
      return;
    }
    run();
  }

  void answer_with_result() {
    finished_ = true;
    deadline_.cancel();
    functions::send_http_result(ds_, ctx_, result_);
  }

  void on_deadline() {
    if (finished_) return;
    if (ticket_) ticket_->cancel();
    ticket_.reset();
    std::string running = step_label(next_);
    log::warn("route {}: request {}: the steps ran past the route's {} ms; {} was running",
              ctx_.route->name, ctx_.request_id, budget_ms_, running);
    fail(504,
         fmt::format("the route's steps did not finish within {} ms ({} was running)", budget_ms_,
                     running),
         "steps timed out in " + running);
  }

  // Ends the steps with Portico's error answer.
  void fail(int status, std::string_view message, std::string error,
            std::string_view extra_headers = {}) {
    finished_ = true;
    deadline_.cancel();
    ctx_.error = std::move(error);
    ds_.send_error(status, message, extra_headers);
  }

  void stop() {
    finished_ = true;
    deadline_.cancel();
    if (ticket_) ticket_->cancel();
    ticket_.reset();
  }

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  const std::vector<config::Step>& steps_;
  const std::vector<std::shared_ptr<const schema::Schema>>& schemas_;
  functions::FunctionHost& host_;
  net::EventLoop& loop_;
  net::Timer deadline_;
  int64_t arrived_ms_;
  int64_t budget_ms_ = 0;
  std::string body_;  // the request's, until the first function has it
  size_t next_ = 0;   // the step running, or to run
  bool have_result_ = false;
  functions::HttpResult result_;  // the last function's
  size_t last_function_ = 0;
  std::string request_context_;  // for later functions' events
  std::shared_ptr<functions::Ticket> ticket_;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<gateway::Handler> make_steps_handler(
    gateway::Downstream& ds, gateway::RequestContext& ctx,
    const std::vector<std::shared_ptr<const schema::Schema>>& schemas,
    functions::FunctionHost& host, net::EventLoop& loop) {
  return std::make_unique<StepsHandler>(ds, ctx, schemas, host, loop);
}

}  // namespace portico::steps
