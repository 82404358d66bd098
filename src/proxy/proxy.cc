// The life of a proxied request:
//
//   start: choose the target upstream (split), take a circuit-breaker slot (max_requests)
//   try:   pick an endpoint -> a pooled or new connection (or wait for a slot) -> send
//          the head and stream the body -> read the response head
//   then:  a retryable failure ends the try and, if the policy, the budget and a
//          replayable body allow, starts another after a back-off; otherwise the
//          response streams back to the client (or the failure becomes a 502/503/504).
//
// Every try's outcome feeds the endpoint's passive health; a copy may go to the route's
// mirror once the body is known. Error messages go to the client: they name the
// upstream, never an endpoint address (the access log has that, as "upstream").
#include "proxy/proxy.h"

#include <sys/epoll.h>

#include <cstring>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/random.h"
#include "core/strings.h"
#include "gateway/snapshot.h"
#include "http/body_reader.h"
#include "http/parser.h"
#include "proxy/mirror.h"
#include "proxy/retry.h"
#include "proxy/split.h"

namespace portico::proxy {
namespace {

constexpr size_t kHighWater = 64 * 1024;  // unsent request bytes that pause the client body
constexpr size_t kMaxBodyBuffer = 64 * 1024;
constexpr http::ParseLimits kResponseLimits{8 * 1024, 64 * 1024, 200};
constexpr size_t kMaxTries = 10;  // the loader caps retries.attempts at 10

bool named_in_connection(const http::HeaderList& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.id == http::HeaderId::kConnection && http::list_contains(h.value, name)) return true;
  }
  return false;
}

class ProxyHandler final : public gateway::Handler,
                           public upstream::ConnectionUser,
                           public upstream::ConnectionWaiter {
 public:
  ProxyHandler(gateway::Downstream& ds, gateway::RequestContext& ctx, ProxyEnv& env)
      : ds_(ds),
        ctx_(ctx),
        env_(env),
        target_(choose_target(*ctx.route, ctx)),
        up_(ctx.snapshot->config->upstreams[static_cast<size_t>(target_.upstream)]),
        wu_(env.upstream(target_.upstream)),
        stats_(*wu_.stats()),
        policy_(ctx.route->retries ? *ctx.route->retries : up_.retries),
        timer_(wu_.loop(), [this] { on_timeout(); }),
        total_timer_(wu_.loop(), [this] { on_total_timeout(); }) {}

  ~ProxyHandler() override {
    drop_connection(false);
    if (phase_ == Phase::kWaitingSlot) wu_.cancel_wait(this);
    end_try();
    if (holds_request_slot_) stats_.requests.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() override {
    is_head_ = ctx_.request->method == "HEAD";
    // Circuit breaker: requests in flight to this upstream, all workers together.
    int64_t active = stats_.requests.fetch_add(1, std::memory_order_relaxed);
    holds_request_slot_ = true;
    if (up_.breaker.max_requests != 0 && active >= static_cast<int64_t>(up_.breaker.max_requests)) {
      wu_.counters().overflow[gateway::UpstreamStats::kRequests].add();
      fail(503, fmt::format("upstream \"{}\" is at its limit of {} requests in flight (circuit_breaker.max_requests)",
                            up_.name, up_.breaker.max_requests));
      return;
    }
    if (up_.balance == config::Balance::kRingHash) hash_ = request_hash(up_.hash_key, ctx_);
    plan_body_buffering();
    if (ctx_.route->total_timeout_ms > 0) total_timer_.arm_after_ms(ctx_.route->total_timeout_ms);
    if (mirror_wanted_ && ctx_.request->framing == http::Framing::kNone) launch_mirror();
    begin_try();
  }

  void on_request_body(std::string_view data, bool end) override {
    if (buffering_) {
      if (body_copy_.size() + data.size() <= body_copy_limit_) {
        body_copy_.append(data);
      } else {
        // Too large to keep: no replay for a retry, no mirror copy.
        buffering_ = false;
        body_overflow_ = true;
        std::string().swap(body_copy_);
        if (mirror_wanted_) skip_mirror();
      }
    }
    if (end) {
      body_end_seen_ = true;
      if (mirror_wanted_) launch_mirror();
    }
    if (phase_ == Phase::kExchanging && conn_ != nullptr) send_body_piece(data, end);
  }

  void on_downstream_writable() override {
    if (!downstream_paused_ || phase_ != Phase::kExchanging) return;
    downstream_paused_ = false;
    timer_.arm_after_ms(response_timeout_ms());
    pump_response();
  }

  void on_downstream_abort() override {
    phase_ = Phase::kDone;
    timer_.cancel();
    total_timer_.cancel();
    drop_connection(false);
  }

  void on_connection_slot() override {
    if (phase_ == Phase::kWaitingSlot) acquire_connection(true);
  }

  void on_upstream_io(uint32_t events) override {
    if (phase_ == Phase::kConnecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = net::connect_result(conn_->fd());
      if (err != 0) {
        pool_->counters().connect_failures.add();
        try_failed(TryFailure::kConnect, fmt::format("cannot connect to upstream \"{}\": {}", up_.name, strerror(err)));
        return;
      }
      pool_->mark_request(conn_);
      send_request_head();
      return;
    }
    if (phase_ != Phase::kExchanging) return;
    if ((events & EPOLLOUT) && conn_->pending() > 0) {
      if (!conn_->flush()) {
        on_upstream_lost("upstream connection lost while sending the request");
        return;
      }
      if (conn_->pending() == 0) {
        if (request_body_done_) {
          on_request_sent();
        } else if (body_paused_) {
          body_paused_ = false;
          ds_.want_body(true);
        }
      }
    }
    if (conn_ != nullptr && conn_->maybe_readable()) pump_response();
  }

 private:
  enum class Phase : uint8_t { kIdle, kWaitingSlot, kConnecting, kExchanging, kBackoff, kDone };

  int64_t response_timeout_ms() const {
    return ctx_.route->response_timeout_ms ? *ctx_.route->response_timeout_ms : up_.timeouts.response_ms;
  }
  int64_t head_timeout_ms() const {
    return policy_.per_try_timeout_ms ? policy_.per_try_timeout_ms : response_timeout_ms();
  }

  // Bodies that may have to be sent again (a retry) or copied (a mirror) are kept while
  // they stream, up to a limit.
  void plan_body_buffering() {
    const config::Mirror& m = ctx_.route->mirror;
    mirror_wanted_ = m.upstream >= 0 && (m.percent >= 100 || random_u64() % 100 < m.percent);
    const http::RequestHead& req = *ctx_.request;
    if (req.framing == http::Framing::kNone) return;
    uint64_t limit = policy_.attempts > 1 ? policy_.body_buffer : 0;
    if (mirror_wanted_) {
      if (req.framing == http::Framing::kLength && req.content_length > m.max_body) skip_mirror();
      else limit = std::max(limit, m.max_body);
    }
    if (req.framing == http::Framing::kLength && req.content_length > limit) {
      body_overflow_ = true;
      return;
    }
    buffering_ = limit > 0;
    body_copy_limit_ = limit;
  }

  // The body can be sent again from the start: none, nothing read yet, or all kept.
  bool can_replay() const {
    return ctx_.request->framing == http::Framing::kNone || (!body_overflow_ && buffering_) ||
           (ctx_.body_bytes_in == 0 && !body_end_seen_);
  }

  void skip_mirror() {
    mirror_wanted_ = false;
    env_.upstream(ctx_.route->mirror.upstream).counters().mirror_skipped.add();
  }

  void launch_mirror() {
    mirror_wanted_ = false;
    const config::Mirror& m = ctx_.route->mirror;
    if (body_copy_.size() > m.max_body || (ctx_.request->framing != http::Framing::kNone && !buffering_)) {
      env_.upstream(m.upstream).counters().mirror_skipped.add();
      return;
    }
    env_.mirrors().launch(env_.upstream(m.upstream), ctx_.snapshot->config->upstreams[static_cast<size_t>(m.upstream)],
                          ctx_, body_copy_, env_.outlier_sink());
  }

  // ---- tries ----

  void begin_try() {
    head_received_ = request_sent_ = request_body_done_ = body_paused_ = false;
    stale_retried_ = false;
    pool_ = wu_.pick(up_.balance, hash_ ? &*hash_ : nullptr, std::span<upstream::EndpointPool* const>(tried_, tried_count_));
    if (pool_ == nullptr) {
      wu_.counters().unavailable.add();
      const upstream::EndpointSet& set = wu_.set();
      fail(503, fmt::format("no usable endpoint for upstream \"{}\": {}", up_.name, set.why_empty));
      return;
    }
    if (tried_count_ < kMaxTries) tried_[tried_count_++] = pool_;
    ++tries_;
    pool_->begin_request();
    if (tries_ > 1) {
      stats_.retries_active.fetch_add(1, std::memory_order_relaxed);
      counts_as_retry_ = true;
      wu_.counters().retries.add();
    }
    ctx_.upstream_address = pool_->address_text();
    acquire_connection(true);
  }

  void acquire_connection(bool allow_pooled) {
    std::string err;
    conn_ = nullptr;
    switch (wu_.acquire(pool_, this, this, up_.breaker, allow_pooled, conn_, err)) {
      case upstream::WorkerUpstream::Acquire::kPooled:
        pool_->mark_request(conn_);
        send_request_head();
        return;
      case upstream::WorkerUpstream::Acquire::kConnecting:
        phase_ = Phase::kConnecting;
        timer_.arm_after_ms(up_.timeouts.connect_ms);
        return;
      case upstream::WorkerUpstream::Acquire::kWait:
        if (phase_ != Phase::kWaitingSlot) {
          phase_ = Phase::kWaitingSlot;
          timer_.arm_after_ms(up_.timeouts.connect_ms);  // the wait counts as connecting
        }
        return;
      case upstream::WorkerUpstream::Acquire::kOverflow:
        fail(503, fmt::format("upstream \"{}\" has {} requests waiting for a connection (circuit_breaker.max_pending)",
                              up_.name, up_.breaker.max_pending));
        return;
      case upstream::WorkerUpstream::Acquire::kFailed:
        try_failed(TryFailure::kConnect, fmt::format("cannot connect to upstream \"{}\": {}", up_.name, err));
        return;
    }
  }

  void send_request_head() {
    phase_ = Phase::kExchanging;
    timer_.cancel();
    build_upstream_request_head(ctx_, conn_->out());
    if (ctx_.request->framing == http::Framing::kNone) {
      request_body_done_ = true;
      if (!conn_->flush()) {
        on_upstream_lost("upstream connection lost while sending the request");
        return;
      }
      if (conn_->pending() == 0) on_request_sent();
      else timer_.arm_after_ms(head_timeout_ms());
      return;
    }
    // A retry sends again what the client sent so far; the head waits in the buffer for
    // the first body bytes, so both usually leave in one write.
    request_body_done_ = body_paused_ = false;
    if (!body_copy_.empty() || body_end_seen_) {
      send_body_piece(body_copy_, body_end_seen_);
      if (phase_ != Phase::kExchanging) return;
    }
    if (!body_end_seen_ && !body_paused_) ds_.want_body(true);
  }

  void send_body_piece(std::string_view data, bool end) {
    char chunk_head[24];
    iovec iov[3];
    int n = 0;
    bool chunked = ctx_.request->framing == http::Framing::kChunked;
    if (!data.empty()) {
      if (chunked) iov[n++] = {chunk_head, http::format_chunk_header(data.size(), chunk_head)};
      iov[n++] = {const_cast<char*>(data.data()), data.size()};
    }
    std::string_view tail;
    if (chunked && !data.empty() && end) tail = "\r\n0\r\n\r\n";
    else if (chunked && !data.empty()) tail = "\r\n";
    else if (chunked && end) tail = http::kLastChunk;
    if (!tail.empty()) iov[n++] = {const_cast<char*>(tail.data()), tail.size()};
    if (n > 0 && !conn_->write(iov, n)) {
      on_upstream_lost("upstream connection lost while sending the request");
      return;
    }
    if (end) {
      request_body_done_ = true;
      if (conn_->pending() == 0) on_request_sent();
      else timer_.arm_after_ms(head_timeout_ms());
    } else if (conn_->pending() > kHighWater) {
      ds_.want_body(false);  // resumed once the upstream has taken the bytes
      body_paused_ = true;
      timer_.arm_after_ms(response_timeout_ms());
    }
  }

  void on_request_sent() {
    request_sent_ = true;
    sent_ns_ = monotonic_ns();
    if (!head_received_) timer_.arm_after_ms(head_timeout_ms());
  }

  // The try is over: the endpoint is no longer in use by this request.
  void end_try() {
    if (pool_ != nullptr) {
      pool_->end_request();
      pool_ = nullptr;
    }
    if (counts_as_retry_) {
      stats_.retries_active.fetch_sub(1, std::memory_order_relaxed);
      counts_as_retry_ = false;
    }
  }

  // A try ended without a usable response: retry if allowed, else answer the client.
  void try_failed(TryFailure failure, std::string message) {
    timer_.cancel();
    pool_->counters().failures.add();
    upstream::record_failure(*pool_->stats(), up_.outlier, env_.outlier_sink());
    drop_connection(false);
    end_try();
    if (retry(failure, 0, std::nullopt)) return;
    fail(failure == TryFailure::kTimeout ? 504 : 502, std::move(message));
  }

  // Starts the next try after a back-off if the policy, attempts, body, budget and total
  // timeout all allow it. `delay_ms` overrides the back-off (Retry-After).
  bool retry(TryFailure failure, int status, std::optional<int64_t> delay_ms) {
    auto delay = retry_delay(failure, status, delay_ms);
    if (!delay) return false;
    phase_ = Phase::kBackoff;
    if (!body_end_seen_ && ctx_.request->framing != http::Framing::kNone) ds_.want_body(false);
    timer_.arm_after_ms(*delay);
    return true;
  }

  // The delay before the next try, or nullopt if there must be none. No side effects
  // but the budget-exhausted count.
  std::optional<int64_t> retry_delay(TryFailure failure, int status, std::optional<int64_t> delay_ms) {
    if (tries_ >= policy_.attempts || ds_.response_started()) return std::nullopt;
    if (!retry_allowed(policy_, failure, status, ctx_.request->method) || !can_replay()) return std::nullopt;
    // The try that just failed no longer counts against the budget.
    int64_t retries = stats_.retries_active.load(std::memory_order_relaxed) - (counts_as_retry_ ? 1 : 0);
    if (!within_budget(policy_, stats_.requests.load(std::memory_order_relaxed), retries)) {
      wu_.counters().retries_budget_exhausted.add();
      return std::nullopt;
    }
    int64_t delay = delay_ms ? *delay_ms : backoff_ms(policy_, tries_, random_u64());
    if (total_timer_.armed() && wu_.loop().now_ms() + delay >= total_timer_.deadline_ms()) return std::nullopt;
    return delay;
  }

  // ---- response ----

  void pump_response() {
    while (phase_ == Phase::kExchanging) {
      if (!head_received_) {
        if (!conn_->in().empty() && parse_head()) continue;
      } else if (!conn_->in().empty()) {
        if (!coalesced_ && body_.framing() == http::Framing::kLength && conn_->in().size() < body_.remaining() &&
            conn_->maybe_readable()) {
          // Read once more before the first write, so the head and a body of up to
          // 64 KiB usually leave in one write.
          coalesced_ = true;
        } else {
          forward_body();
        }
      }
      if (phase_ != Phase::kExchanging || downstream_paused_) return;
      if (!conn_->maybe_readable()) return;
      // Room for the rest of a known-length body (up to the buffer cap), so a large body
      // moves in few reads; 4 KiB otherwise.
      size_t max = head_received_ ? kMaxBodyBuffer : kResponseLimits.max_header_bytes + 8192;
      size_t buffered = conn_->in().size();
      size_t min_free = 4096;
      if (head_received_ && body_.framing() == http::Framing::kLength && body_.remaining() > buffered) {
        min_free = static_cast<size_t>(std::min<uint64_t>(body_.remaining() - buffered, max - buffered));
      }
      switch (conn_->read(min_free, max)) {
        case upstream::UpstreamConnection::ReadResult::kFull:
          // Nothing more fits: forward what is buffered first (never wait for an event
          // that edge-triggered epoll will not send again).
          if (!head_received_) {
            bad_response(fmt::format("response head from upstream \"{}\" too large", up_.name));
            return;
          }
          forward_body();
          break;
        case upstream::UpstreamConnection::ReadResult::kData:
          timer_.arm_after_ms(head_received_ ? response_timeout_ms() : head_timeout_ms());
          break;
        case upstream::UpstreamConnection::ReadResult::kAgain:
          return;
        case upstream::UpstreamConnection::ReadResult::kEof:
          on_upstream_eof("upstream closed the connection before responding");
          return;
        case upstream::UpstreamConnection::ReadResult::kError:
          on_upstream_eof("upstream connection reset");
          return;
      }
    }
  }

  // True when a head (final or interim) was consumed.
  bool parse_head() {
    http::ParseError err;
    auto r = http::parse_response(conn_->in().readable(), kResponseLimits, is_head_, resp_, err);
    if (r == http::ParseResult::kIncomplete) return false;
    if (r == http::ParseResult::kError) {
      bad_response(fmt::format("invalid response from upstream \"{}\": {}", up_.name, err.message));
      return false;
    }
    if (resp_.status < 200) {
      if (resp_.status == 101) {
        bad_response("upstream switched protocols, which this route does not support");
        return false;
      }
      conn_->in().consume(resp_.head_size);  // interim response (100, 103): not forwarded
      return true;
    }
    int64_t upstream_ns = sent_ns_ != 0 ? monotonic_ns() - sent_ns_ : 0;
    auto& counters = pool_->counters();
    counters.responses[resp_.status / 100].add();
    counters.latency.observe_ns(upstream_ns);
    upstream::record_response(*pool_->stats(), resp_.status, up_.outlier, env_.outlier_sink());
    if (policy_.retries_status(resp_.status) && retry_on_status()) return false;

    head_received_ = true;
    ctx_.upstream_ns = upstream_ns;
    total_timer_.cancel();  // the total timeout covers the wait for a response head
    uint64_t length = 0;
    gateway::BodyMode mode = response_mode(length);
    send_response_head(mode, length);
    conn_->in().consume(resp_.head_size);
    body_.reset(mode == gateway::BodyMode::kNone ? http::Framing::kNone : resp_.framing, resp_.content_length);
    if (body_.done()) complete();
    return true;
  }

  // The response's status is one the policy retries: try again unless this was the last
  // chance, in which case the response goes to the client as it is.
  bool retry_on_status() {
    std::optional<int64_t> after;
    if (resp_.status == 503) {
      if (const http::Header* ra = http::find_header(resp_.headers, "retry-after")) {
        after = parse_retry_after(ra->value, wall_ms());
        if (after && *after > policy_.retry_after_max_ms) return false;  // the client should wait, not us
      }
    }
    if (!retry_delay(TryFailure::kStatus, resp_.status, after)) return false;
    int status = resp_.status;
    timer_.cancel();
    drop_connection(false);  // its body is not read: the connection cannot be reused
    end_try();
    return retry(TryFailure::kStatus, status, after);
  }

  gateway::BodyMode response_mode(uint64_t& length) const {
    if (is_head_ || resp_.status == 204 || resp_.status == 304) return gateway::BodyMode::kNone;
    switch (resp_.framing) {
      case http::Framing::kLength:
        length = resp_.content_length;
        return gateway::BodyMode::kLength;
      case http::Framing::kNone:
        length = 0;
        return gateway::BodyMode::kLength;
      default:
        return gateway::BodyMode::kStream;
    }
  }

  void send_response_head(gateway::BodyMode mode, uint64_t length) {
    std::string& h = ds_.begin_response(resp_.status, resp_.reason);
    bool has_date = false;
    bool has_via = false;
    for (const auto& f : resp_.headers) {
      switch (f.id) {
        case http::HeaderId::kXRequestId:
          continue;  // the connection adds the request's id
        case http::HeaderId::kContentLength:
          if (mode != gateway::BodyMode::kNone) continue;  // re-framed
          break;
        case http::HeaderId::kDate:
          has_date = true;
          break;
        case http::HeaderId::kVia:
          has_via = true;
          continue;
        default:
          if (http::is_hop_by_hop(f.id)) continue;
          break;
      }
      if (resp_.connection_lists_headers && named_in_connection(resp_.headers, f.name)) continue;
      // With CORS answered here, the upstream's own would make duplicates browsers refuse.
      if (ctx_.cors_owned && f.name.size() > 15 && iequals(f.name.substr(0, 15), "access-control-")) continue;
      h.append(f.name);
      h.append(": ");
      h.append(f.value);
      h.append("\r\n");
    }
    h.append("Via: ");
    if (has_via) {
      for (const auto& f : resp_.headers) {
        if (f.id == http::HeaderId::kVia) {
          h.append(f.value);
          h.append(", ");
        }
      }
    }
    h.append(resp_.version_minor == 0 ? "1.0 portico\r\n" : "1.1 portico\r\n");
    ds_.end_response_head(mode, length, has_date);
  }

  void forward_body() {
    Buffer& in = conn_->in();
    std::string_view avail = in.readable();
    size_t pos = 0;
    bool ok = true;
    while (ok) {
      std::string_view piece;
      auto step = body_.next(avail, pos, piece);
      if (step == http::BodyReader::Step::kData) {
        ok = ds_.send_body(piece);
      } else if (step == http::BodyReader::Step::kDone) {
        in.consume(pos);
        complete();
        return;
      } else if (step == http::BodyReader::Step::kError) {
        upstream_failed_midway(fmt::format("invalid chunked body from upstream: {}", body_.error()));
        return;
      } else {
        break;
      }
    }
    in.consume(pos);
    if (!ok) {
      downstream_paused_ = true;
      timer_.cancel();  // the client is slow, not the upstream; its send timeout applies
    }
  }

  void on_upstream_eof(const char* what) {
    if (!head_received_) {
      if (stale_pooled_connection()) return;
      try_failed(TryFailure::kReset, fmt::format("{} (\"{}\")", what, up_.name));
      return;
    }
    if (body_.complete_at_eof()) {
      complete();
      return;
    }
    upstream_failed_midway("upstream closed the connection mid-response");
  }

  void on_upstream_lost(const char* what) {
    if (stale_pooled_connection()) return;
    try_failed(TryFailure::kReset, fmt::format("{} (\"{}\")", what, up_.name));
  }

  // A pooled connection the upstream had closed just as it was reused: not the
  // endpoint's fault and not a try; send again on a new connection, once per try.
  bool stale_pooled_connection() {
    if (stale_retried_ || !conn_->reused() || !conn_->in().empty() || !can_replay()) return false;
    stale_retried_ = true;
    drop_connection(false);
    acquire_connection(false);
    return true;
  }

  void bad_response(std::string message) {
    // A malformed response counts as a failure of the endpoint but is not retried: it
    // may have acted on the request.
    timer_.cancel();
    pool_->counters().failures.add();
    upstream::record_failure(*pool_->stats(), up_.outlier, env_.outlier_sink());
    fail(502, std::move(message));
  }

  void upstream_failed_midway(std::string message) {
    phase_ = Phase::kDone;
    timer_.cancel();
    if (pool_) {
      pool_->counters().failures.add();
      upstream::record_failure(*pool_->stats(), up_.outlier, env_.outlier_sink());
    }
    ctx_.error = std::move(message);
    drop_connection(false);
    end_try();
    ds_.abort();
  }

  void on_timeout() {
    switch (phase_) {
      case Phase::kConnecting:
        pool_->counters().connect_failures.add();
        try_failed(TryFailure::kConnect, fmt::format("timed out connecting to upstream \"{}\"", up_.name));
        return;
      case Phase::kWaitingSlot:
        wu_.cancel_wait(this);
        wu_.counters().overflow[gateway::UpstreamStats::kConnections].add();
        fail(503, fmt::format("no connection to upstream \"{}\" became free within {} ms "
                              "(circuit_breaker.max_connections = {})",
                              up_.name, up_.timeouts.connect_ms, up_.breaker.max_connections));
        return;
      case Phase::kExchanging:
        if (!head_received_) {
          try_failed(TryFailure::kTimeout, fmt::format("upstream \"{}\" did not respond in time", up_.name));
        } else {
          upstream_failed_midway("upstream stalled mid-response");
        }
        return;
      case Phase::kBackoff:
        begin_try();
        return;
      case Phase::kIdle:
      case Phase::kDone:
        return;
    }
  }

  void on_total_timeout() {
    if (phase_ == Phase::kDone || head_received_) return;
    if (phase_ == Phase::kWaitingSlot) wu_.cancel_wait(this);
    fail(504, fmt::format("upstream \"{}\" did not respond within the route's total timeout of {} ms", up_.name,
                          ctx_.route->total_timeout_ms));
  }

  void complete() {
    phase_ = Phase::kDone;
    timer_.cancel();
    bool reusable = resp_.keep_alive && request_body_done_ && resp_.framing != http::Framing::kUntilClose &&
                    conn_->pending() == 0 && conn_->in().empty();
    drop_connection(reusable);
    end_try();
    ds_.finish();
  }

  void fail(int status, std::string message) {
    phase_ = Phase::kDone;
    timer_.cancel();
    total_timer_.cancel();
    drop_connection(false);
    end_try();
    if (ds_.response_started()) {
      ctx_.error = std::move(message);
      ds_.abort();
    } else {
      ds_.send_error(status, message);
    }
  }

  void drop_connection(bool reusable) {
    if (conn_ == nullptr) return;
    conn_->set_user(nullptr);
    conn_->pool().release(conn_, reusable, up_.pool);
    conn_ = nullptr;
  }

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  ProxyEnv& env_;
  const config::Target& target_;
  const config::Upstream& up_;
  upstream::WorkerUpstream& wu_;
  gateway::UpstreamStats& stats_;
  const config::RetryPolicy& policy_;
  net::Timer timer_;        // the current phase's deadline: connect, slot wait, response, back-off
  net::Timer total_timer_;  // route timeouts.total, until the response head
  std::optional<uint64_t> hash_;

  upstream::EndpointPool* pool_ = nullptr;  // this try's endpoint
  upstream::UpstreamConnection* conn_ = nullptr;
  upstream::EndpointPool* tried_[kMaxTries];
  size_t tried_count_ = 0;
  uint32_t tries_ = 0;

  // request body kept for replay and mirroring
  std::string body_copy_;
  uint64_t body_copy_limit_ = 0;
  bool buffering_ = false;
  bool body_overflow_ = false;
  bool body_end_seen_ = false;
  bool mirror_wanted_ = false;

  http::ResponseHead resp_;
  http::BodyReader body_;
  int64_t sent_ns_ = 0;
  Phase phase_ = Phase::kIdle;
  bool is_head_ = false;
  bool holds_request_slot_ = false;
  bool counts_as_retry_ = false;
  bool head_received_ = false;
  bool request_body_done_ = false;
  bool request_sent_ = false;
  bool body_paused_ = false;
  bool downstream_paused_ = false;
  bool coalesced_ = false;
  bool stale_retried_ = false;
};

}  // namespace

std::unique_ptr<gateway::Handler> make_proxy_handler(gateway::Downstream& ds, gateway::RequestContext& ctx,
                                                     ProxyEnv& env) {
  return std::make_unique<ProxyHandler>(ds, ctx, env);
}

}  // namespace portico::proxy
