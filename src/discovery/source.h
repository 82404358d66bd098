// Service discovery: where an upstream's endpoints come from when they are not a static
// list. A source runs on the main thread's loop and reports complete endpoint lists, or
// errors (after which the manager keeps the last known list: losing a source never
// empties an upstream).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "net/event_loop.h"
#include "net/socket.h"

namespace portico::discovery {

struct DiscoveredEndpoint {
  net::Address address;
  std::string text;  // "10.0.0.5:8080"
  uint32_t weight = 1;
};

class Source {
 public:
  struct Callbacks {
    std::function<void(std::vector<DiscoveredEndpoint>)> on_update;  // the complete current list
    std::function<void(std::string)> on_error;                       // why the list could not be had
  };
  virtual ~Source() = default;  // no callbacks after destruction
  virtual void start() = 0;
  virtual std::string describe() const = 0;  // "dns _http._tcp.orders.internal SRV"
};

std::unique_ptr<Source> make_source(net::EventLoop& loop, const config::Discovery& discovery, Source::Callbacks callbacks);

}  // namespace portico::discovery
