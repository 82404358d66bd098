// DNS discovery: A and/or AAAA records on a configured port, or SRV records (the
// lowest-priority group, weights from the records, each target resolved to its
// addresses), looked up asynchronously (client::Resolver). Re-resolved when the
// answer's TTL runs out, clamped to [min_ttl, max_ttl]; on failure the last list stays
// and the lookup is retried.
#pragma once

#include <memory>
#include <vector>

#include "client/resolver.h"
#include "discovery/source.h"

namespace portico::discovery {

class DnsSource final : public Source {
 public:
  DnsSource(net::EventLoop& loop, config::DnsDiscovery config, Callbacks callbacks);
  void start() override;
  std::string describe() const override;

 private:
  void resolve();
  void lookup_addresses(const std::string& name, uint16_t port, uint32_t weight, int family);
  void on_srv(int status, const unsigned char* abuf, int alen);
  void lookup_finished();
  void retry_later();

  config::DnsDiscovery config_;
  Callbacks callbacks_;
  client::Resolver resolver_;
  net::Timer refresh_;  // next lookup round

  // The round in progress.
  uint64_t round_ = 0;
  int outstanding_ = 0;
  int64_t min_ttl_s_ = -1;
  std::vector<DiscoveredEndpoint> found_;
  std::string round_error_;
};

}  // namespace portico::discovery
