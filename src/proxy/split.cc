#include "proxy/split.h"

#include "core/hash.h"
#include "core/random.h"
#include "http/request_values.h"

namespace portico::proxy {
namespace {

bool matches(const config::SplitCondition& c, const gateway::RequestContext& ctx) {
  const http::RequestHead& req = *ctx.request;
  for (const auto& h : c.headers) {
    const http::Header* found = http::find_header(req.headers, h.name);
    if (found == nullptr || found->value != h.value) return false;
  }
  for (const auto& k : c.cookies) {
    auto v = http::find_cookie(req.headers, k.name);
    if (!v || *v != k.value) return false;
  }
  for (const auto& q : c.query) {
    auto v = http::find_query_param(req.query, q.name);
    if (!v || *v != q.value) return false;
  }
  return true;
}

}  // namespace

std::optional<uint64_t> request_hash(const config::HashKey& key, const gateway::RequestContext& ctx) {
  const http::RequestHead& req = *ctx.request;
  std::optional<std::string_view> value;
  switch (key.source) {
    case config::HashKey::Source::kNone:
      return std::nullopt;
    case config::HashKey::Source::kHeader:
      if (const http::Header* h = http::find_header(req.headers, key.name)) value = h->value;
      break;
    case config::HashKey::Source::kCookie:
      value = http::find_cookie(req.headers, key.name);
      break;
    case config::HashKey::Source::kQuery:
      value = http::find_query_param(req.query, key.name);
      break;
    case config::HashKey::Source::kClientIp:
      value = ctx.client_ip;
      break;
  }
  if (!value || value->empty()) return std::nullopt;
  return hash64(*value);
}

const config::Target& choose_target(const config::Route& route, const gateway::RequestContext& ctx) {
  const auto& targets = route.targets;
  if (targets.size() == 1) return targets[0];
  uint64_t total = 0;
  for (const auto& t : targets) {
    if (!t.when.empty()) {
      if (matches(t.when, ctx)) return t;
    } else {
      total += t.weight;
    }
  }
  // The loader guarantees a default target with weight; a sticky key keeps a client on
  // one side for as long as the weights stay put.
  auto sticky = request_hash(route.split_key, ctx);
  uint64_t point = (sticky ? mix64(*sticky ^ 0x5bd1e995) : random_u64()) % total;
  const config::Target* last = nullptr;
  for (const auto& t : targets) {
    if (!t.when.empty()) continue;
    last = &t;
    if (point < t.weight) return t;
    point -= t.weight;
  }
  return *last;
}

}  // namespace portico::proxy
