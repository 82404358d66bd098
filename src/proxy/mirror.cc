#include "proxy/mirror.h"

#include <sys/epoll.h>

#include <algorithm>
#include <cstring>

#include "gateway/snapshot.h"
#include "http/body_reader.h"
#include "http/parser.h"
#include "proxy/proxy.h"

namespace portico::proxy {
namespace {
constexpr http::ParseLimits kResponseLimits{8 * 1024, 64 * 1024, 200};
constexpr size_t kReadBuffer = 64 * 1024;
constexpr std::string_view kShadowHeader = "X-Portico-Mirror: 1\r\n";  // lets the shadow tell copies apart
}  // namespace

class MirrorRequest final : public upstream::ConnectionUser, public upstream::ConnectionWaiter {
 public:
  MirrorRequest(MirrorTracker& tracker, upstream::WorkerUpstream& wu, std::shared_ptr<const gateway::Snapshot> pin,
                const config::Upstream& cfg, std::string request, bool is_head, upstream::OutlierSink* sink)
      : tracker_(tracker),
        wu_(wu),
        pin_(std::move(pin)),
        cfg_(cfg),
        request_(std::move(request)),
        is_head_(is_head),
        sink_(sink),
        timer_(wu.loop(), [this] { failed(); }) {}

  ~MirrorRequest() override {
    if (conn_ != nullptr) {
      conn_->set_user(nullptr);
      conn_->pool().release(conn_, false, cfg_.pool);
    }
    if (pool_ != nullptr) pool_->end_request();
    if (holds_slot_) wu_.stats()->requests.fetch_sub(1, std::memory_order_relaxed);
  }

  void start() {
    auto& counters = wu_.counters();
    int64_t active = wu_.stats()->requests.fetch_add(1, std::memory_order_relaxed);
    holds_slot_ = true;
    pool_ = wu_.pick(cfg_.balance, nullptr, {});
    if ((cfg_.breaker.max_requests != 0 && active >= static_cast<int64_t>(cfg_.breaker.max_requests)) ||
        pool_ == nullptr) {
      counters.mirror_skipped.add();
      tracker_.finished(this);
      return;
    }
    pool_->begin_request();
    std::string err;
    switch (wu_.acquire(pool_, this, this, cfg_.breaker, true, conn_, err)) {
      case upstream::WorkerUpstream::Acquire::kPooled:
        counters.mirrored.add();
        pool_->mark_request(conn_);
        send();
        return;
      case upstream::WorkerUpstream::Acquire::kConnecting:
        counters.mirrored.add();
        connecting_ = true;
        timer_.arm_after_ms(cfg_.timeouts.connect_ms);
        return;
      case upstream::WorkerUpstream::Acquire::kWait:
        wu_.cancel_wait(this);  // a copy never waits for a slot
        [[fallthrough]];
      case upstream::WorkerUpstream::Acquire::kOverflow:
        counters.mirror_skipped.add();
        tracker_.finished(this);
        return;
      case upstream::WorkerUpstream::Acquire::kFailed:
        counters.mirrored.add();
        failed();
        return;
    }
  }

  void on_connection_slot() override {}

  size_t index = 0;  // in the tracker's active_ list

  void on_upstream_io(uint32_t events) override {
    if (connecting_) {
      if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
      connecting_ = false;
      if (net::connect_result(conn_->fd()) != 0) {
        pool_->counters().connect_failures.add();
        failed();
        return;
      }
      pool_->mark_request(conn_);
      send();
      return;
    }
    if ((events & EPOLLOUT) && conn_->pending() > 0 && !conn_->flush()) {
      failed();
      return;
    }
    if (conn_->maybe_readable()) read();
  }

 private:
  void send() {
    iovec iov{request_.data(), request_.size()};
    if (!conn_->write(&iov, 1)) {
      failed();
      return;
    }
    std::string().swap(request_);
    timer_.arm_after_ms(cfg_.timeouts.response_ms);
  }

  void read() {
    while (true) {
      Buffer& in = conn_->in();
      if (!head_done_ && !in.empty()) {
        http::ParseError err;
        auto r = http::parse_response(in.readable(), kResponseLimits, is_head_, resp_, err);
        if (r == http::ParseResult::kError) {
          failed();
          return;
        }
        if (r == http::ParseResult::kComplete) {
          in.consume(resp_.head_size);
          if (resp_.status >= 200) {
            head_done_ = true;
            pool_->counters().responses[resp_.status / 100].add();
            upstream::record_response(*pool_->stats(), resp_.status, cfg_.outlier, sink_);
            bool no_body = is_head_ || resp_.status == 204 || resp_.status == 304;
            body_.reset(no_body ? http::Framing::kNone : resp_.framing, resp_.content_length);
          }
          continue;
        }
      }
      if (head_done_) {
        size_t pos = 0;
        std::string_view piece;
        http::BodyReader::Step step;
        while ((step = body_.next(in.readable(), pos, piece)) == http::BodyReader::Step::kData) {
        }
        in.consume(pos);
        if (step == http::BodyReader::Step::kDone) {
          finish(resp_.keep_alive && resp_.framing != http::Framing::kUntilClose && in.empty());
          return;
        }
        if (step == http::BodyReader::Step::kError) {
          failed();
          return;
        }
      }
      if (!conn_->maybe_readable()) return;
      switch (conn_->read(4096, kReadBuffer)) {
        case upstream::UpstreamConnection::ReadResult::kData:
          timer_.arm_after_ms(cfg_.timeouts.response_ms);
          break;
        case upstream::UpstreamConnection::ReadResult::kAgain:
          return;
        case upstream::UpstreamConnection::ReadResult::kEof:
          if (head_done_ && body_.complete_at_eof()) finish(false);
          else failed();
          return;
        case upstream::UpstreamConnection::ReadResult::kFull:
        case upstream::UpstreamConnection::ReadResult::kError:
          failed();
          return;
      }
    }
  }

  void failed() {
    if (conn_ != nullptr && !head_done_) {
      pool_->counters().failures.add();
      upstream::record_failure(*pool_->stats(), cfg_.outlier, sink_);
    }
    finish(false);
  }

  void finish(bool reusable) {
    timer_.cancel();
    if (conn_ != nullptr) {
      conn_->set_user(nullptr);
      conn_->pool().release(conn_, reusable, cfg_.pool);
      conn_ = nullptr;
    }
    tracker_.finished(this);
  }

  MirrorTracker& tracker_;
  upstream::WorkerUpstream& wu_;
  std::shared_ptr<const gateway::Snapshot> pin_;  // keeps cfg_ alive across reloads
  const config::Upstream& cfg_;
  std::string request_;
  bool is_head_;
  upstream::OutlierSink* sink_;
  net::Timer timer_;
  upstream::EndpointPool* pool_ = nullptr;
  upstream::UpstreamConnection* conn_ = nullptr;
  http::ResponseHead resp_;
  http::BodyReader body_;
  bool holds_slot_ = false;
  bool connecting_ = false;
  bool head_done_ = false;
};

MirrorTracker::MirrorTracker(net::EventLoop& loop) : loop_(loop) {}

MirrorTracker::~MirrorTracker() { close_all(); }

void MirrorTracker::launch(upstream::WorkerUpstream& target, const config::Upstream& config,
                           const gateway::RequestContext& ctx, std::string_view body, upstream::OutlierSink* sink) {
  std::string request;
  bool has_body = ctx.request->framing != http::Framing::kNone;
  build_upstream_request_head(ctx, request, kShadowHeader,
                              has_body ? std::optional<uint64_t>(body.size()) : std::nullopt);
  request.append(body);
  auto m = std::make_unique<MirrorRequest>(*this, target, ctx.snapshot, config, std::move(request),
                                           ctx.request->method == "HEAD", sink);
  MirrorRequest* raw = m.get();
  raw->index = active_.size();
  active_.push_back(std::move(m));
  raw->start();
}

void MirrorTracker::finished(MirrorRequest* m) {
  size_t i = m->index;
  if (i >= active_.size() || active_[i].get() != m) return;
  done_.push_back(std::move(active_[i]));
  if (i + 1 != active_.size()) {
    active_[i] = std::move(active_.back());
    active_[i]->index = i;
  }
  active_.pop_back();
  // Freed after the event that finished it: the copy may be deep in its own callback.
  if (!sweep_queued_) {
    sweep_queued_ = true;
    loop_.defer([this] {
      sweep_queued_ = false;
      done_.clear();
    });
  }
}

void MirrorTracker::close_all() {
  active_.clear();
  done_.clear();
}

}  // namespace portico::proxy
