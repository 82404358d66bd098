// The admin listener (127.0.0.1 by default), served on the main thread:
//   GET  /healthz  200 {"status":"ok"}, or 503 while draining for shutdown
//   GET  /metrics  Prometheus text format
//   GET  /config   the effective config as JSON (secrets redacted)
//   GET  /upstreams every upstream's endpoints: discovery, health, ejections
//   POST /reload   reload the config file now; 200 or 422 with the errors
//   /2015-03-31/functions/...  Lambda's API as on the services listener, unsigned: the
//                  admin listener is trusted (loopback); `portico invoke` uses it
//   GET    /dead-letters         asynchronous events that failed for good, as Lambda's
//                                on-failure destination records (?function= ?id= ?limit=)
//   POST   /dead-letters/replay  runs them again as new events (same filters)
//   DELETE /dead-letters         removes them (same filters); `portico dlq` uses these
//   GET    /logs/{function}      the function's log lines (?start=EPOCH_MS ?after=SEQ
//                                ?limit=N); `portico logs` uses it
#pragma once

#include <memory>
#include <string>

#include "async/async_invoker.h"
#include "functions/host.h"
#include "logs/log_store.h"
#include "gateway/snapshot.h"
#include "net/event_loop.h"
#include "server/loop_server.h"

namespace portico::admin {

struct ReloadResult {
  bool ok = false;
  uint64_t generation = 0;
  std::string errors;  // one diagnostic per line when !ok
};

// What admin needs from the process that runs it.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual const std::shared_ptr<const gateway::Snapshot>& current_snapshot() = 0;
  virtual gateway::StatsRegistry& stats() = 0;
  virtual ReloadResult reload(const char* trigger) = 0;
  virtual std::string upstreams_json() = 0;
  virtual bool draining() const = 0;
  virtual functions::FunctionHost* functions() = 0;
  virtual async::AsyncInvoker* async_invoker() = 0;
  virtual logs::LogStore* log_store() = 0;
};

class AdminServer final : public server::LoopServer {
 public:
  AdminServer(net::EventLoop& loop, Backend& backend, int listen_fd);

  const std::shared_ptr<const gateway::Snapshot>& current_snapshot() override {
    return backend_.current_snapshot();
  }
  std::unique_ptr<gateway::Handler> dispatch(gateway::Downstream& ds, gateway::RequestContext& ctx) override;

 private:
  std::unique_ptr<gateway::Handler> function_logs(gateway::Downstream& ds,
                                                  gateway::RequestContext& ctx);
  std::unique_ptr<gateway::Handler> dead_letters(gateway::Downstream& ds,
                                                 gateway::RequestContext& ctx);
  Backend& backend_;
};

}  // namespace portico::admin
