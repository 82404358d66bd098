#include "aggregate/aggregate_handler.h"

#include <algorithm>
#include <deque>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "aggregate/combine.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/strings.h"
#include "http/headers.h"
#include "http/parser.h"

namespace portico::aggregate {
namespace {

namespace json = boost::json;

constexpr size_t kMaxAnswer = 16u << 20;  // the most of one backend's answer kept

class AggregateHandler;

// The client's headers a call does not pass on: it has no body, and its answer is read
// here as plain JSON.
bool left_out(const http::Header& h) {
  switch (h.id) {
    case http::HeaderId::kContentLength:
    case http::HeaderId::kTransferEncoding:
    case http::HeaderId::kExpect:
      return true;
    default:
      return iequals(h.name, "content-type") || iequals(h.name, "accept-encoding");
  }
}

// One backend call: a request of Portico's own, answered by the terminal of the
// backend's route into this Downstream.
class Call final : public gateway::Downstream {
 public:
  Call(AggregateHandler& owner, size_t index, net::EventLoop& loop);
  ~Call() override { cancel(); }

  void start(const gateway::RequestContext& parent, const CallPlan& plan,
             const json::value* responses, filters::TerminalFactory& terminals);
  // Gives up on the call (timed out, or no longer needed).
  void cancel() {
    timer_.cancel();
    alive_.reset();
    std::unique_ptr<gateway::Handler> terminal = std::move(terminal_);
    if (terminal && !finished_) {
      finished_ = true;  // first: what the terminal does as it stops is not an answer
      terminal->on_downstream_abort();
    }
  }
  void time_out(std::string why) {
    if (finished_) return;
    timed_out_ = std::move(why);
    cancel();
    finished_ = true;
  }

  // What came back.
  bool finished() const { return finished_; }
  int status() const { return status_; }
  const std::string& body() const { return body_; }
  const std::string& response_headers() const { return response_headers_; }
  const std::string& timed_out() const { return timed_out_; }
  const std::string& portico_error() const { return portico_error_; }
  bool cut_short() const { return aborted_; }
  bool too_large() const { return too_large_; }
  int64_t started_ms() const { return started_ms_; }

  // gateway::Downstream (the backend route's terminal writes here)
  void want_body(bool want) override;
  std::string& begin_response(int status, std::string_view) override {
    started_ = true;
    status_ = status;
    response_headers_.clear();
    return response_headers_;
  }
  void end_response_head(gateway::BodyMode, uint64_t, bool) override {}
  bool send_body(std::string_view data) override {
    if (body_.size() + data.size() > kMaxAnswer) {
      too_large_ = true;
    } else {
      body_.append(data);
    }
    return true;
  }
  void finish() override;
  void abort() override {
    aborted_ = true;
    finish();
  }
  bool response_started() const override { return started_; }
  void send_error(int status, std::string_view message, std::string_view extra_headers) override {
    portico_error_ = std::string(message);
    gateway::write_error(*this, status, message, ctx_.request_id, extra_headers);
  }

 private:
  AggregateHandler& owner_;
  size_t index_;
  net::EventLoop& loop_;
  net::Timer timer_;
  // The call's request, owned here (the head's views point into these).
  std::string path_, query_, target_;
  std::deque<std::string> header_text_;
  http::RequestHead head_;
  gateway::RequestContext ctx_;
  std::unique_ptr<gateway::Handler> terminal_;
  std::shared_ptr<bool> alive_;  // for the deferred body delivery
  int64_t started_ms_ = 0;
  // The answer.
  bool started_ = false, finished_ = false, aborted_ = false, too_large_ = false;
  int status_ = 0;
  std::string response_headers_, body_, portico_error_, timed_out_;
};

class AggregateHandler final : public gateway::Handler {
 public:
  AggregateHandler(gateway::Downstream& ds, gateway::RequestContext& ctx, const RoutePlan& plan,
                   filters::TerminalFactory& terminals, net::EventLoop& loop)
      : ds_(ds),
        ctx_(ctx),
        plan_(plan),
        aggregate_(*plan.aggregate),
        terminals_(terminals),
        loop_(loop),
        deadline_(loop, [this] { on_deadline(); }) {}

  void start() override {
    size_t n = plan_.calls.size();
    outcomes_.resize(n);
    for (size_t i = 0; i < n; ++i) calls_.push_back(std::make_unique<Call>(*this, i, loop_));
    if (ctx_.route->total_timeout_ms > 0) deadline_.arm_after_ms(ctx_.route->total_timeout_ms);
    if (aggregate_.sequential) {
      start_call(0);
      return;
    }
    for (size_t i = 0; i < n && !answered_; ++i) start_call(i);
  }

  void on_request_body(std::string_view, bool) override {}  // never asked for

  void on_downstream_abort() override {
    answered_ = true;
    deadline_.cancel();
    for (auto& c : calls_) c->cancel();
  }

  // A call finished (its terminal answered, or it was given up on).
  void on_call_done(size_t i) {
    if (answered_ || outcomes_[i].done) return;
    Outcome& o = outcomes_[i];
    evaluate(*calls_[i], plan_.calls[i], o);
    const config::AggregateBackend& b = *plan_.calls[i].backend;
    if (!o.ok) {
      log::warn("route {}: request {}: backend {} failed{}: {}", ctx_.route->name, ctx_.request_id,
                b.name, b.fail_request ? "" : " (answered without it)", o.error);
      if (b.fail_request) {
        fail_request(i);
        return;
      }
    }
    if (aggregate_.sequential) {
      if (o.ok) {
        responses_.emplace(b.name, o.value);
        responses_.emplace(std::to_string(i), o.value);
      }
      size_t next = i + 1;
      if (next < calls_.size()) {
        if (o.ok) {
          start_call(next);
          return;
        }
        // Later calls may need this answer: they are not made on a guess.
        for (size_t j = next; j < calls_.size(); ++j) {
          outcomes_[j] =
              Outcome{true, false, nullptr, fmt::format("not called: {} failed", b.name)};
        }
      }
    }
    for (const Outcome& other : outcomes_) {
      if (!other.done) return;
    }
    answer();
  }

 private:
  void start_call(size_t i) {
    json::value responses = responses_;  // what this call's templates may read
    calls_[i]->start(ctx_, plan_.calls[i], &responses, terminals_);
  }

  void evaluate(const Call& c, const CallPlan& plan, Outcome& o) {
    o.done = true;
    if (!c.timed_out().empty()) {
      o.error = c.timed_out();
    } else if (c.cut_short()) {
      o.error = fmt::format("its answer was cut short (after {} bytes)", c.body().size());
    } else if (!c.portico_error().empty()) {
      o.error = fmt::format("{} {}", c.status(), c.portico_error());
    } else if (c.status() < 200 || c.status() > 299) {
      o.error = fmt::format("it answered {}", c.status());
    } else if (c.too_large()) {
      o.error = fmt::format("its answer is over {} MiB", kMaxAnswer >> 20);
    } else {
      json::value answer;
      if (!c.body().empty()) {
        boost::system::error_code ec;
        answer = json::parse(c.body(), ec);
        if (ec) {
          o.error = fmt::format("its answer is not JSON ({})", ec.message());
          return;
        }
      }
      o.ok = true;
      o.value = shape(plan, std::move(answer));
    }
  }

  // on_failure: fail. The backend's own error answer is the answer (a 404 for a user
  // that does not exist stays a 404); a call that got no answer is Portico's 502/504.
  void fail_request(size_t i) {
    answered_ = true;
    deadline_.cancel();
    for (size_t j = 0; j < calls_.size(); ++j) {
      if (j != i) calls_[j]->cancel();
    }
    const Call& c = *calls_[i];
    const std::string& name = plan_.calls[i].backend->name;
    ctx_.error = fmt::format("backend {}: {}", name, outcomes_[i].error);
    if (!c.timed_out().empty()) {
      ds_.send_error(504, fmt::format("backend {} failed: {}", name, c.timed_out()));
      return;
    }
    if (c.portico_error().empty() && !c.cut_short() && c.status() >= 400) {
      std::string& h = ds_.begin_response(c.status());
      for (std::string_view lines = c.response_headers(); !lines.empty();) {
        size_t end = lines.find("\r\n");
        std::string_view line = lines.substr(0, end);
        if (line.size() > 13 && iequals(line.substr(0, 13), "content-type:")) {
          h.append(line).append("\r\n");
        }
        if (end == std::string_view::npos) break;
        lines.remove_prefix(end + 2);
      }
      ds_.end_response_head(gateway::BodyMode::kLength, c.body().size());
      ds_.send_body(c.body());
      ds_.finish();
      return;
    }
    int status = c.portico_error().empty() || c.status() < 400 ? 502 : c.status();
    ds_.send_error(status, fmt::format("backend {} failed: {}", name, outcomes_[i].error));
  }

  void answer() {
    answered_ = true;
    deadline_.cancel();
    std::string failed, reasons;
    for (size_t i = 0; i < outcomes_.size(); ++i) {
      if (outcomes_[i].ok) continue;
      const std::string& name = plan_.calls[i].backend->name;
      if (!failed.empty()) {
        failed += ',';
        reasons += "; ";
      }
      failed += name;
      reasons += name + ": " + outcomes_[i].error;
    }
    if (failed.size() > 0 &&
        std::all_of(outcomes_.begin(), outcomes_.end(), [](const Outcome& o) { return !o.ok; })) {
      ctx_.error = "every backend failed: " + reasons;
      ds_.send_error(502, "every backend of the route failed: " + reasons);
      return;
    }
    std::string extra;
    if (!failed.empty()) {
      ctx_.error = "partial answer: " + reasons;
      extra = "X-Portico-Partial: " + failed + "\r\n";
    }
    std::string body = json::serialize(combine(aggregate_, outcomes_));
    body += '\n';
    gateway::write_json(ds_, 200, body, extra);
  }

  // The route's timeouts.total: every call still running is given up on.
  void on_deadline() {
    if (answered_) return;
    std::string why = fmt::format("the route's {} ms ran out", ctx_.route->total_timeout_ms);
    std::vector<size_t> stopped;
    for (size_t i = 0; i < calls_.size(); ++i) {
      if (outcomes_[i].done || calls_[i]->finished()) continue;
      calls_[i]->time_out(why);
      stopped.push_back(i);
    }
    for (size_t i : stopped) on_call_done(i);
    if (answered_) return;
    for (Outcome& o : outcomes_) {  // sequential calls not started yet
      if (!o.done) o = Outcome{true, false, nullptr, "not called: " + why};
    }
    answer();
  }

 public:
  void on_call_timeout(size_t i) {
    Call& c = *calls_[i];
    c.time_out(fmt::format("no answer within {} ms", plan_.calls[i].backend->timeout_ms));
    on_call_done(i);
  }

 private:
  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  const RoutePlan& plan_;
  const config::Aggregate& aggregate_;
  filters::TerminalFactory& terminals_;
  net::EventLoop& loop_;
  net::Timer deadline_;
  std::vector<std::unique_ptr<Call>> calls_;
  std::vector<Outcome> outcomes_;
  json::object responses_;  // sequential: the answers so far, by name and by index
  bool answered_ = false;
};

Call::Call(AggregateHandler& owner, size_t index, net::EventLoop& loop)
    : owner_(owner),
      index_(index),
      loop_(loop),
      timer_(loop, [this] { owner_.on_call_timeout(index_); }) {}

void Call::start(const gateway::RequestContext& parent, const CallPlan& plan,
                 const json::value* responses, filters::TerminalFactory& terminals) {
  const config::AggregateBackend& b = *plan.backend;
  const http::RequestHead& client = *parent.request;
  format::Scope scope;
  scope.request = &parent;
  scope.responses = responses;
  for (const CallPlan::PathPiece& piece : plan.path) {
    if (piece.value) {
      path_ += percent_encode(piece.value->render_text(scope));
    } else {
      path_ += piece.literal;
    }
  }
  for (const auto& [name, value] : plan.query) {
    json::value v = value.render(scope);
    if (v.is_null()) continue;  // a value there is none of: no parameter
    std::string text = v.is_string() ? std::string(v.get_string()) : json::serialize(v);
    if (!query_.empty()) query_ += '&';
    query_ += percent_encode(name) + "=" + percent_encode(text);
  }
  target_ = query_.empty() ? path_ : path_ + "?" + query_;

  // The client's headers, less those a call does not pass and those the backend sets.
  for (const http::Header& h : client.headers) {
    if (left_out(h) || h.id == http::HeaderId::kHost) continue;
    bool dropped = gateway::header_dropped(parent, h.name, true);
    for (const auto& [name, value] : plan.headers) dropped = dropped || iequals(h.name, name);
    if (!dropped) head_.headers.push_back(h);
  }
  for (const auto& [name, value] : plan.headers) {
    std::string text = value.render_text(scope);
    std::erase_if(text, [](char ch) { return !http::is_field_value_char(ch); });
    if (text.empty()) continue;
    const std::string& n = header_text_.emplace_back(name);
    const std::string& v = header_text_.emplace_back(std::move(text));
    head_.headers.push_back(http::Header{n, v, http::classify_header(n)});
  }
  head_.method = b.method;
  head_.target = target_;
  head_.path = path_;
  head_.query = query_;
  head_.host = client.host;
  head_.framing = http::Framing::kNone;
  head_.version_minor = 1;

  ctx_.request = &head_;
  ctx_.path = path_;
  ctx_.client_ip = parent.client_ip;
  ctx_.peer_ip = parent.peer_ip;
  ctx_.request_id = parent.request_id;  // one id across the calls: their logs join the client's
  ctx_.snapshot = parent.snapshot;
  ctx_.route = b.route.get();
  ctx_.principal = parent.principal;
  ctx_.upstream_headers = parent.upstream_headers;
  ctx_.start_ns = monotonic_ns();
  started_ms_ = wall_ms();

  if (b.timeout_ms > 0) timer_.arm_after_ms(b.timeout_ms);
  terminal_ = terminals.make_terminal(*this, ctx_);
  if (terminal_) {
    terminal_->start();
  } else if (!finished_) {
    send_error(500, "no terminal for the backend's route", {});
  }
}

void Call::want_body(bool want) {
  if (!want || alive_) return;
  // No body: delivered as the connection would, from an event of its own.
  alive_ = std::make_shared<bool>(true);
  std::weak_ptr<bool> alive = alive_;
  loop_.defer([this, alive] {
    if (!alive.expired() && terminal_) terminal_->on_request_body("", true);
  });
}

void Call::finish() {
  if (finished_) return;
  finished_ = true;
  timer_.cancel();
  owner_.on_call_done(index_);
}

}  // namespace

std::unique_ptr<gateway::Handler> make_aggregate_handler(gateway::Downstream& ds,
                                                         gateway::RequestContext& ctx,
                                                         const RoutePlan& plan,
                                                         filters::TerminalFactory& terminals,
                                                         net::EventLoop& loop) {
  return std::make_unique<AggregateHandler>(ds, ctx, plan, terminals, loop);
}

}  // namespace portico::aggregate
