// Request mirroring (shadow traffic): a copy of a request goes to another upstream and
// its response is read and dropped. A copy never delays or fails the real request: it
// starts only once the body is known, never waits for a connection slot, and is dropped
// (and counted) when the shadow upstream is at its limits.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/context.h"
#include "net/event_loop.h"
#include "upstream/passive_health.h"
#include "upstream/worker_upstream.h"

namespace portico::proxy {

class MirrorRequest;

// One per worker: owns the copies in flight.
class MirrorTracker {
 public:
  explicit MirrorTracker(net::EventLoop& loop);
  ~MirrorTracker();

  // Sends a copy of ctx's request (with `body`, complete) to an endpoint of `target`.
  void launch(upstream::WorkerUpstream& target, const config::Upstream& config, const gateway::RequestContext& ctx,
              std::string_view body, upstream::OutlierSink* sink);
  void close_all();  // shutdown
  size_t in_flight() const { return active_.size(); }

 private:
  friend class MirrorRequest;
  void finished(MirrorRequest* m);

  net::EventLoop& loop_;
  std::vector<std::unique_ptr<MirrorRequest>> active_;
  std::vector<std::unique_ptr<MirrorRequest>> done_;  // freed after the current event
  bool sweep_queued_ = false;
};

}  // namespace portico::proxy
