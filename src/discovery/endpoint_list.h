// Endpoint lists as files and etcd values hold them, in YAML or JSON:
//
//   - 10.0.0.5:8080                              a list of addresses...
//   - {address: 10.0.0.6:8080, weight: 3}        ...or of {address, weight}
//   - {host: 10.0.0.7, port: 8080}               ...or {host, port, weight}
//   {endpoints: [...]}                            the same list under a key
//   {nodes: {"10.0.0.5:8080": 1}}                 APISIX upstream nodes (map or list)
//   10.0.0.5:8080                                 one endpoint (an etcd value per key)
//
// Addresses must be IP literals (or localhost): host names belong to DNS discovery, and
// resolving them here would block the main thread.
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "discovery/source.h"

namespace portico::discovery {

Result<std::vector<DiscoveredEndpoint>> parse_endpoint_list(std::string_view text);

}  // namespace portico::discovery
