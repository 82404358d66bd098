// TCP socket helpers: address parsing/formatting, listening sockets (one per worker,
// SO_REUSEPORT), non-blocking connects, and scatter writes without SIGPIPE.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace portico::net {

struct Address {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  int family() const { return storage.ss_family; }
  uint16_t port() const;
  std::string ip() const;
  std::string to_string() const;  // "1.2.3.4:80" or "[::1]:80"
};

// "host:port", "[v6]:port" or ":port" (all interfaces). With resolve, host names are
// looked up (blocking: only for config loading); without, only IP literals are accepted.
Result<Address> parse_address(std::string_view text, bool resolve);

// A bound, listening, non-blocking socket.
Result<int> listen_tcp(const Address& addr, bool reuse_port, int backlog = 4096);
Address local_address(int fd);

// Starts a non-blocking connect. Returns the fd (connect in progress or done) or an error.
Result<int> connect_tcp(const Address& addr);
// After the socket became writable: 0 if connected, else the errno of the failure.
int connect_result(int fd);

void set_nodelay(int fd);

// writev with MSG_NOSIGNAL; returns bytes written or -1 with errno.
ssize_t send_iov(int fd, const iovec* iov, int count);
ssize_t send_all_nosignal(int fd, const char* data, size_t len);

// The text of the IP of a peer address (no port), written into out; returns the length.
size_t format_ip(const sockaddr_storage& addr, char* out, size_t cap);

}  // namespace portico::net
