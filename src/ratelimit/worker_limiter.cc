#include "ratelimit/worker_limiter.h"

#include <algorithm>
#include <ctime>

#include <boost/json.hpp>
#include <fmt/format.h>

#include "core/clock.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/strings.h"
#include "http/headers.h"
#include "ratelimit/decision.h"
#include "ratelimit/redis_script.h"

namespace portico::ratelimit {
namespace {

constexpr char kSeparator = '\x1f';
constexpr size_t kMaxPartBytes = 128;

// A key part's value; very long ones (a header) are replaced by their hash, so a key
// stays small whatever the client sends.
void append_part(std::string& out, std::string_view value) {
  if (value.size() <= kMaxPartBytes) {
    out.append(value);
  } else {
    out += fmt::format("#{:016x}{:x}", hash64(value), value.size());
  }
}

bool append_source(const config::KeySource& s, const gateway::RequestContext& ctx, std::string& out) {
  using K = config::KeySource::Kind;
  const gateway::Principal* p = ctx.principal.get();
  switch (s.kind) {
    case K::kIp:
      append_part(out, ctx.client_ip);
      return true;
    case K::kRoute:
      append_part(out, ctx.route->name);
      return true;
    case K::kConsumer:
      if (p == nullptr || p->consumer.empty()) return false;
      append_part(out, p->consumer);
      return true;
    case K::kSubject:
      if (p == nullptr || p->subject.empty()) return false;
      append_part(out, p->subject);
      return true;
    case K::kClaim: {
      if (p == nullptr) return false;
      const boost::json::value* v = p->claims.if_contains(s.name);
      if (v == nullptr) return false;
      if (v->is_string()) append_part(out, v->as_string());
      else if (v->is_number() || v->is_bool()) append_part(out, boost::json::serialize(*v));
      else return false;
      return true;
    }
    case K::kHeader: {
      const http::Header* h = http::find_header(ctx.request->headers, s.name);
      if (h == nullptr || h->value.empty()) return false;
      append_part(out, h->value);
      return true;
    }
  }
  return false;
}

// The parts joined by 0x1f; a part none of whose sources is present is empty (all such
// requests share one bucket: a limit cannot be dodged by leaving a header out).
void build_key(const config::RateLimitPolicy& p, const gateway::RequestContext& ctx, std::string& out) {
  out.clear();
  for (size_t i = 0; i < p.key.parts.size(); ++i) {
    if (i > 0) out += kSeparator;
    for (const auto& source : p.key.parts[i]) {
      if (append_source(source, ctx, out)) break;
    }
  }
  if (p.per_route) {
    out += kSeparator;
    append_part(out, ctx.route->name);
  }
}

int64_t month_seconds(int64_t month_end_s) {
  // The length of the month that ends at month_end_s.
  time_t t = static_cast<time_t>(month_end_s - 1);
  struct tm tm;
  gmtime_r(&t, &tm);
  return static_cast<int64_t>(tm.tm_mday) * 86'400;
}

}  // namespace

gateway::LimitCounters& counters_of(const Decision& d, const Check& c) {
  const gateway::Snapshot& s = *d.snapshot;
  gateway::LimitStats* stats = c.kind == Check::Kind::kPolicy ? s.limit_stats[static_cast<size_t>(c.index)]
                                                              : s.plan_stats[static_cast<size_t>(c.index)];
  return stats->counters.local();
}

void count(const Decision& d, const Check& c, gateway::LimitCounters::Result result) {
  counters_of(d, c).results[result].add();
}

bool has_limits(const config::Config& config, const config::Route& route, Phase phase) {
  if (route.limits.none) return false;
  if (phase == Phase::kBeforeAuth) return !route.limits.before_auth.empty();
  return !route.limits.after_auth.empty() || (!config.usage_plans.empty() && !route.auth.empty());
}

void append_legacy_headers(const gateway::RequestContext& ctx, std::string& out) {
  const auto& r = ctx.limit_report;
  if (!r.set) return;
  out.append("RateLimit-Limit: ");
  append_decimal(out, r.limit);
  out.append("\r\nRateLimit-Remaining: ");
  append_decimal(out, r.remaining);
  out.append("\r\nRateLimit-Reset: ");
  append_decimal(out, r.reset_s);
  out.append("\r\n");
}

bool Decision::take_locally(Check& c) {
  c.evaluated = true;
  if (c.is_quota()) {
    int64_t used = 0;
    c.allowed = bindings->quotas && bindings->quotas->take(c.key, c.limit, c.period_end_s, used);
    c.remaining = std::max<int64_t>(0, c.limit - used);
    c.reset_s = std::max<int64_t>(0, c.period_end_s - now_s);
    c.retry_s = c.reset_s;
  } else {
    bool evicted = false;
    GcraDecision g = store_of(c)->take(c.key, now_ns, c.interval_ns, c.burst, &evicted);
    if (evicted) counters_of(*this, c).evictions.add();
    c.allowed = g.allowed;
    c.remaining = g.remaining;
    c.reset_s = ceil_div(g.reset, 1'000'000'000);
    c.retry_s = std::max<int64_t>(1, ceil_div(g.retry_after, 1'000'000'000));
  }
  c.taken = c.allowed;
  return c.allowed;
}

void Decision::undo_local() {
  for (Check& c : checks) {
    if (!c.taken) continue;
    if (c.is_quota()) bindings->quotas->give_back(c.key);
    else store_of(c)->give_back(c.key, c.interval_ns);
    c.taken = false;
  }
}

WorkerLimiter::WorkerLimiter(net::EventLoop& loop, gateway::StatsRegistry& stats)
    : loop_(loop), stats_(stats), script_sha_(limit_script_sha1()) {}

WorkerLimiter::~WorkerLimiter() {
  while (waiting_ != nullptr) {
    Decision* d = waiting_;
    waiting_ = d->next;
    delete d;
  }
  redis_.reset();
  retired_.clear();
}

Decision* WorkerLimiter::acquire() {
  if (spare_.empty()) return new Decision();
  Decision* d = spare_.back().release();
  spare_.pop_back();
  return d;
}

void WorkerLimiter::release(Decision* d) {
  d->hold.reset();
  d->ctx = nullptr;
  d->waiter = nullptr;
  if (spare_.size() < 64) spare_.emplace_back(d);
  else delete d;
}

void WorkerLimiter::collect(Phase phase, const gateway::RequestContext& ctx, std::vector<Check>& checks) {
  const config::Config& cfg = *ctx.snapshot->config;
  const config::Route& route = *ctx.route;
  const auto& list = phase == Phase::kBeforeAuth ? route.limits.before_auth : route.limits.after_auth;
  for (int index : list) {
    const config::RateLimitPolicy& p = cfg.rate_limits[static_cast<size_t>(index)];
    Check& c = checks.emplace_back();
    c.kind = Check::Kind::kPolicy;
    c.index = index;
    c.redis = p.store == config::LimitStore::kRedis;
    c.precheck = c.redis && p.local_precheck;
    c.on_error = p.on_store_error;
    c.headers = p.headers;
    c.interval_ns = p.rate.interval_ns();
    c.burst = p.burst;
    build_key(p, ctx, c.key);
  }
  if (phase != Phase::kAfterAuth || cfg.usage_plans.empty() || !ctx.principal || ctx.principal->consumer.empty()) {
    return;
  }
  auto it = cfg.consumers.by_name_or_id.find(ctx.principal->consumer);
  if (it == cfg.consumers.by_name_or_id.end()) return;
  const config::Consumer& consumer = cfg.consumers.list[it->second];
  if (consumer.plan < 0) return;
  const config::UsagePlan& plan = cfg.usage_plans[static_cast<size_t>(consumer.plan)];
  auto base = [&](Check::Kind kind) {
    Check c;
    c.kind = kind;
    c.index = consumer.plan;
    c.redis = plan.store == config::LimitStore::kRedis;
    c.precheck = c.redis && kind == Check::Kind::kPlanRate;
    c.on_error = plan.on_store_error;
    c.headers = plan.headers;
    return c;
  };
  if (plan.rate) {
    Check c = base(Check::Kind::kPlanRate);
    c.interval_ns = plan.rate->interval_ns();
    c.burst = plan.burst;
    c.key = consumer.name;
    checks.push_back(std::move(c));
  }
  int64_t now_s = wall_ms_coarse() / 1000;
  if ((plan.per_day || plan.per_month) && now_s != period_second_) {
    Period p = period_at(now_s);
    period_second_ = now_s;
    day_ = std::move(p.day);
    month_ = std::move(p.month);
    day_end_s_ = p.day_end_s;
    month_end_s_ = p.month_end_s;
  }
  for (auto [kind, limit, period, end] : {std::tuple{Check::Kind::kQuotaDay, plan.per_day, &day_, day_end_s_},
                                          std::tuple{Check::Kind::kQuotaMonth, plan.per_month, &month_, month_end_s_}}) {
    if (limit == 0) continue;
    Check c = base(kind);
    c.limit = limit;
    c.period_end_s = end;
    c.key = fmt::format("{}{}{}{}{}", plan.name, kSeparator, consumer.name, kSeparator, *period);
    checks.push_back(std::move(c));
  }
}

LimitOutcome WorkerLimiter::check(Phase phase, gateway::RequestContext& ctx, LimitWaiter* waiter) {
  drop_retired();
  Decision* d = acquire();
  d->checks.clear();  // reused: keeps its capacity
  d->phase = phase;
  d->ctx = &ctx;
  d->snapshot = ctx.snapshot.get();
  d->bindings = static_cast<const Bindings*>(ctx.snapshot->limits.get());
  d->waiter = waiter;
  d->denied = -1;
  d->unavailable = d->prechecked = d->tried_eval = false;
  d->redis = nullptr;
  collect(phase, ctx, d->checks);
  LimitOutcome outcome;
  if (d->checks.empty() || d->bindings == nullptr) {
    release(d);
    return outcome;
  }
  d->redis_checks = static_cast<size_t>(std::count_if(d->checks.begin(), d->checks.end(), [](const Check& c) { return c.redis; }));
  d->now_ns = monotonic_ns();
  d->now_s = wall_ms_coarse() / 1000;
  outcome = decide_locally(*d);
  if (outcome.kind == LimitOutcome::Kind::kDenied || d->redis_checks == 0) {
    if (outcome.kind != LimitOutcome::Kind::kDenied) outcome = finish(*d);
    release(d);
    return outcome;
  }
  client::RedisClient* redis = redis_for(d->config().redis);
  if (redis == nullptr || redis->down()) {
    fall_back(*d, "not connected");
    outcome = finish(*d);
    release(d);
    return outcome;
  }
  d->redis = redis;
  d->hold = ctx.snapshot;
  if (waiter != nullptr) waiter->waiting_for_ = d;
  ask_redis(d);
  outcome.kind = LimitOutcome::Kind::kPending;
  return outcome;
}

void WorkerLimiter::cancel(LimitWaiter* waiter) {
  // The decision stays until Redis answers (its local counts may need undoing); it
  // just no longer has anyone to tell.
  if (waiter->waiting_for_ != nullptr) waiter->waiting_for_->waiter = nullptr;
  waiter->waiting_for_ = nullptr;
}

// Local limits, and the local mirrors of Redis ones; everything counted is undone if
// any check refuses.
LimitOutcome WorkerLimiter::decide_locally(Decision& d) {
  for (size_t i = 0; i < d.checks.size(); ++i) {
    Check& c = d.checks[i];
    if (c.redis) {
      if (!c.precheck) continue;
      GcraDecision g = d.store_of(c)->peek(c.key, d.now_ns, c.interval_ns, c.burst);
      if (g.allowed) continue;
      c.evaluated = true;
      c.allowed = false;
      c.reset_s = ceil_div(g.reset, 1'000'000'000);
      c.retry_s = std::max<int64_t>(1, ceil_div(g.retry_after, 1'000'000'000));
      d.denied = static_cast<int>(i);
      d.prechecked = true;
      break;
    }
    if (!d.take_locally(c)) {
      d.denied = static_cast<int>(i);
      break;
    }
  }
  if (d.denied < 0) return LimitOutcome{};
  d.undo_local();
  return finish(d);
}

// Redis could not decide: each of its limits as its on_store_error says.
void WorkerLimiter::fall_back(Decision& d, std::string_view why) {
  warn_store(why);
  for (size_t i = 0; i < d.checks.size() && d.denied < 0; ++i) {
    Check& c = d.checks[i];
    if (!c.redis) continue;
    switch (c.on_error) {
      case config::StoreFailure::kAllow:
        count(d, c, gateway::LimitCounters::kStoreErrorAllowed);
        break;  // allowed, with nothing known to report
      case config::StoreFailure::kDeny:
        count(d, c, gateway::LimitCounters::kStoreErrorDenied);
        c.evaluated = true;
        c.allowed = false;
        d.unavailable = true;
        d.denied = static_cast<int>(i);
        break;
      case config::StoreFailure::kLocal:
        count(d, c, gateway::LimitCounters::kStoreErrorLocal);
        if (!d.take_locally(c)) d.denied = static_cast<int>(i);
        break;
    }
  }
  if (d.denied >= 0) d.undo_local();
}

// Headers for every answer, metrics, and the 429 or 503 when refused.
LimitOutcome WorkerLimiter::finish(Decision& d) {
  const config::Config& cfg = d.config();
  gateway::RequestContext& ctx = *d.ctx;
  // RateLimit-Policy lists the policies, RateLimit their state, item by item in the same
  // order (draft-ietf-httpapi-ratelimit-headers). Built by appending: this runs for
  // every request on a limited route.
  std::string& policies = policies_line_;
  std::string& states = states_line_;
  policies.clear();
  states.clear();
  for (const Check& c : d.checks) {
    if (!c.evaluated || c.headers == config::LimitHeaders::kOff) continue;
    int64_t remaining = c.allowed ? c.remaining : 0;
    int64_t quota = 0;
    std::string_view name;
    std::string quota_name;
    if (c.kind == Check::Kind::kPolicy) {
      const auto& p = cfg.rate_limits[static_cast<size_t>(c.index)];
      name = p.name;
      quota = p.rate.count;
      if (c.headers == config::LimitHeaders::kDraft) {
        policies.append(policies.empty() ? "" : ", ").append(p.policy_item);
      }
    } else if (c.kind == Check::Kind::kPlanRate) {
      const auto& p = cfg.usage_plans[static_cast<size_t>(c.index)];
      name = p.name;
      quota = p.rate->count;
      if (c.headers == config::LimitHeaders::kDraft) {
        policies.append(policies.empty() ? "" : ", ").append(p.policy_item);
      }
    } else {
      const auto& p = cfg.usage_plans[static_cast<size_t>(c.index)];
      quota_name = p.name + (c.kind == Check::Kind::kQuotaDay ? "-day" : "-month");
      name = quota_name;
      quota = c.limit;
      if (c.headers == config::LimitHeaders::kDraft) {
        int64_t window = c.kind == Check::Kind::kQuotaDay ? 86'400 : month_seconds(c.period_end_s);
        policies.append(policies.empty() ? "\"" : ", \"").append(name).append("\";q=");
        append_decimal(policies, quota);
        policies.append(";w=");
        append_decimal(policies, window);
      }
    }
    if (c.headers == config::LimitHeaders::kLegacy) {
      auto& r = ctx.limit_report;
      if (!r.set || remaining < r.remaining || (remaining == r.remaining && c.reset_s > r.reset_s)) {
        r = {true, quota, remaining, c.reset_s};
      }
      continue;
    }
    states.append(states.empty() ? "\"" : ", \"").append(name).append("\";r=");
    append_decimal(states, remaining);
    states.append(";t=");
    append_decimal(states, c.reset_s);
  }
  if (!policies.empty()) {
    ctx.response_headers.append("RateLimit-Policy: ").append(policies).append("\r\nRateLimit: ").append(states).append("\r\n");
  }

  if (d.denied < 0) {
    std::vector<int> plans_counted;
    for (const Check& c : d.checks) {
      if (c.kind != Check::Kind::kPolicy) {
        if (std::find(plans_counted.begin(), plans_counted.end(), c.index) != plans_counted.end()) continue;
        plans_counted.push_back(c.index);
      }
      count(d, c, gateway::LimitCounters::kAllowed);
    }
    return LimitOutcome{};
  }
  const Check& c = d.checks[static_cast<size_t>(d.denied)];
  LimitOutcome o;
  o.kind = LimitOutcome::Kind::kDenied;
  if (d.unavailable) {
    o.status = 503;
    o.message = "the rate limit store is unavailable; try again later";
    o.headers = "Retry-After: 1\r\n";
    return o;
  }
  o.status = 429;
  o.headers = fmt::format("Retry-After: {}\r\n", c.retry_s);
  if (c.kind == Check::Kind::kPolicy) {
    const auto& p = cfg.rate_limits[static_cast<size_t>(c.index)];
    count(d, c, d.prechecked ? gateway::LimitCounters::kPrechecked : gateway::LimitCounters::kLimited);
    o.message = fmt::format("rate limit exceeded: {} allows {} (burst {}); retry in {} s", p.name, p.rate.text, p.burst,
                            c.retry_s);
  } else if (c.kind == Check::Kind::kPlanRate) {
    const auto& p = cfg.usage_plans[static_cast<size_t>(c.index)];
    count(d, c, d.prechecked ? gateway::LimitCounters::kPrechecked : gateway::LimitCounters::kLimited);
    o.message = fmt::format("rate limit of plan \"{}\" exceeded: {} (burst {}); retry in {} s", p.name, p.rate->text,
                            p.burst, c.retry_s);
  } else {
    const auto& p = cfg.usage_plans[static_cast<size_t>(c.index)];
    count(d, c, gateway::LimitCounters::kQuotaExceeded);
    char when[64];
    format_iso8601_ms(c.period_end_s * 1000, when);
    o.message = fmt::format("{} quota of plan \"{}\" used up ({} requests); it renews at {}Z",
                            c.kind == Check::Kind::kQuotaDay ? "daily" : "monthly", p.name, c.limit,
                            std::string_view(when, 19));
  }
  return o;
}

}  // namespace portico::ratelimit
