#include "auth/jwks_manager.h"

#include <netinet/in.h>

#include <algorithm>

#include <fmt/format.h>

#include "core/log.h"

namespace portico::auth {
namespace {
constexpr int64_t kRetryMinMs = 1'000;
constexpr int64_t kRetryMaxMs = 60'000;
}  // namespace

// Heap-allocated and never moved, so its timer can hold on to it.
struct JwksManager::Source {
  Source(JwksManager& manager, net::EventLoop& loop) : timer(loop, [this, &manager] { manager.fetch(*this); }) {}
  ~Source() {
    if (request != nullptr) request->cancel();
  }
  config::RemoteJwks cfg;
  std::shared_ptr<const RemoteKeys> keys = std::make_shared<RemoteKeys>();
  client::HttpClient* request = nullptr;
  bool resolving = false;
  uint64_t attempt = 0;  // lookups answering for an older attempt are ignored
  net::Timer timer;  // next refresh or retry
  int64_t last_start_ms = -1'000'000'000;
  int failures = 0;
};

JwksManager::JwksManager(net::EventLoop& loop, Publish publish)
    : loop_(loop), publish_(std::move(publish)), resolver_(loop, {}), alive_(std::make_shared<bool>(true)) {}

JwksManager::~JwksManager() {
  *alive_ = false;
  sources_.clear();
}

void JwksManager::configure(const config::Config& config) {
  std::map<std::string, std::unique_ptr<Source>> next;
  std::vector<Source*> to_fetch;
  for (const auto& method : config.auth) {
    if (method.kind != config::AuthMethod::Kind::kJwt || !method.jwt.jwks_url) continue;
    const config::RemoteJwks& r = *method.jwt.jwks_url;
    if (next.count(r.url)) continue;
    auto it = sources_.find(r.url);
    std::unique_ptr<Source> s;
    if (it != sources_.end()) {
      s = std::move(it->second);
      sources_.erase(it);
    } else {
      s = std::make_unique<Source>(*this, loop_);
      to_fetch.push_back(s.get());
    }
    s->cfg = r;
    next[r.url] = std::move(s);
  }
  sources_ = std::move(next);  // sources no method uses any more are dropped here
  for (auto& [url, s] : sources_) publish_(url, s->keys);
  for (Source* s : to_fetch) fetch(*s);
}

void JwksManager::fetch(Source& s) {
  if (s.request != nullptr || s.resolving) return;
  s.timer.cancel();
  s.last_start_ms = loop_.now_ms();
  // The host is looked up at every fetch: identity providers move between addresses.
  s.resolving = true;
  Source* src = &s;
  uint64_t attempt = ++s.attempt;
  resolver_.resolve(s.cfg.connect_host, AF_UNSPEC, s.cfg.port,
                    [this, src, attempt, alive = alive_](int status, client::Resolver::Addresses r) {
                      if (!*alive || src->attempt != attempt) return;
                      src->resolving = false;
                      if (status != ARES_SUCCESS) {
                        fetched(*src, false, {}, fmt::format("cannot resolve {}: {}", src->cfg.connect_host,
                                                             status == ARES_ENODATA ? "no addresses" : ares_strerror(status)));
                        return;
                      }
                      connect(*src, r.addresses.front());
                    });
}

void JwksManager::connect(Source& s, const net::Address& address) {
  client::Request r;
  r.address = address;
  r.host = s.cfg.host;
  r.target = s.cfg.target;
  r.timeout_ms = s.cfg.timeout_ms;
  r.max_body = 1 << 20;
  r.tls = s.cfg.tls;
  r.server_name = s.cfg.server_name;
  r.ca_file = s.cfg.ca_file;
  Source* src = &s;
  s.request = client::HttpClient::start(loop_, std::move(r),
                                        {nullptr, nullptr, [this, src](bool ok, client::Response resp, std::string error) {
                                           src->request = nullptr;
                                           fetched(*src, ok, resp, error);
                                         }});
}

void JwksManager::fetched(Source& s, bool ok, const client::Response& response, const std::string& error) {
  auto next = std::make_shared<RemoteKeys>(*s.keys);
  next->fetched_ms = loop_.now_ms();
  std::string why;
  if (!ok) {
    why = error;
  } else if (response.status != 200) {
    why = fmt::format("HTTP {}", response.status);
  } else {
    std::vector<std::string> skipped;
    auto set = jose::parse_jwks(response.body, &skipped);
    if (!set) {
      why = set.error().message;
    } else {
      for (const auto& sk : skipped) log::warn("JWKS {}: skipped {}", s.cfg.url, sk);
      if (!s.keys->loaded || s.keys->failing || set->keys().size() != s.keys->keys.keys().size()) {
        log::info("JWKS {}: {} signing key{}", s.cfg.url, set->keys().size(), set->keys().size() == 1 ? "" : "s");
      }
      next->keys = std::move(*set);
      next->loaded = true;
      next->failing = false;
      next->error.clear();
      next->version = s.keys->version + 1;
      s.failures = 0;
      s.timer.arm_after_ms(s.cfg.refresh_ms);
    }
  }
  if (!why.empty()) {
    // Keep the keys from before; say the fetch failed; try again with back-off.
    next->failing = true;
    next->error = why;
    ++s.failures;
    if (!s.keys->failing || s.keys->error != why) {
      log::warn("JWKS {}: fetch failed: {}{}", s.cfg.url, why,
                s.keys->loaded ? fmt::format("; keeping the {} keys from before", s.keys->keys.keys().size()) : "");
    }
    int64_t retry = std::min(kRetryMaxMs, kRetryMinMs << std::min(s.failures - 1, 6));
    s.timer.arm_after_ms(std::min(retry, s.cfg.refresh_ms));
  }
  s.keys = std::move(next);
  publish_(s.cfg.url, s.keys);
}

void JwksManager::refetch(const std::string& url) {
  loop_.post([this, url, alive = alive_] {
    if (*alive) on_refetch(url);
  });
}

void JwksManager::on_refetch(const std::string& url) {
  auto it = sources_.find(url);
  if (it == sources_.end()) return;
  Source& s = *it->second;
  if (s.request != nullptr || s.resolving) return;  // its result will be published
  if (loop_.now_ms() - s.last_start_ms < s.cfg.min_refetch_ms) {
    publish_(url, s.keys);  // too soon: the waiting requests go on with what there is
    return;
  }
  fetch(s);
}

}  // namespace portico::auth
