// The `services:` listener, where Portico's AWS-compatible APIs live. Every request
// must be signed with SigV4 by a configured access key or a function's own key; the
// service named in the signature's credential scope picks the API (only `lambda`
// today; the managed services join here). Served on the main thread, like admin.
#pragma once

#include <memory>

#include "async/async_invoker.h"
#include "functions/host.h"
#include "net/event_loop.h"
#include "server/loop_server.h"

namespace portico::services {

// Who signed a request.
struct Caller {
  std::string access_key_id;
  std::string function;  // the calling function, for a function's own key; empty otherwise
};

class ServicesServer final : public server::LoopServer {
 public:
  // snapshot: the running config (the main thread's current one, read at each request).
  ServicesServer(net::EventLoop& loop, const std::shared_ptr<const gateway::Snapshot>& snapshot,
                 functions::FunctionHost& functions, async::AsyncInvoker* async, int listen_fd);

  const std::shared_ptr<const gateway::Snapshot>& current_snapshot() override { return snapshot_; }
  std::unique_ptr<gateway::Handler> dispatch(gateway::Downstream& ds,
                                             gateway::RequestContext& ctx) override;

  // After the request's body is read: authenticates and serves it.
  std::unique_ptr<gateway::Handler> serve(gateway::Downstream& ds, gateway::RequestContext& ctx,
                                          std::string body);

 private:
  const std::shared_ptr<const gateway::Snapshot>& snapshot_;
  functions::FunctionHost& functions_;
  async::AsyncInvoker* async_;
};

}  // namespace portico::services
