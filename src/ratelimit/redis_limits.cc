// WorkerLimiter's Redis side: the worker's connection, one script call per decision,
// its reply, and the fall-backs when Redis cannot answer.
#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/log.h"
#include "ratelimit/decision.h"
#include "ratelimit/redis_script.h"
#include "ratelimit/worker_limiter.h"

namespace portico::ratelimit {
namespace {

// The script's answer: numbers separated by spaces.
bool parse_numbers(std::string_view text, std::vector<int64_t>& out) {
  out.clear();
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    int64_t v = 0;
    auto r = std::from_chars(p, end, v);
    if (r.ec != std::errc()) return false;
    out.push_back(v);
    p = r.ptr;
    if (p < end && *p == ' ') ++p;
  }
  return true;
}

}  // namespace

void WorkerLimiter::prepare(const config::Config& config) {
  auto redis_backed = [](const auto& list) {
    return std::any_of(list.begin(), list.end(), [](const auto& p) { return p.store == config::LimitStore::kRedis; });
  };
  drop_retired();
  if (redis_backed(config.rate_limits) || redis_backed(config.usage_plans)) {
    redis_for(config.redis);
  } else if (redis_) {
    retired_.push_back(std::move(redis_));
    redis_signature_.clear();
  }
}

void WorkerLimiter::drop_retired() {
  for (auto it = retired_.begin(); it != retired_.end();) {
    if ((*it)->in_flight() == 0) it = retired_.erase(it);
    else ++it;
  }
}

void WorkerLimiter::warn_store(std::string_view why) {
  if (loop_.now_ms() - last_store_warning_ms_ < 10'000) return;
  last_store_warning_ms_ = loop_.now_ms();
  log::warn("rate limits: Redis at {} cannot decide ({}); limits fall back as configured (on_store_error)",
            redis_address_, why);
}

client::RedisClient* WorkerLimiter::redis_for(const config::RedisConfig& cfg) {
  if (!cfg.enabled) return nullptr;
  std::string signature = cfg.connection_signature();
  if (redis_ && signature == redis_signature_) return redis_.get();
  if (redis_) retired_.push_back(std::move(redis_));
  client::RedisOptions o;
  o.host = cfg.host;
  o.port = cfg.port;
  o.username = cfg.username;
  o.password = cfg.password;
  o.db = cfg.db;
  o.timeout_ms = cfg.timeout_ms;
  o.connect_timeout_ms = cfg.connect_timeout_ms;
  stats_.redis_used.store(true, std::memory_order_relaxed);
  std::string address = cfg.address_text;
  auto was_up = std::make_shared<bool>(false);
  redis_ = std::make_unique<client::RedisClient>(loop_, std::move(o), [this, address, was_up](bool up, std::string_view why) {
    auto& c = stats_.redis.local();
    if (up) {
      *was_up = true;
      c.connects.add();
      c.connected.inc();
      log::info("redis {}: connected", address);
      return;
    }
    // A drop of a live connection changes the gauge; a failed attempt only counts.
    if (*was_up) c.connected.dec();
    else c.connect_failures.add();
    *was_up = false;
    warn_store(why);
  });
  redis_signature_ = signature;
  redis_address_ = cfg.address_text;
  return redis_.get();
}

// One EVALSHA with every Redis-backed check of the decision, formatted in place.
void WorkerLimiter::ask_redis(Decision* d) {
  const config::Config& cfg = d->config();
  const std::string& prefix = cfg.redis.key_prefix;
  size_t n = d->redis_checks;
  std::string& cmd = command_;
  cmd.clear();
  client::resp_array(cmd, 3 + 4 * n);
  client::resp_bulk(cmd, d->tried_eval ? "EVAL" : "EVALSHA");
  client::resp_bulk(cmd, d->tried_eval ? kLimitScript : std::string_view(script_sha_));
  client::resp_bulk(cmd, static_cast<int64_t>(n));
  std::string& key = key_;
  for (const Check& c : d->checks) {
    if (!c.redis) continue;
    key.assign(prefix);
    if (c.kind == Check::Kind::kPolicy) {
      key.append("rl:").append(cfg.rate_limits[static_cast<size_t>(c.index)].name).append(":").append(c.key);
    } else if (c.kind == Check::Kind::kPlanRate) {
      key.append("plan:").append(cfg.usage_plans[static_cast<size_t>(c.index)].name).append(":").append(c.key);
    } else {
      // plan, consumer and period (config names and a date), readable in redis-cli
      size_t start = key.size();
      key.append("quota:").append(c.key);
      std::replace(key.begin() + static_cast<std::ptrdiff_t>(start), key.end(), '\x1f', ':');
    }
    client::resp_bulk(cmd, key);
  }
  for (const Check& c : d->checks) {
    if (!c.redis) continue;
    client::resp_bulk(cmd, c.is_quota() ? "q" : "g");
    client::resp_bulk(cmd, c.is_quota() ? c.limit : std::max<int64_t>(1, c.interval_ns / 1000));
    client::resp_bulk(cmd, c.is_quota() ? c.period_end_s : c.burst);
  }
  d->sent_ns = monotonic_ns();
  // Linked into the waiting list: owned there until the reply (or its failure) comes.
  if (d->prev == nullptr && waiting_ != d) {
    d->next = waiting_;
    if (waiting_ != nullptr) waiting_->prev = d;
    waiting_ = d;
  }
  bool sent = d->redis->send(cmd, [this, d](const redisReply* reply, std::string_view error) { on_redis_reply(d, reply, error); });
  if (sent) {
    stats_.redis.local().commands.add();
  } else {
    // Down since we looked: decided as a store error, after this call returns.
    loop_.defer([this, d] { on_redis_reply(d, nullptr, "connection lost"); });
  }
}

void WorkerLimiter::on_redis_reply(Decision* d, const redisReply* reply, std::string_view error) {
  auto& counters = stats_.redis.local();
  counters.latency.observe_ns(monotonic_ns() - d->sent_ns);
  if (reply != nullptr && reply->type == REDIS_REPLY_ERROR && error.rfind("NOSCRIPT", 0) == 0 && !d->tried_eval) {
    // Redis restarted (or flushed its scripts): send the script itself, once.
    d->tried_eval = true;
    ask_redis(d);
    return;
  }
  if (error == "timeout") counters.timeouts.add();
  else if (!error.empty()) counters.errors.add();
  // Out of the waiting list; from here on this function owns it.
  if (d->prev != nullptr) d->prev->next = d->next;
  else waiting_ = d->next;
  if (d->next != nullptr) d->next->prev = d->prev;
  d->prev = d->next = nullptr;

  std::vector<int64_t>& numbers = reply_numbers_;
  bool ok = error.empty() && reply != nullptr && reply->type == REDIS_REPLY_STRING &&
            parse_numbers(std::string_view(reply->str, reply->len), numbers) && numbers.size() == 1 + 4 * d->redis_checks;
  if (!ok) {
    fall_back(*d, error.empty() ? std::string_view("an unexpected reply") : error);
  } else {
    size_t k = 1;
    for (size_t i = 0; i < d->checks.size(); ++i) {
      Check& c = d->checks[i];
      if (!c.redis) continue;
      const int64_t* e = numbers.data() + k;
      k += 4;
      c.evaluated = true;
      c.allowed = e[0] == 1;
      if (c.is_quota()) {
        c.remaining = std::max<int64_t>(0, c.limit - e[1]);
        c.reset_s = std::max<int64_t>(0, c.period_end_s - d->now_s);
        c.retry_s = c.reset_s;
      } else {
        c.remaining = e[1];
        c.reset_s = ceil_div(e[2], 1'000'000);
        c.retry_s = std::max<int64_t>(1, ceil_div(e[3], 1'000'000));
      }
      if (!c.allowed && d->denied < 0) d->denied = static_cast<int>(i);
    }
    if (numbers[0] == 1) {
      // Mirror what Redis counted, for the local pre-check.
      for (const Check& c : d->checks) {
        if (c.redis && !c.is_quota()) d->store_of(c)->force(c.key, d->now_ns, c.interval_ns);
      }
    } else {
      d->undo_local();
    }
  }
  LimitWaiter* waiter = d->waiter;
  if (waiter != nullptr) {
    waiter->waiting_for_ = nullptr;
    LimitOutcome outcome = finish(*d);
    release(d);
    waiter->on_limit_decided(std::move(outcome));
  } else {
    release(d);  // the request is gone; what Redis counted stays counted
  }
}

}  // namespace portico::ratelimit
