#include "server/loop_server.h"

namespace portico::server {

LoopServer::LoopServer(net::EventLoop& loop, int listen_fd) : loop_(loop) {
  listener_ =
      std::make_unique<Listener>(loop_, listen_fd, [this](int fd, const sockaddr_storage& peer) {
        auto* c = new Connection(loop_, fd, peer, *this);
        c->start();
      });
}

LoopServer::~LoopServer() { close_all(); }

void LoopServer::close_all() {
  listener_.reset();
  while (connections_ != nullptr) connections_->close_now_for_shutdown();
}

void LoopServer::connection_opened(Connection* c) {
  c->next = connections_;
  if (connections_) connections_->prev = c;
  connections_ = c;
}

void LoopServer::connection_closed(Connection* c) {
  if (c->prev)
    c->prev->next = c->next;
  else
    connections_ = c->next;
  if (c->next) c->next->prev = c->prev;
  c->prev = c->next = nullptr;
}

}  // namespace portico::server
