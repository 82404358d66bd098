// A listener served on one event loop by one Dispatcher (the admin and services
// listeners on the main thread): accepts connections, keeps the list of open ones, and
// closes them all at shutdown. Subclasses implement dispatch().
#pragma once

#include <memory>

#include "server/connection.h"
#include "server/worker.h"

namespace portico::server {

class LoopServer : public Dispatcher {
 public:
  LoopServer(net::EventLoop& loop, int listen_fd);
  ~LoopServer() override;
  void close_all();

  void request_done(const gateway::RequestContext&) override {}
  gateway::ServerCounters& counters() override {
    return counters_;
  }  // kept out of the gateway's metrics
  void connection_opened(Connection* c) override;
  void connection_closed(Connection* c) override;

 protected:
  net::EventLoop& loop_;

 private:
  gateway::ServerCounters counters_;
  std::unique_ptr<Listener> listener_;
  Connection* connections_ = nullptr;
};

}  // namespace portico::server
