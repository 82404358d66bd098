// The process: loads the config, binds the listeners, starts the workers and the admin
// listener, and then runs the main thread's loop, which handles signals (SIGHUP reload,
// SIGTERM/SIGINT graceful shutdown), config file changes and admin requests.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "admin/admin.h"
#include "net/file_watcher.h"
#include "config/config.h"
#include "gateway/snapshot.h"
#include "net/event_loop.h"
#include "server/worker.h"
#include "auth/jwks_manager.h"
#include "async/async_invoker.h"
#include "functions/authorizer.h"
#include "functions/host.h"
#include "services/services_server.h"
#include "ratelimit/registry.h"
#include "upstream/manager.h"

namespace portico::app {

struct Options {
  std::string config_path = "portico.yaml";
  std::string log_level;  // overrides server.log_level when set
  bool watch = true;      // reload when the config file changes
};

class Server final : public admin::Backend {
 public:
  explicit Server(Options options);
  ~Server() override;

  // Runs until shut down; returns the process exit code.
  int run();

  // admin::Backend
  const std::shared_ptr<const gateway::Snapshot>& current_snapshot() override { return current_; }
  gateway::StatsRegistry& stats() override { return *stats_; }
  admin::ReloadResult reload(const char* trigger) override;
  std::string upstreams_json() override { return upstreams_->status_json(); }
  bool draining() const override { return draining_; }
  functions::FunctionHost* functions() override { return functions_.get(); }
  async::AsyncInvoker* async_invoker() override { return async_.get(); }
  logs::LogStore* log_store() override { return logs_.get(); }

 private:
  class SignalHandler;
  bool start();
  void apply_log_level(const config::Config& c);
  void begin_shutdown(bool interactive);
  void worker_drained();
  void worker_exited();
  void watch_other_files(const config::Config& c);

  Options options_;
  net::EventLoop loop_;
  std::unique_ptr<gateway::StatsRegistry> stats_;
  std::shared_ptr<const gateway::Snapshot> current_;
  std::string loaded_text_;  // the file as last loaded, to skip reloads that change nothing
  uint64_t generation_ = 0;
  std::unique_ptr<upstream::UpstreamManager> upstreams_;  // outlives the workers that report to it
  std::unique_ptr<auth::JwksManager> jwks_;               // likewise
  std::unique_ptr<logs::LogStore> logs_;                  // the functions' output; outlives them
  std::unique_ptr<functions::FunctionHost> functions_;    // outlives the workers that invoke it
  std::unique_ptr<functions::Authorizers> authorizers_;   // likewise
  std::unique_ptr<async::AsyncInvoker> async_;            // Event invocations (stored, retried)
  ratelimit::Registry limits_;                            // rate-limit stores and quota book, by config
  std::vector<std::unique_ptr<server::Worker>> workers_;
  std::unique_ptr<admin::AdminServer> admin_;
  std::unique_ptr<services::ServicesServer> services_;
  std::unique_ptr<SignalHandler> signals_;
  std::unique_ptr<net::FileWatcher> watcher_;
  std::map<std::string, std::unique_ptr<net::FileWatcher>> other_watchers_;  // files the config reads, by path
  int workers_running_ = 0;
  size_t workers_drained_ = 0;
  bool draining_ = false;
};

// `portico check FILE`: the same load path as run and reload, without serving.
int check_config(const std::string& path);

}  // namespace portico::app
