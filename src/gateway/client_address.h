// Who the client is when Portico sits behind other proxies (a cloud load balancer, a
// CDN): the TCP peer, unless it is a trusted proxy, in which case X-Forwarded-For is
// read from the right, past every trusted proxy, to the first address that is not one.
// Addresses to the left of that one were written by the client itself and are never
// believed, so a client cannot choose its own address (and rate-limit bucket) by
// sending the header.
#pragma once

#include <vector>

#include "http/parser.h"
#include "net/ip_range.h"

namespace portico::gateway {

// An entry that is not an IP address stops the walk: the last address read (a trusted
// proxy, or the peer) is the client then.
net::IpBytes client_address(const net::IpBytes& peer, const std::vector<net::IpRange>& trusted,
                            const http::RequestHead& request);

}  // namespace portico::gateway
