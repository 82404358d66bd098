// DNS discovery (c-ares, asynchronous on the main loop): A and/or AAAA records on a
// configured port, or SRV records (the lowest-priority group, weights from the records,
// each target resolved to its addresses). Re-resolved when the answer's TTL runs out,
// clamped to [min_ttl, max_ttl]; on failure the last list stays and the lookup is retried.
#pragma once

#include <ares.h>

#include <map>
#include <memory>
#include <vector>

#include "discovery/source.h"

namespace portico::discovery {

class DnsSource final : public Source {
 public:
  DnsSource(net::EventLoop& loop, config::DnsDiscovery config, Callbacks callbacks);
  ~DnsSource() override;
  void start() override;
  std::string describe() const override;

 private:
  class Socket;
  struct Lookup;

  void resolve();
  void lookup_addresses(const std::string& name, uint16_t port, uint32_t weight, int family);
  void on_srv(int status, const unsigned char* abuf, int alen);
  void on_addresses(Lookup& lookup, int status, ares_addrinfo* result);
  void lookup_finished();
  void retry_later();
  void socket_state(ares_socket_t fd, bool readable, bool writable);
  void process(ares_socket_t read_fd, ares_socket_t write_fd);
  void arm_ares_timer();

  net::EventLoop& loop_;
  config::DnsDiscovery config_;
  Callbacks callbacks_;
  ares_channel channel_ = nullptr;
  std::string init_error_;
  std::map<ares_socket_t, Socket*> sockets_;
  net::Timer refresh_;    // next lookup round
  net::Timer ares_timer_;  // c-ares's own retransmission timeouts
  bool destroying_ = false;

  // The round in progress.
  uint64_t round_ = 0;
  int outstanding_ = 0;
  int64_t min_ttl_s_ = 0;
  std::vector<DiscoveredEndpoint> found_;
  std::string round_error_;
};

}  // namespace portico::discovery
