#include "client/resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace portico::client {
namespace {

constexpr int kTypeSrv = 33;
constexpr int kClassIn = 1;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

// What a pending lookup carries into c-ares' C callback.
template <typename Callback>
struct Pending {
  std::shared_ptr<bool> alive;  // false once the Resolver is gone (or going)
  uint16_t port = 0;
  Callback callback;
};

}  // namespace

// One c-ares socket registered with the loop (level-triggered: c-ares reads one packet
// per call and expects to be called again while more wait).
class Resolver::Socket final : public net::IoHandler {
 public:
  Socket(Resolver& owner, ares_socket_t fd) : owner_(owner), fd_(fd) {}
  void on_io(uint32_t events) override {
    if (gone_) return;
    bool r = events & (EPOLLIN | EPOLLERR | EPOLLHUP);
    bool w = events & EPOLLOUT;
    owner_.process(r ? fd_ : ARES_SOCKET_BAD, w ? fd_ : ARES_SOCKET_BAD);
  }
  Resolver& owner_;
  ares_socket_t fd_;
  bool gone_ = false;
};

Resolver::Resolver(net::EventLoop& loop, Options options)
    : loop_(loop), timer_(loop, [this] { process(ARES_SOCKET_BAD, ARES_SOCKET_BAD); }), alive_(std::make_shared<bool>(true)) {
  init_library();
  ares_options opts{};
  opts.sock_state_cb = [](void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<Resolver*>(data)->socket_state(fd, readable != 0, writable != 0);
  };
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(std::max<int64_t>(100, options.timeout_ms / 2));  // per try; two tries
  opts.tries = 2;
  int rc = ares_init_options(&channel_, &opts, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    init_error_ = fmt::format("cannot start the DNS resolver: {}", ares_strerror(rc));
    channel_ = nullptr;
    return;
  }
  if (!options.servers.empty()) {
    std::string csv;
    for (const auto& s : options.servers) {
      if (!csv.empty()) csv += ',';
      csv += s.to_string();
    }
    rc = ares_set_servers_ports_csv(channel_, csv.c_str());
    if (rc != ARES_SUCCESS) init_error_ = fmt::format("bad DNS servers \"{}\": {}", csv, ares_strerror(rc));
  }
}

Resolver::~Resolver() {
  *alive_ = false;
  if (channel_ != nullptr) ares_destroy(channel_);  // pending callbacks run now, and see alive == false
  for (auto& [fd, s] : sockets_) {
    s->gone_ = true;
    loop_.release(s);
  }
}

void Resolver::resolve(const std::string& name, int family, uint16_t port, AddressCallback callback) {
  // An IP literal needs no lookup.
  if (auto literal = net::parse_address(name.find(':') != std::string::npos ? "[" + name + "]:" + std::to_string(port)
                                                                            : name + ":" + std::to_string(port),
                                        false)) {
    Addresses a;
    a.addresses.push_back(*literal);
    loop_.defer([cb = std::move(callback), a = std::move(a), alive = alive_]() mutable {
      if (*alive) cb(ARES_SUCCESS, std::move(a));
    });
    return;
  }
  if (!init_error_.empty()) {
    loop_.defer([cb = std::move(callback), alive = alive_] {
      if (*alive) cb(ARES_ENOTINITIALIZED, {});
    });
    return;
  }
  auto* pending = new Pending<AddressCallback>{alive_, port, std::move(callback)};
  ares_addrinfo_hints hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(
      channel_, name.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* result) {
        std::unique_ptr<Pending<AddressCallback>> p(static_cast<Pending<AddressCallback>*>(arg));
        Addresses out;
        if (status == ARES_SUCCESS && result != nullptr) {
          for (auto* n = result->nodes; n; n = n->ai_next) {
            net::Address a;
            if (n->ai_family == AF_INET) {
              memcpy(&a.storage, n->ai_addr, sizeof(sockaddr_in));
              reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(p->port);
              a.len = sizeof(sockaddr_in);
            } else if (n->ai_family == AF_INET6) {
              memcpy(&a.storage, n->ai_addr, sizeof(sockaddr_in6));
              reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(p->port);
              a.len = sizeof(sockaddr_in6);
            } else {
              continue;
            }
            if (out.min_ttl_s < 0 || n->ai_ttl < out.min_ttl_s) out.min_ttl_s = n->ai_ttl;
            out.addresses.push_back(a);
          }
        }
        if (result) ares_freeaddrinfo(result);
        if (status == ARES_EDESTRUCTION || !*p->alive) return;
        if (status == ARES_SUCCESS && out.addresses.empty()) status = ARES_ENODATA;
        p->callback(status, std::move(out));
      },
      pending);
  arm_timer();
}

void Resolver::query_srv(const std::string& name, SrvCallback callback) {
  if (!init_error_.empty()) {
    loop_.defer([cb = std::move(callback), alive = alive_] {
      if (*alive) cb(ARES_ENOTINITIALIZED, nullptr, 0);
    });
    return;
  }
  auto* pending = new Pending<SrvCallback>{alive_, 0, std::move(callback)};
  ares_query(
      channel_, name.c_str(), kClassIn, kTypeSrv,
      [](void* arg, int status, int, unsigned char* abuf, int alen) {
        std::unique_ptr<Pending<SrvCallback>> p(static_cast<Pending<SrvCallback>*>(arg));
        if (status == ARES_EDESTRUCTION || !*p->alive) return;
        p->callback(status, abuf, alen);
      },
      pending);
  arm_timer();
}

void Resolver::socket_state(ares_socket_t fd, bool readable, bool writable) {
  auto it = sockets_.find(fd);
  if (it != sockets_.end()) {
    loop_.unwatch(fd);
    if (!readable && !writable) {
      it->second->gone_ = true;
      loop_.release(it->second);  // it may be the handler running now
      sockets_.erase(it);
      return;
    }
  } else {
    if (!readable && !writable) return;
    it = sockets_.emplace(fd, new Socket(*this, fd)).first;
  }
  uint32_t events = (readable ? uint32_t{EPOLLIN} : 0u) | (writable ? uint32_t{EPOLLOUT} : 0u);
  loop_.watch(fd, it->second, events);
}

void Resolver::process(ares_socket_t read_fd, ares_socket_t write_fd) {
  if (channel_ == nullptr || !*alive_) return;
  ares_process_fd(channel_, read_fd, write_fd);
  arm_timer();
}

void Resolver::arm_timer() {
  if (channel_ == nullptr) return;
  timeval tv;
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    timer_.cancel();
    return;
  }
  timer_.arm_after_ms(static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000 + 1);
}

}  // namespace portico::client
