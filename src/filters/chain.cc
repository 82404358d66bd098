#include "filters/chain.h"

#include <fmt/format.h>

#include "net/event_loop.h"

namespace portico::filters {

FilterChain::FilterChain(gateway::Downstream& ds, gateway::RequestContext& ctx,
                         const RouteChain& route, const WorkerServices& services,
                         TerminalFactory& terminals)
    : ds_(ds), ctx_(ctx), route_(route), services_(services), terminals_(terminals) {}

FilterChain::~FilterChain() {
  terminal_.reset();  // before the filters: it may refer to what they set up
  for (size_t i = made_; i-- > 0;) filters_[i].reset();
}

void FilterChain::start() { run(); }

void FilterChain::run() {
  running_ = true;
  while (!request_done_) {
    size_t next = made_;
    if (next == route_.factories.size()) {
      running_ = false;
      start_terminal();
      return;
    }
    filters_[made_++] = route_.factories[next]->make(services_, ctx_);
    Verdict verdict = filters_[next]->on_request(*this);
    if (verdict != Verdict::kContinue) break;  // answered, or resumed later
  }
  running_ = false;
}

void FilterChain::resume() {
  // A filter resumes only after it paused, from another event: never inside run().
  if (request_done_ || running_) return;
  run();
}

void FilterChain::before_answer() {
  request_done_ = true;
  for (size_t i = made_; i-- > 0;) filters_[i]->before_answer(ctx_);
}

void FilterChain::refuse(int status, std::string_view message, std::string_view extra_headers) {
  if (request_done_) return;
  before_answer();
  // Through the response side when filters work on it: they see refusals too.
  if (route_.wants_response) {
    send_error(status, message, extra_headers);
  } else {
    ds_.send_error(status, message, extra_headers);
  }
}

void FilterChain::respond_json(int status, std::string body, std::string_view extra_headers) {
  if (request_done_) return;
  before_answer();
  gateway::Downstream& out = route_.wants_response ? static_cast<gateway::Downstream&>(*this) : ds_;
  gateway::write_json(out, status, body, extra_headers);
}

void FilterChain::read_body() {
  if (request_done_ || reading_body_ || body_read_) return;
  reading_body_ = true;
  ds_.want_body(true);  // the connection delivers it to on_request_body, from its own event
}

void FilterChain::start_terminal() {
  before_answer();
  // The terminal writes to the chain when filters work on the response, or when the
  // body was read for a filter (the chain hands it over); else to the connection.
  bool through_chain = route_.wants_response || body_read_;
  gateway::Downstream& toward_client =
      through_chain ? static_cast<gateway::Downstream&>(*this) : ds_;
  terminal_ = terminals_.make_terminal(toward_client, ctx_);
  if (terminal_) terminal_->start();
}

void FilterChain::on_request_body(std::string_view data, bool end) {
  if (!reading_body_) {
    if (terminal_) terminal_->on_request_body(data, end);
    return;
  }
  if (request_body_.capacity() == 0 && ctx_.request->framing == http::Framing::kLength) {
    // The whole body and the padding a JSON parser reads past its end (simdjson's 64
    // bytes) in one allocation, rather than two and a copy. The length is within the
    // route's body limit (checked before the request got here).
    request_body_.reserve(ctx_.request->content_length + 64);
  }
  request_body_.append(data);
  if (!end) return;
  reading_body_ = false;
  body_read_ = true;
  ds_.want_body(false);
  if (request_done_ || made_ == 0) return;
  Verdict verdict = filters_[made_ - 1]->on_request_body(*this, request_body_);
  ctx_.request_body_length = request_body_.size();  // as the filter left it
  if (verdict == Verdict::kContinue) run();
}

void FilterChain::want_body(bool want) {
  if (!body_read_) {
    ds_.want_body(want);
    return;
  }
  if (!want || body_delivered_) return;
  body_delivered_ = true;
  // As the connection does: from an event of its own, not inside the terminal's call.
  // The token is made only here, so a request whose body no filter read allocates none.
  alive_ = std::make_shared<bool>(true);
  std::weak_ptr<bool> alive = alive_;
  services_.loop->defer([this, alive] {
    if (!alive.expired()) deliver_body();
  });
}

void FilterChain::deliver_body() {
  if (terminal_) terminal_->on_request_body(request_body_, true);
}

void FilterChain::on_downstream_writable() {
  if (terminal_) terminal_->on_downstream_writable();
}

void FilterChain::on_downstream_abort() {
  request_done_ = true;
  for (size_t i = 0; i < made_; ++i) filters_[i]->on_abort();
  if (terminal_) terminal_->on_downstream_abort();
}

// --- the response side (only when some filter works on the response) -------------------

std::string& FilterChain::begin_response(int status, std::string_view reason) {
  response_started_ = true;
  head_.status = status;
  head_.reason.assign(reason);
  head_.headers.clear();
  return head_.headers;
}

void FilterChain::end_response_head(gateway::BodyMode mode, uint64_t length, bool has_date) {
  head_.mode = mode;
  head_.length = length;
  head_.has_date = has_date;
  for (size_t i = made_; i-- > 0;) filters_[i]->on_response_head(ctx_, head_);
  if (!route_.wants_response_body) send_head();
}

void FilterChain::send_head() {
  std::string& out = ds_.begin_response(head_.status, head_.reason);
  out.append(head_.headers);
  ds_.end_response_head(head_.mode, head_.length, head_.has_date);
}

bool FilterChain::send_body(std::string_view data) {
  if (!route_.wants_response_body) return ds_.send_body(data);
  if (body_.size() + data.size() > kMaxHeldBody) {
    body_too_large_ = true;  // the rest is dropped: the answer becomes a 502 at finish()
    return true;
  }
  body_.append(data);
  return true;
}

void FilterChain::finish() {
  if (response_done_) return;
  response_done_ = true;
  if (route_.wants_response_body && body_too_large_) {
    // The filters cannot see a body that was not kept: refuse rather than pass it unseen.
    ctx_.error = "response body over the limit for filters that read it";
    head_ = ResponseHead{
        502, {}, "Content-Type: application/json\r\n", gateway::BodyMode::kLength, 0, false};
    body_ = gateway::error_body(
        fmt::format("the response is larger than {} MiB, the most this route's filters read",
                    kMaxHeldBody >> 20),
        ctx_.request_id);
    head_.length = body_.size();
    send_head();
    ds_.send_body(body_);
  } else if (route_.wants_response_body) {
    for (size_t i = made_; i-- > 0;) filters_[i]->on_response_body(ctx_, head_, body_);
    // A body the filters built or changed has a length now, whatever the terminal's framing.
    // (A HEAD response keeps the length of the body it does not carry.)
    if (head_.mode != gateway::BodyMode::kNone && ctx_.request->method != "HEAD") {
      head_.mode = gateway::BodyMode::kLength;
      head_.length = body_.size();
    }
    send_head();
    if (!body_.empty() && head_.mode != gateway::BodyMode::kNone &&
        ctx_.request->method != "HEAD") {
      ds_.send_body(body_);
    }
  }
  ds_.finish();
}

void FilterChain::abort() {
  response_done_ = true;
  ds_.abort();
}

void FilterChain::send_error(int status, std::string_view message, std::string_view extra_headers) {
  if (response_done_) return;
  if (response_started_) {  // too late for another status: cut the response short
    abort();
    return;
  }
  if (ctx_.error.empty()) ctx_.error = std::string(message);
  gateway::write_error(*this, status, message, ctx_.request_id, extra_headers);
}

}  // namespace portico::filters
