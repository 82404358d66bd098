// A worker thread: its own event loop, its own SO_REUSEPORT listening sockets, its own
// connections and upstream pools. It routes each request to a terminal (dispatch), and
// keeps metrics and the access log for what it served. Other threads reach it only
// through post(): a new config snapshot, or the order to drain and stop.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unordered_map>

#include "auth/remote_keys.h"
#include "auth/worker_auth.h"
#include "functions/host.h"
#include "gateway/snapshot.h"
#include "net/event_loop.h"
#include "proxy/mirror.h"
#include "proxy/proxy.h"
#include "server/connection.h"
#include "filters/chain.h"
#include "ratelimit/worker_limiter.h"
#include "upstream/endpoint_set.h"
#include "upstream/worker_upstream.h"

namespace portico::server {

// Buffers access-log lines and writes them once per loop iteration.
class AccessLogWriter final : public net::Flushable {
 public:
  explicit AccessLogWriter(net::EventLoop& loop) : loop_(loop) {}
  ~AccessLogWriter() override { flush(); }
  void write(const std::shared_ptr<gateway::LogFile>& file, const gateway::RequestContext& ctx);
  void flush() override;

 private:
  net::EventLoop& loop_;
  std::shared_ptr<gateway::LogFile> file_;
  std::string buffer_;
};

class Listener final : public net::IoHandler {
 public:
  using OnAccept = std::function<void(int fd, const sockaddr_storage& peer)>;
  Listener(net::EventLoop& loop, int fd, OnAccept on_accept);
  ~Listener() override;
  void on_io(uint32_t events) override;
  void close();

 private:
  void accept_some();
  net::EventLoop& loop_;
  int fd_;
  OnAccept on_accept_;
  net::Timer retry_;
  int64_t last_warning_ms_ = -1'000'000;
};

class Worker final : public Dispatcher, public proxy::ProxyEnv, public filters::TerminalFactory {
 public:
  Worker(int index, gateway::StatsRegistry& stats, std::shared_ptr<const gateway::Snapshot> snapshot,
         std::vector<int> listen_fds, upstream::OutlierSink* outliers, auth::JwksFetcher* jwks,
         functions::FunctionHost* functions, auth::AuthorizerBackend* authorizers,
         std::function<void(int)> on_drained, std::function<void(int)> on_exit);
  ~Worker() override;

  void start();
  void join();
  // Thread-safe.
  void install(std::shared_ptr<const gateway::Snapshot> snapshot);
  // Thread-safe: a new endpoint set for an upstream (from the main thread's manager).
  void update_endpoints(const std::string& upstream, std::shared_ptr<const upstream::EndpointSet> set);
  // Thread-safe: new signing keys from a JWKS URL.
  void update_jwks(const std::string& url, std::shared_ptr<const auth::RemoteKeys> keys);
  // Thread-safe: stops taking connections and finishes those it has (up to timeout_ms),
  // then tells on_drained. The loop keeps running for the functions whose home it is
  // (requests on other workers may still invoke them) until finish().
  void shutdown(int64_t timeout_ms);
  // Thread-safe, after every worker has drained: stops the functions living here and the
  // loop; on_exit follows from the worker's thread.
  void finish();

  // Dispatcher
  const std::shared_ptr<const gateway::Snapshot>& current_snapshot() override { return snapshot_; }
  std::unique_ptr<gateway::Handler> dispatch(gateway::Downstream& ds, gateway::RequestContext& ctx) override;
  void request_done(const gateway::RequestContext& ctx) override;
  gateway::ServerCounters& counters() override { return stats_.server.local(); }
  void connection_opened(Connection* c) override;
  void connection_closed(Connection* c) override;

  // proxy::ProxyEnv
  upstream::WorkerUpstream& upstream(int index) override { return *upstreams_[static_cast<size_t>(index)]; }
  upstream::OutlierSink* outlier_sink() override { return outliers_; }
  proxy::MirrorTracker& mirrors() override { return mirrors_; }

  // TerminalFactory
  std::unique_ptr<gateway::Handler> make_terminal(gateway::Downstream& ds, gateway::RequestContext& ctx) override;

 private:
  upstream::WorkerUpstream& upstream_state(const std::string& name, gateway::UpstreamStats* stats);
  bool answer_preflight(gateway::Downstream& ds, gateway::RequestContext& ctx);
  // Runs fn on the worker's thread: directly before it starts, posted after.
  void on_thread(std::function<void()> fn);
  void apply(std::shared_ptr<const gateway::Snapshot> snapshot);
  void begin_shutdown(int64_t timeout_ms);
  void accept(int fd, const sockaddr_storage& peer);

  int index_;
  gateway::StatsRegistry& stats_;
  net::EventLoop loop_;
  upstream::OutlierSink* outliers_;
  functions::FunctionHost* functions_;
  // Per upstream name, for the life of the worker (requests in flight keep pointers).
  std::unordered_map<std::string, std::unique_ptr<upstream::WorkerUpstream>> upstream_states_;
  std::shared_ptr<const gateway::Snapshot> snapshot_;
  std::vector<upstream::WorkerUpstream*> upstreams_;  // by upstream index in snapshot_
  proxy::MirrorTracker mirrors_;
  auth::WorkerAuth auth_;
  ratelimit::WorkerLimiter limiter_;
  filters::WorkerServices filter_services_;  // what the route filters use on this worker
  std::vector<std::unique_ptr<Listener>> listeners_;
  AccessLogWriter access_log_;
  Connection* connections_ = nullptr;
  size_t connection_count_ = 0;
  bool shutting_down_ = false;
  net::Timer shutdown_timer_;
  void drained();
  std::function<void(int)> on_drained_;
  std::function<void(int)> on_exit_;
  bool drained_ = false;
  std::thread thread_;
};

}  // namespace portico::server
