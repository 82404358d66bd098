#include "discovery/dns_source.h"

#include "discovery/dns_message.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

namespace portico::discovery {
namespace {

constexpr int kTypeSrv = 33;
constexpr int kClassIn = 1;
constexpr int64_t kRetryMinMs = 1'000;
constexpr int64_t kRetryMaxMs = 10'000;

void init_library() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

}  // namespace

// One c-ares socket registered with the loop (level-triggered: c-ares reads one packet
// per call and expects to be called again while more wait).
class DnsSource::Socket final : public net::IoHandler {
 public:
  Socket(DnsSource& owner, ares_socket_t fd) : owner_(owner), fd_(fd) {}
  void on_io(uint32_t events) override {
    if (gone_) return;
    bool r = events & (EPOLLIN | EPOLLERR | EPOLLHUP);
    bool w = events & EPOLLOUT;
    owner_.process(r ? fd_ : ARES_SOCKET_BAD, w ? fd_ : ARES_SOCKET_BAD);
  }
  DnsSource& owner_;
  ares_socket_t fd_;
  bool gone_ = false;
};

struct DnsSource::Lookup {
  DnsSource* source;
  uint64_t round;
  std::string name;
  uint16_t port;
  uint32_t weight;
};

DnsSource::DnsSource(net::EventLoop& loop, config::DnsDiscovery config, Callbacks callbacks)
    : loop_(loop),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      refresh_(loop, [this] { resolve(); }),
      ares_timer_(loop, [this] { process(ARES_SOCKET_BAD, ARES_SOCKET_BAD); }) {
  init_library();
  ares_options opts{};
  opts.sock_state_cb = [](void* data, ares_socket_t fd, int readable, int writable) {
    static_cast<DnsSource*>(data)->socket_state(fd, readable != 0, writable != 0);
  };
  opts.sock_state_cb_data = this;
  opts.timeout = static_cast<int>(std::max<int64_t>(100, config_.timeout_ms / 2));  // per try; two tries
  opts.tries = 2;
  int rc = ares_init_options(&channel_, &opts, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
  if (rc != ARES_SUCCESS) {
    init_error_ = fmt::format("cannot start the DNS resolver: {}", ares_strerror(rc));
    channel_ = nullptr;
    return;
  }
  if (!config_.servers.empty()) {
    std::string csv;
    for (const auto& s : config_.servers) {
      if (!csv.empty()) csv += ',';
      csv += s.to_string();
    }
    rc = ares_set_servers_ports_csv(channel_, csv.c_str());
    if (rc != ARES_SUCCESS) init_error_ = fmt::format("bad DNS servers \"{}\": {}", csv, ares_strerror(rc));
  }
}

DnsSource::~DnsSource() {
  destroying_ = true;
  if (channel_ != nullptr) ares_destroy(channel_);  // pending callbacks run now, with ARES_EDESTRUCTION
  for (auto& [fd, s] : sockets_) {
    s->gone_ = true;
    loop_.release(s);
  }
}

std::string DnsSource::describe() const {
  static const char* kTypes[] = {"A", "AAAA", "A+AAAA", "SRV"};
  return fmt::format("dns {} {}", config_.name, kTypes[static_cast<int>(config_.type)]);
}

void DnsSource::start() { resolve(); }

void DnsSource::resolve() {
  if (!init_error_.empty()) {
    callbacks_.on_error(init_error_);
    return;
  }
  ++round_;
  outstanding_ = 0;
  min_ttl_s_ = -1;
  found_.clear();
  round_error_.clear();
  if (config_.type == config::DnsDiscovery::Type::kSrv) {
    ++outstanding_;
    auto* lookup = new Lookup{this, round_, config_.name, 0, 0};
    ares_query(
        channel_, config_.name.c_str(), kClassIn, kTypeSrv,
        [](void* arg, int status, int, unsigned char* abuf, int alen) {
          std::unique_ptr<Lookup> l(static_cast<Lookup*>(arg));
          if (status == ARES_EDESTRUCTION || l->source->destroying_ || l->round != l->source->round_) return;
          l->source->on_srv(status, abuf, alen);
        },
        lookup);
  } else {
    int family = config_.type == config::DnsDiscovery::Type::kA      ? AF_INET
                 : config_.type == config::DnsDiscovery::Type::kAAAA ? AF_INET6
                                                                      : AF_UNSPEC;
    lookup_addresses(config_.name, config_.port, 1, family);
  }
  arm_ares_timer();
}

void DnsSource::lookup_addresses(const std::string& name, uint16_t port, uint32_t weight, int family) {
  ++outstanding_;
  auto* lookup = new Lookup{this, round_, name, port, weight};
  ares_addrinfo_hints hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(
      channel_, name.c_str(), nullptr, &hints,
      [](void* arg, int status, int, ares_addrinfo* result) {
        std::unique_ptr<Lookup> l(static_cast<Lookup*>(arg));
        if (status == ARES_EDESTRUCTION || l->source->destroying_ || l->round != l->source->round_) {
          if (result) ares_freeaddrinfo(result);
          return;
        }
        l->source->on_addresses(*l, status, result);
      },
      lookup);
}

void DnsSource::on_srv(int status, const unsigned char* abuf, int alen) {
  --outstanding_;
  ares_srv_reply* srv = nullptr;
  if (status == ARES_SUCCESS) status = ares_parse_srv_reply(abuf, alen, &srv);
  if (status != ARES_SUCCESS || srv == nullptr) {
    round_error_ = fmt::format("SRV {}: {}", config_.name, status == ARES_SUCCESS ? "no records" : ares_strerror(status));
    if (srv) ares_free_data(srv);
    lookup_finished();
    return;
  }
  min_ttl_s_ = min_answer_ttl(abuf, alen);
  // RFC 2782: use the lowest priority that has targets; weights share within it.
  unsigned short best = USHRT_MAX;
  for (auto* r = srv; r; r = r->next) best = std::min(best, r->priority);
  std::vector<std::pair<std::string, std::pair<uint16_t, uint32_t>>> targets;
  for (auto* r = srv; r; r = r->next) {
    if (r->priority != best || strcmp(r->host, ".") == 0) continue;
    targets.push_back({r->host, {r->port, std::max<uint32_t>(1, r->weight)}});
  }
  ares_free_data(srv);
  if (targets.empty()) {
    round_error_ = fmt::format("SRV {}: no usable targets", config_.name);
    lookup_finished();
    return;
  }
  for (const auto& [host, pw] : targets) lookup_addresses(host, pw.first, pw.second, AF_UNSPEC);
}

void DnsSource::on_addresses(Lookup& lookup, int status, ares_addrinfo* result) {
  --outstanding_;
  if (status != ARES_SUCCESS || result == nullptr || result->nodes == nullptr) {
    round_error_ = fmt::format("{}: {}", lookup.name, status == ARES_SUCCESS ? "no addresses" : ares_strerror(status));
  } else {
    for (auto* n = result->nodes; n; n = n->ai_next) {
      net::Address a;
      if (n->ai_family == AF_INET) {
        memcpy(&a.storage, n->ai_addr, sizeof(sockaddr_in));
        reinterpret_cast<sockaddr_in*>(&a.storage)->sin_port = htons(lookup.port);
        a.len = sizeof(sockaddr_in);
      } else if (n->ai_family == AF_INET6) {
        memcpy(&a.storage, n->ai_addr, sizeof(sockaddr_in6));
        reinterpret_cast<sockaddr_in6*>(&a.storage)->sin6_port = htons(lookup.port);
        a.len = sizeof(sockaddr_in6);
      } else {
        continue;
      }
      if (min_ttl_s_ < 0 || n->ai_ttl < min_ttl_s_) min_ttl_s_ = n->ai_ttl;
      std::string text = a.to_string();
      bool dup = std::any_of(found_.begin(), found_.end(), [&](const DiscoveredEndpoint& e) { return e.text == text; });
      if (!dup) found_.push_back({a, std::move(text), lookup.weight});
    }
  }
  if (result) ares_freeaddrinfo(result);
  lookup_finished();
}

void DnsSource::lookup_finished() {
  if (outstanding_ > 0) return;
  // A round with any failure is reported as one: a partial SRV answer would silently
  // drop the targets that failed to resolve.
  if (!round_error_.empty() || found_.empty()) {
    callbacks_.on_error(round_error_.empty() ? fmt::format("{}: no addresses", config_.name) : round_error_);
    retry_later();
    return;
  }
  int64_t ttl_ms = min_ttl_s_ < 0 ? config_.min_ttl_ms : min_ttl_s_ * 1000;
  refresh_.arm_after_ms(std::clamp(ttl_ms, config_.min_ttl_ms, config_.max_ttl_ms));
  callbacks_.on_update(std::move(found_));
  found_.clear();
}

void DnsSource::retry_later() {
  refresh_.arm_after_ms(std::clamp(config_.min_ttl_ms, kRetryMinMs, kRetryMaxMs));
}

void DnsSource::socket_state(ares_socket_t fd, bool readable, bool writable) {
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

void DnsSource::process(ares_socket_t read_fd, ares_socket_t write_fd) {
  if (channel_ == nullptr || destroying_) return;
  ares_process_fd(channel_, read_fd, write_fd);
  arm_ares_timer();
}

void DnsSource::arm_ares_timer() {
  timeval tv;
  if (ares_timeout(channel_, nullptr, &tv) == nullptr) {
    ares_timer_.cancel();
    return;
  }
  ares_timer_.arm_after_ms(static_cast<int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000 + 1);
}

}  // namespace portico::discovery
