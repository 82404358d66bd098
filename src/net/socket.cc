#include "net/socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace portico::net {

uint16_t Address::port() const {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  if (family() == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  return 0;
}

std::string Address::ip() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  size_t n = format_ip(storage, buf, sizeof buf);
  return std::string(buf, n);
}

std::string Address::to_string() const {
  if (family() == AF_INET6) return fmt::format("[{}]:{}", ip(), port());
  return fmt::format("{}:{}", ip(), port());
}

size_t format_ip(const sockaddr_storage& addr, char* out, size_t cap) {
  const char* r = nullptr;
  if (addr.ss_family == AF_INET) {
    r = inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&addr)->sin_addr, out, cap);
  } else if (addr.ss_family == AF_INET6) {
    r = inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_addr, out, cap);
  }
  return r ? strlen(out) : 0;
}

Result<Address> parse_address(std::string_view text, bool resolve) {
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return Error{fmt::format("invalid address \"{}\": expected [ipv6]:port", text)};
    }
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return Error{fmt::format("invalid address \"{}\": expected host:port", text)};
    }
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return Error{fmt::format("invalid address \"{}\": write IPv6 addresses as [addr]:port", text)};
    }
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos ||
      std::stoul(std::string(port)) > 65535) {
    return Error{fmt::format("invalid address \"{}\": port must be a number from 0 to 65535", text)};
  }
  Address a;
  uint16_t p = static_cast<uint16_t>(std::stoul(std::string(port)));
  std::string h(host.empty() ? "0.0.0.0" : host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(p);
    a.len = sizeof(sockaddr_in);
    return a;
  }
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(p);
    a.len = sizeof(sockaddr_in6);
    return a;
  }
  if (!resolve) return Error{fmt::format("invalid address \"{}\": not an IP address", text)};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  int rc = getaddrinfo(h.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Error{fmt::format("cannot resolve \"{}\": {}", h, gai_strerror(rc))};
  }
  memcpy(&a.storage, res->ai_addr, res->ai_addrlen);
  a.len = res->ai_addrlen;
  freeaddrinfo(res);
  if (a.family() == AF_INET) v4->sin_port = htons(p);
  else v6->sin6_port = htons(p);
  return a;
}

Result<int> listen_tcp(const Address& addr, bool reuse_port, int backlog) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{fmt::format("socket: {}", strerror(errno))};
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.family() == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, addr.sa(), addr.len) != 0) {
    int e = errno;
    close(fd);
    return Error{fmt::format("cannot listen on {}: {}", addr.to_string(), strerror(e))};
  }
  if (listen(fd, backlog) != 0) {
    int e = errno;
    close(fd);
    return Error{fmt::format("listen on {}: {}", addr.to_string(), strerror(e))};
  }
  return fd;
}

Address local_address(int fd) {
  Address a;
  a.len = sizeof a.storage;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a.storage), &a.len);
  return a;
}

Result<int> connect_tcp(const Address& addr) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Error{fmt::format("socket: {}", strerror(errno))};
  set_nodelay(fd);
  if (connect(fd, addr.sa(), addr.len) != 0 && errno != EINPROGRESS) {
    int e = errno;
    close(fd);
    return Error{strerror(e)};
  }
  return fd;
}

int connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

ssize_t send_iov(int fd, const iovec* iov, int count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  return sendmsg(fd, &msg, MSG_NOSIGNAL);
}

ssize_t send_all_nosignal(int fd, const char* data, size_t len) {
  return send(fd, data, len, MSG_NOSIGNAL);
}

}  // namespace portico::net
