// Asynchronous DNS (c-ares) on an event loop: address lookups (with TTLs) and SRV
// queries, never blocking the loop. Used by DNS discovery and to find the hosts of the
// requests Portico makes itself (a JWKS URL's host may change address at any time).
#pragma once

#include <ares.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "net/event_loop.h"
#include "net/socket.h"

namespace portico::client {

class Resolver {
 public:
  struct Options {
    std::vector<net::Address> servers;  // empty: the system's (/etc/resolv.conf)
    int64_t timeout_ms = 2'000;         // per lookup, over two tries
  };
  struct Addresses {
    std::vector<net::Address> addresses;  // with the requested port
    int64_t min_ttl_s = -1;               // -1: unknown
  };
  // status is ARES_SUCCESS or a c-ares error (ares_strerror gives the words).
  using AddressCallback = std::function<void(int status, Addresses result)>;
  using SrvCallback = std::function<void(int status, const unsigned char* answer, int length)>;

  Resolver(net::EventLoop& loop, Options options);
  ~Resolver();  // pending lookups are dropped without a callback
  Resolver(const Resolver&) = delete;
  Resolver& operator=(const Resolver&) = delete;

  // Set when the resolver could not be set up; lookups then fail at once.
  const std::string& init_error() const { return init_error_; }

  // A, AAAA or both (family AF_INET, AF_INET6, AF_UNSPEC); an IP literal answers at once.
  void resolve(const std::string& name, int family, uint16_t port, AddressCallback callback);
  void query_srv(const std::string& name, SrvCallback callback);

 private:
  class Socket;
  void socket_state(ares_socket_t fd, bool readable, bool writable);
  void process(ares_socket_t read_fd, ares_socket_t write_fd);
  void arm_timer();

  net::EventLoop& loop_;
  ares_channel channel_ = nullptr;
  std::string init_error_;
  std::map<ares_socket_t, Socket*> sockets_;
  net::Timer timer_;  // c-ares's retransmission timeouts
  std::shared_ptr<bool> alive_;
};

}  // namespace portico::client
