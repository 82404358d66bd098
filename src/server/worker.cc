#include "server/worker.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/strings.h"
#include "gateway/builtin.h"
#include "net/socket.h"
#include "aggregate/aggregate_handler.h"
#include "auth/cors.h"
#include "functions/route_handler.h"
#include "proxy/proxy.h"
#include "steps/steps_handler.h"

namespace portico::server {

// ---- access log ----

void AccessLogWriter::write(const std::shared_ptr<gateway::LogFile>& file, const gateway::RequestContext& ctx) {
  if (file_ != file) {
    flush();
    file_ = file;
  }
  char time[64];
  format_iso8601_ms(wall_ms(), time);
  const http::RequestHead* req = ctx.request;
  double ms = static_cast<double>(monotonic_ns() - ctx.start_ns) / 1e6;
  std::string& b = buffer_;
  b += "{\"time\":\"";
  b += time;
  b += "\",\"request_id\":";
  b += json_quote(ctx.request_id);
  b += ",\"client\":";
  b += json_quote(ctx.client_ip);
  if (ctx.peer_ip != ctx.client_ip) {  // behind a trusted proxy: which one
    b += ",\"peer\":";
    b += json_quote(ctx.peer_ip);
  }
  if (req != nullptr) {
    b += ",\"method\":";
    b += json_quote(req->method);
    b += ",\"host\":";
    b += json_quote(req->host);
    b += ",\"target\":";
    b += json_quote(req->target);
  }
  fmt::format_to(std::back_inserter(b), ",\"status\":{},\"duration_ms\":{:.3f}", ctx.status, ms);
  if (ctx.route != nullptr) {
    b += ",\"route\":";
    b += json_quote(ctx.route->name);
  }
  if (!ctx.upstream_address.empty()) {
    b += ",\"upstream\":";
    b += json_quote(ctx.upstream_address);
    fmt::format_to(std::back_inserter(b), ",\"upstream_ms\":{:.3f}", static_cast<double>(ctx.upstream_ns) / 1e6);
  }
  fmt::format_to(std::back_inserter(b), ",\"bytes_in\":{},\"bytes_out\":{}", ctx.body_bytes_in, ctx.body_bytes_out);
  if (!ctx.error.empty()) {
    b += ",\"error\":";
    b += json_quote(ctx.error);
  }
  b += "}\n";
  if (buffer_.size() > 64 * 1024) flush();
  else loop_.request_flush(this);
}

void AccessLogWriter::flush() {
  if (buffer_.empty() || !file_) return;
  size_t off = 0;
  while (off < buffer_.size()) {
    ssize_t n = ::write(file_->fd(), buffer_.data() + off, buffer_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // a full disk or closed pipe must not stop the proxy
    off += static_cast<size_t>(n);
  }
  buffer_.clear();
}

// ---- listener ----

Listener::Listener(net::EventLoop& loop, int fd, OnAccept on_accept)
    : loop_(loop), fd_(fd), on_accept_(std::move(on_accept)), retry_(loop, [this] { accept_some(); }) {
  loop_.watch(fd_, this, 0x001 | (1u << 31));  // EPOLLIN | EPOLLET
}

Listener::~Listener() { close(); }

void Listener::close() {
  if (fd_ < 0) return;
  loop_.unwatch(fd_);
  ::close(fd_);
  fd_ = -1;
  retry_.cancel();
}

void Listener::on_io(uint32_t) { accept_some(); }

void Listener::accept_some() {
  // A bounded batch per call keeps one busy listener from starving the loop; the rest
  // is picked up after this iteration (edge-triggered: no new event would come).
  for (int i = 0; i < 128 && fd_ >= 0; ++i) {
    sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      on_accept_(fd, peer);
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      // Out of descriptors or memory: leave the connection queued and retry shortly.
      // Logged at most once a second per listener, so the log stays readable.
      if (loop_.now_ms() - last_warning_ms_ >= 1000) {
        last_warning_ms_ = loop_.now_ms();
        log::warn("accept: {}; new connections wait in the backlog (retrying every 100 ms)", strerror(errno));
      }
      retry_.arm_after_ms(100);
      return;
    }
    log::error("accept: {}", strerror(errno));
    return;
  }
  loop_.defer([this] { accept_some(); });
}

// ---- worker ----

Worker::Worker(int index, gateway::StatsRegistry& stats, std::shared_ptr<const gateway::Snapshot> snapshot,
               std::vector<int> listen_fds, upstream::OutlierSink* outliers, auth::JwksFetcher* jwks,
               functions::FunctionHost* functions, auth::AuthorizerBackend* authorizers,
               std::function<void(int)> on_drained, std::function<void(int)> on_exit)
    : index_(index),
      stats_(stats),
      outliers_(outliers),
      functions_(functions),
      mirrors_(loop_),
      auth_(loop_, jwks, authorizers),
      limiter_(loop_, stats),
      filter_services_{&loop_, &auth_, &limiter_},
      access_log_(loop_),
      shutdown_timer_(loop_, [this] {
        log::warn("worker {}: shutdown timeout, closing {} connections", index_, connection_count_);
        while (connections_ != nullptr) connections_->close_now_for_shutdown();
      }),
      on_drained_(std::move(on_drained)),
      on_exit_(std::move(on_exit)) {
  if (functions_ != nullptr) functions_->add_home(loop_);
  apply(std::move(snapshot));
  for (int fd : listen_fds) {
    listeners_.push_back(std::make_unique<Listener>(loop_, fd, [this](int cfd, const sockaddr_storage& peer) {
      accept(cfd, peer);
    }));
  }
}

Worker::~Worker() {
  join();
  if (functions_ != nullptr) functions_->stop_home(loop_);  // a worker that never ran
  while (connections_ != nullptr) connections_->close_now_for_shutdown();
  // Tear down in dependency order, and let work they deferred run while its owners
  // still exist (the loop's destructor would run it after they are gone).
  mirrors_.close_all();
  upstream_states_.clear();
  listeners_.clear();
  loop_.run_pending();
}

void Worker::start() {
  thread_ = std::thread([this] {
    set_stats_slot(index_);
    loop_.run();
    if (functions_ != nullptr) functions_->stop_home(loop_);  // (done already by finish())
    listeners_.clear();
    mirrors_.close_all();
    for (auto& [name, u] : upstream_states_) u->close_idle();
    access_log_.flush();
    if (on_exit_) on_exit_(index_);
  });
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::install(std::shared_ptr<const gateway::Snapshot> snapshot) {
  loop_.post([this, s = std::move(snapshot)]() mutable { apply(std::move(s)); });
}

void Worker::shutdown(int64_t timeout_ms) {
  loop_.post([this, timeout_ms] { begin_shutdown(timeout_ms); });
}

void Worker::finish() {
  loop_.post([this] {
    if (functions_ != nullptr) functions_->stop_home(loop_);
    loop_.stop();
  });
}

void Worker::drained() {
  if (drained_) return;
  drained_ = true;
  shutdown_timer_.cancel();
  if (on_drained_) on_drained_(index_);
}

void Worker::on_thread(std::function<void()> fn) {
  // Before the thread starts (start-up) nothing else touches the worker, and what is
  // applied must be in place before it accepts its first connection.
  if (thread_.joinable()) loop_.post(std::move(fn));
  else fn();
}

void Worker::update_endpoints(const std::string& upstream, std::shared_ptr<const upstream::EndpointSet> set) {
  on_thread([this, upstream, s = std::move(set)]() mutable {
    // The upstream's stats object is the one its config names; create the state now if
    // the set arrives before the config that uses it.
    auto it = upstream_states_.find(upstream);
    if (it == upstream_states_.end()) {
      upstream_state(upstream, stats_.upstream(upstream)).update(std::move(s));
    } else {
      it->second->update(std::move(s));
    }
  });
}

void Worker::update_jwks(const std::string& url, std::shared_ptr<const auth::RemoteKeys> keys) {
  on_thread([this, url, k = std::move(keys)]() mutable { auth_.update_jwks(url, std::move(k)); });
}

upstream::WorkerUpstream& Worker::upstream_state(const std::string& name, gateway::UpstreamStats* stats) {
  auto& slot = upstream_states_[name];
  if (!slot) slot = std::make_unique<upstream::WorkerUpstream>(loop_, name, stats);
  return *slot;
}

void Worker::apply(std::shared_ptr<const gateway::Snapshot> snapshot) {
  snapshot_ = std::move(snapshot);
  const config::Config& cfg = *snapshot_->config;
  upstreams_.clear();
  for (size_t u = 0; u < cfg.upstreams.size(); ++u) {
    upstreams_.push_back(&upstream_state(cfg.upstreams[u].name, snapshot_->upstream_stats[u]));
  }
  limiter_.prepare(cfg);
}

void Worker::accept(int fd, const sockaddr_storage& peer) {
  if (shutting_down_) {
    ::close(fd);
    return;
  }
  net::set_nodelay(fd);
  auto* c = new Connection(loop_, fd, peer, *this);
  stats_.server.local().accepted.add();
  c->start();
}

std::unique_ptr<gateway::Handler> Worker::dispatch(gateway::Downstream& ds, gateway::RequestContext& ctx) {
  const gateway::Snapshot& snap = *ctx.snapshot;
  const config::Config& cfg = *snap.config;
  const http::RequestHead& req = *ctx.request;
  if (answer_preflight(ds, ctx)) return nullptr;
  if (!cfg.router.match(req.host, req.method, ctx.path, ctx.match)) {
    ctx.route_stats = snap.unmatched_stats;
    if (ctx.match.method_not_allowed) {
      ds.send_error(405, fmt::format("method {} is not allowed for {}", req.method, ctx.path),
                    fmt::format("Allow: {}\r\n", ctx.match.allow));
    } else {
      ds.send_error(404, fmt::format("no route for {} {}", req.method, ctx.path));
    }
    return nullptr;
  }
  size_t index = static_cast<size_t>(ctx.match.route);
  ctx.route = &cfg.routes[index];
  ctx.route_stats = snap.route_stats[index];
  const filters::RouteChain& chain = filters::route_chain(snap, index);
  if (!chain.empty()) return std::make_unique<filters::FilterChain>(ds, ctx, chain, filter_services_, *this);
  return make_terminal(ds, ctx);
}

std::unique_ptr<gateway::Handler> Worker::make_terminal(gateway::Downstream& ds, gateway::RequestContext& ctx) {
  switch (ctx.route->kind) {
    case config::Route::Kind::kUpstream:
      return proxy::make_proxy_handler(ds, ctx, *this);
    case config::Route::Kind::kRespond:
      return gateway::make_respond_handler(ds, ctx.route->respond);
    case config::Route::Kind::kEcho:
      return gateway::make_echo_handler(ds, ctx);
    case config::Route::Kind::kFunction:
      if (functions_ == nullptr) {
        ds.send_error(503, "functions are not running in this process");
        return nullptr;
      }
      return functions::make_function_handler(ds, ctx, *functions_, loop_);
    case config::Route::Kind::kAggregate: {
      const aggregate::RoutePlan* plan =
          aggregate::route_plan(*ctx.snapshot, static_cast<size_t>(ctx.match.route));
      if (plan == nullptr) {
        ds.send_error(500, "the route's aggregate plan is missing");
        return nullptr;
      }
      return aggregate::make_aggregate_handler(ds, ctx, *plan, *this, loop_);
    }
    case config::Route::Kind::kSteps:
      if (functions_ == nullptr) {
        ds.send_error(503, "functions are not running in this process");
        return nullptr;
      }
      return steps::make_steps_handler(
          ds, ctx,
          filters::route_chain(*ctx.snapshot, static_cast<size_t>(ctx.match.route)).step_schemas,
          *functions_, loop_);
  }
  return nullptr;
}

// A CORS preflight (OPTIONS with Origin and Access-Control-Request-Method) for a route
// that has CORS is answered here, matched on the method it asks about: before
// authentication, since browsers send preflights without credentials.
bool Worker::answer_preflight(gateway::Downstream& ds, gateway::RequestContext& ctx) {
  const http::RequestHead& req = *ctx.request;
  if (req.method != "OPTIONS") return false;
  const http::Header* origin = http::find_header(req.headers, "origin");
  const http::Header* method = http::find_header(req.headers, "access-control-request-method");
  if (origin == nullptr || method == nullptr) return false;
  const gateway::Snapshot& snap = *ctx.snapshot;
  const http::Router& router = snap.config->router;
  http::Router::Match match;
  if (!router.match(req.host, method->value, ctx.path, match)) {
    // A method the path does not take: find the route by one it does take, so the
    // refusal says why (and comes from the route's CORS rules).
    if (!match.method_not_allowed) return false;
    std::string allow = match.allow;
    bool found = false;
    for (std::string_view m : split(allow, ',')) {
      if (router.match(req.host, trim(m), ctx.path, match)) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  const config::Route& route = snap.config->routes[static_cast<size_t>(match.route)];
  if (!route.cors.enabled) return false;
  ctx.match = match;
  ctx.route = &route;
  ctx.route_stats = snap.route_stats[static_cast<size_t>(match.route)];
  const http::Header* headers = http::find_header(req.headers, "access-control-request-headers");
  std::string out, why;
  if (!auth::preflight(route.cors, route, origin->value, method->value, headers ? headers->value : std::string_view(),
                       out, why)) {
    ds.send_error(403, "CORS preflight refused: " + why);
    return true;
  }
  std::string& h = ds.begin_response(204);
  h += out;
  ds.end_response_head(gateway::BodyMode::kNone);
  ds.finish();
  return true;
}

void Worker::request_done(const gateway::RequestContext& ctx) {
  if (ctx.route_stats != nullptr) {
    ctx.route_stats->counters.local().record(ctx.status, monotonic_ns() - ctx.start_ns);
  }
  if (ctx.snapshot && ctx.snapshot->access_log) access_log_.write(ctx.snapshot->access_log, ctx);
}

void Worker::connection_opened(Connection* c) {
  c->next = connections_;
  if (connections_) connections_->prev = c;
  connections_ = c;
  ++connection_count_;
  stats_.server.local().connections.inc();
}

void Worker::connection_closed(Connection* c) {
  if (c->prev) c->prev->next = c->next;
  else connections_ = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
  --connection_count_;
  stats_.server.local().connections.dec();
  if (shutting_down_ && connection_count_ == 0) drained();
}

void Worker::begin_shutdown(int64_t timeout_ms) {
  shutting_down_ = true;
  for (auto& l : listeners_) l->close();
  for (auto& [name, u] : upstream_states_) u->close_idle();
  for (Connection* c = connections_; c != nullptr; c = c->next) c->drain();
  if (connection_count_ == 0) {
    drained();
    return;
  }
  shutdown_timer_.arm_after_ms(timeout_ms);
}

}  // namespace portico::server
