#include "proxy/proxy.h"

#include <sys/epoll.h>

#include <cstring>

#include <fmt/format.h>

#include "core/clock.h"
#include "http/chunked.h"
#include "http/parser.h"

namespace portico::proxy {
namespace {

constexpr size_t kHighWater = 64 * 1024;  // unsent request bytes that pause the client body
constexpr size_t kMaxBodyBuffer = 64 * 1024;
constexpr http::ParseLimits kResponseLimits{8 * 1024, 64 * 1024, 200};

bool named_in_connection(const http::HeaderList& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.id == http::HeaderId::kConnection && http::list_contains(h.value, name)) return true;
  }
  return false;
}

class ProxyHandler final : public gateway::Handler, public upstream::ConnectionUser {
 public:
  // The runtime is only used here: a reload may replace it while the request is in
  // flight, but the chosen pool and the pinned config stay valid.
  ProxyHandler(gateway::Downstream& ds, gateway::RequestContext& ctx, upstream::UpstreamRuntime& rt)
      : ds_(ds), ctx_(ctx), up_(*rt.config), pool_(rt.pick()), timer_(pool_->loop(), [this] { on_timeout(); }) {}

  ~ProxyHandler() override { drop_connection(false); }

  void start() override {
    is_head_ = ctx_.request->method == "HEAD";
    attempt(true);
  }

  void on_request_body(std::string_view data, bool end) override {
    if (phase_ != Phase::kExchanging || conn_ == nullptr) return;
    char chunk_head[24];
    iovec iov[3];
    int n = 0;
    bool chunked = ctx_.request->framing == http::Framing::kChunked;
    if (!data.empty()) {
      if (chunked) iov[n++] = {chunk_head, http::format_chunk_header(data.size(), chunk_head)};
      iov[n++] = {const_cast<char*>(data.data()), data.size()};
    }
    std::string tail;
    if (chunked && (!data.empty() || end)) {
      tail = data.empty() ? "" : "\r\n";
      if (end) tail += http::kLastChunk;
      iov[n++] = {tail.data(), tail.size()};
    }
    if (n > 0 && !conn_->write(iov, n)) {
      on_upstream_lost("upstream connection lost while sending the request");
      return;
    }
    if (end) {
      request_body_done_ = true;
      if (conn_->pending() == 0) on_request_sent();
      else timer_.arm_after_ms(response_timeout_ms());
    } else if (conn_->pending() > kHighWater) {
      ds_.want_body(false);  // resumed once the upstream has taken the bytes
      body_paused_ = true;
      timer_.arm_after_ms(response_timeout_ms());
    }
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
    drop_connection(false);
  }

  void on_upstream_io(uint32_t events) override {
    if (phase_ == Phase::kConnecting) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      int err = net::connect_result(conn_->fd());
      if (err != 0) {
        pool_->counters().connect_failures.add();
        fail(502, fmt::format("cannot connect to upstream \"{}\": {}", up_.name, strerror(err)));
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
  enum class Phase : uint8_t { kIdle, kConnecting, kExchanging, kDone };

  int64_t response_timeout_ms() const {
    return ctx_.route && ctx_.route->response_timeout_ms ? *ctx_.route->response_timeout_ms
                                                          : up_.timeouts.response_ms;
  }

  void attempt(bool allow_pooled) {
    ++attempts_;
    ctx_.upstream_address = pool_->address_text();
    conn_ = allow_pooled ? pool_->take_idle() : nullptr;
    if (conn_ != nullptr) {
      conn_->set_user(this);
      pool_->mark_request(conn_);
      send_request_head();
      return;
    }
    std::string err;
    conn_ = pool_->connect(this, err);
    if (conn_ == nullptr) {
      fail(502, fmt::format("cannot connect to upstream \"{}\": {}", up_.name, err));
      return;
    }
    phase_ = Phase::kConnecting;
    timer_.arm_after_ms(up_.timeouts.connect_ms);
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
      else timer_.arm_after_ms(response_timeout_ms());
    } else {
      // The head waits in the connection's buffer for the first body bytes, so both
      // usually leave in one write.
      ds_.want_body(true);
    }
  }

  void on_request_sent() {
    request_sent_ = true;
    sent_ns_ = monotonic_ns();
    if (!head_received_) timer_.arm_after_ms(response_timeout_ms());
  }

  void pump_response() {
    while (phase_ == Phase::kExchanging) {
      if (!head_received_) {
        if (!conn_->in().empty() && parse_head()) continue;
      } else if (!conn_->in().empty()) {
        if (!coalesced_ && resp_.framing == http::Framing::kLength && conn_->in().size() < resp_remaining_ &&
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
      if (head_received_ && resp_.framing == http::Framing::kLength && resp_remaining_ > buffered) {
        min_free = static_cast<size_t>(std::min<uint64_t>(resp_remaining_ - buffered, max - buffered));
      }
      switch (conn_->read(min_free, max)) {
        case upstream::UpstreamConnection::ReadResult::kFull:
          // Nothing more fits: forward what is buffered first (never wait for an event
          // that edge-triggered epoll will not send again).
          if (!head_received_) {
            fail(502, fmt::format("response head from upstream \"{}\" too large", up_.name));
            return;
          }
          forward_body();
          break;
        case upstream::UpstreamConnection::ReadResult::kData:
          timer_.arm_after_ms(response_timeout_ms());
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
      fail(502, fmt::format("invalid response from upstream \"{}\": {}", up_.name, err.message));
      return false;
    }
    if (resp_.status < 200) {
      if (resp_.status == 101) {
        fail(502, "upstream switched protocols, which this route does not support");
        return false;
      }
      conn_->in().consume(resp_.head_size);  // interim response (100, 103): not forwarded
      return true;
    }
    head_received_ = true;
    if (sent_ns_ != 0) ctx_.upstream_ns = monotonic_ns() - sent_ns_;
    uint64_t length = 0;
    gateway::BodyMode mode = response_mode(length);
    send_response_head(mode, length);
    conn_->in().consume(resp_.head_size);
    resp_remaining_ = resp_.content_length;
    chunked_.reset();
    if (mode == gateway::BodyMode::kNone || (mode == gateway::BodyMode::kLength && length == 0)) complete();
    return true;
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
    bool ok = true;
    switch (resp_.framing) {
      case http::Framing::kLength: {
        size_t take = static_cast<size_t>(std::min<uint64_t>(in.size(), resp_remaining_));
        ok = ds_.send_body(in.readable().substr(0, take));
        in.consume(take);
        resp_remaining_ -= take;
        if (resp_remaining_ == 0) {
          complete();
          return;
        }
        break;
      }
      case http::Framing::kChunked: {
        size_t pos = 0;
        std::string_view piece;
        bool done = false;
        while (ok && !done) {
          switch (chunked_.next(in.readable(), pos, piece)) {
            case http::ChunkedDecoder::Step::kData:
              ok = ds_.send_body(piece);
              break;
            case http::ChunkedDecoder::Step::kNeedMore:
              done = true;
              break;
            case http::ChunkedDecoder::Step::kDone:
              in.consume(pos);
              complete();
              return;
            case http::ChunkedDecoder::Step::kError:
              upstream_failed_midway(fmt::format("invalid chunked body from upstream: {}", chunked_.error()));
              return;
          }
        }
        in.consume(pos);
        break;
      }
      default:  // until close
        ok = ds_.send_body(in.readable());
        in.consume(in.size());
        break;
    }
    if (!ok) {
      downstream_paused_ = true;
      timer_.cancel();  // the client is slow, not the upstream; its send timeout applies
    }
  }

  void on_upstream_eof(const char* what) {
    if (!head_received_) {
      bool replayable = ctx_.request->framing == http::Framing::kNone;
      if (conn_->reused() && conn_->in().empty() && attempts_ == 1 && replayable) {
        // The pooled connection had been closed by the upstream just as it was reused.
        drop_connection(false);
        head_received_ = request_sent_ = false;
        attempt(false);
        return;
      }
      fail(502, fmt::format("{} (\"{}\")", what, up_.name));
      return;
    }
    if (resp_.framing == http::Framing::kUntilClose) {
      complete();
      return;
    }
    upstream_failed_midway("upstream closed the connection mid-response");
  }

  void on_upstream_lost(const char* what) {
    if (!head_received_ && conn_->reused() && attempts_ == 1 && ctx_.request->framing == http::Framing::kNone) {
      drop_connection(false);
      attempt(false);
      return;
    }
    fail(502, fmt::format("{} (\"{}\")", what, up_.name));
  }

  void upstream_failed_midway(std::string message) {
    phase_ = Phase::kDone;
    timer_.cancel();
    pool_->counters().failures.add();
    ctx_.error = std::move(message);
    drop_connection(false);
    ds_.abort();
  }

  void on_timeout() {
    if (phase_ == Phase::kConnecting) {
      pool_->counters().connect_failures.add();
      fail(504, fmt::format("timed out connecting to upstream \"{}\"", up_.name));
    } else if (phase_ == Phase::kExchanging) {
      if (!head_received_) fail(504, fmt::format("upstream \"{}\" did not respond in time", up_.name));
      else upstream_failed_midway("upstream stalled mid-response");
    }
  }

  void complete() {
    phase_ = Phase::kDone;
    timer_.cancel();
    bool reusable = resp_.keep_alive && request_body_done_ && resp_.framing != http::Framing::kUntilClose &&
                    conn_->pending() == 0 && conn_->in().empty();
    drop_connection(reusable);
    ds_.finish();
  }

  void fail(int status, std::string message) {
    phase_ = Phase::kDone;
    timer_.cancel();
    pool_->counters().failures.add();
    drop_connection(false);
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
    pool_->release(conn_, reusable, up_.pool);
    conn_ = nullptr;
  }

  gateway::Downstream& ds_;
  gateway::RequestContext& ctx_;
  const config::Upstream& up_;
  upstream::EndpointPool* pool_;
  upstream::UpstreamConnection* conn_ = nullptr;
  net::Timer timer_;
  http::ResponseHead resp_;
  http::ChunkedDecoder chunked_;
  uint64_t resp_remaining_ = 0;
  int64_t sent_ns_ = 0;
  int attempts_ = 0;
  Phase phase_ = Phase::kIdle;
  bool is_head_ = false;
  bool head_received_ = false;
  bool request_body_done_ = false;
  bool request_sent_ = false;
  bool body_paused_ = false;
  bool downstream_paused_ = false;
  bool coalesced_ = false;
};

}  // namespace

std::unique_ptr<gateway::Handler> make_proxy_handler(gateway::Downstream& ds, gateway::RequestContext& ctx,
                                                     upstream::UpstreamRuntime& upstream) {
  return std::make_unique<ProxyHandler>(ds, ctx, upstream);
}

}  // namespace portico::proxy
