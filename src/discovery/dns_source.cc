#include "discovery/dns_source.h"

#include <netinet/in.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "discovery/dns_message.h"

namespace portico::discovery {
namespace {
constexpr int64_t kRetryMinMs = 1'000;
constexpr int64_t kRetryMaxMs = 10'000;
}  // namespace

DnsSource::DnsSource(net::EventLoop& loop, config::DnsDiscovery config, Callbacks callbacks)
    : config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      resolver_(loop, {config_.servers, config_.timeout_ms}),
      refresh_(loop, [this] { resolve(); }) {}

std::string DnsSource::describe() const {
  static const char* kTypes[] = {"A", "AAAA", "A+AAAA", "SRV"};
  return fmt::format("dns {} {}", config_.name, kTypes[static_cast<int>(config_.type)]);
}

void DnsSource::start() { resolve(); }

void DnsSource::resolve() {
  if (!resolver_.init_error().empty()) {
    callbacks_.on_error(resolver_.init_error());
    return;
  }
  ++round_;
  outstanding_ = 0;
  min_ttl_s_ = -1;
  found_.clear();
  round_error_.clear();
  if (config_.type == config::DnsDiscovery::Type::kSrv) {
    ++outstanding_;
    resolver_.query_srv(config_.name, [this, round = round_](int status, const unsigned char* abuf, int alen) {
      if (round == round_) on_srv(status, abuf, alen);
    });
    return;
  }
  int family = config_.type == config::DnsDiscovery::Type::kA      ? AF_INET
               : config_.type == config::DnsDiscovery::Type::kAAAA ? AF_INET6
                                                                    : AF_UNSPEC;
  lookup_addresses(config_.name, config_.port, 1, family);
}

void DnsSource::lookup_addresses(const std::string& name, uint16_t port, uint32_t weight, int family) {
  ++outstanding_;
  resolver_.resolve(name, family, port, [this, name, weight, round = round_](int status, client::Resolver::Addresses r) {
    if (round != round_) return;
    --outstanding_;
    if (status != ARES_SUCCESS) {
      round_error_ = fmt::format("{}: {}", name, status == ARES_ENODATA ? "no addresses" : ares_strerror(status));
    } else {
      if (r.min_ttl_s >= 0 && (min_ttl_s_ < 0 || r.min_ttl_s < min_ttl_s_)) min_ttl_s_ = r.min_ttl_s;
      for (const auto& a : r.addresses) {
        std::string text = a.to_string();
        bool dup = std::any_of(found_.begin(), found_.end(), [&](const DiscoveredEndpoint& e) { return e.text == text; });
        if (!dup) found_.push_back({a, std::move(text), weight});
      }
    }
    lookup_finished();
  });
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

}  // namespace portico::discovery
