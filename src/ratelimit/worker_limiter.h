// One worker's rate limiting: for a request, the route's limits of one phase (before or
// after authentication) and, after it, the consumer's usage plan (throttle and quotas)
// are checked together and counted only if all pass.
//
// Local limits are decided at once in the process-wide stores. Redis-backed ones go to
// Redis in one pipelined script call per phase on this worker's connection; the request
// waits (the worker does not) and resumes through LimitWaiter. Before asking Redis,
// the local mirror of a key refuses at once what this instance alone has already
// exceeded. When Redis does not answer, each limit falls back as configured: to this
// instance's own count, allow, or deny (503).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/redis.h"
#include "config/config.h"
#include "gateway/context.h"
#include "gateway/stats.h"
#include "net/event_loop.h"

namespace portico::ratelimit {

struct Check;
struct Decision;

struct LimitOutcome {
  enum class Kind : uint8_t { kAllowed, kDenied, kPending };
  Kind kind = Kind::kAllowed;
  int status = 0;
  std::string message;
  std::string headers;  // Retry-After
};

class LimitWaiter {
 public:
  virtual ~LimitWaiter() = default;
  virtual void on_limit_decided(LimitOutcome outcome) = 0;

 private:
  friend class WorkerLimiter;
  Decision* waiting_for_ = nullptr;
};

enum class Phase : uint8_t { kBeforeAuth, kAfterAuth };

// True when the route has something to check in that phase.
bool has_limits(const config::Config& config, const config::Route& route, Phase phase);
// The legacy RateLimit-Limit/-Remaining/-Reset lines for ctx.limit_report, if any.
void append_legacy_headers(const gateway::RequestContext& ctx, std::string& out);

class WorkerLimiter {
 public:
  WorkerLimiter(net::EventLoop& loop, gateway::StatsRegistry& stats);
  ~WorkerLimiter();
  WorkerLimiter(const WorkerLimiter&) = delete;
  WorkerLimiter& operator=(const WorkerLimiter&) = delete;

  // A new config: connects to Redis now if its limits use it (rather than on the first
  // request), or lets go of a connection no longer needed.
  void prepare(const config::Config& config);

  // Adds the RateLimit fields to ctx.response_headers (allowed or refused). kPending:
  // waiter->on_limit_decided() follows, unless cancel() comes first.
  LimitOutcome check(Phase phase, gateway::RequestContext& ctx, LimitWaiter* waiter);
  void cancel(LimitWaiter* waiter);

 private:
  void collect(Phase phase, const gateway::RequestContext& ctx, std::vector<Check>& checks);
  LimitOutcome decide_locally(Decision& d);
  void fall_back(Decision& d, std::string_view why);
  LimitOutcome finish(Decision& d);

  // Redis (redis_limits.cc).
  client::RedisClient* redis_for(const config::RedisConfig& cfg);
  void drop_retired();
  void ask_redis(Decision* d);
  void on_redis_reply(Decision* d, const struct redisReply* reply, std::string_view error);
  void warn_store(std::string_view why);

  // Decisions are reused: most are made at once; those waiting for Redis stay in a list.
  Decision* acquire();
  void release(Decision* d);

  net::EventLoop& loop_;
  gateway::StatsRegistry& stats_;
  std::unique_ptr<client::RedisClient> redis_;
  std::string redis_signature_;
  std::string redis_address_;
  std::vector<std::unique_ptr<client::RedisClient>> retired_;  // replaced, draining their replies
  std::string script_sha_;
  std::string command_;  // the Redis command being formatted (reused)
  std::string key_;      // one Redis key of it (reused)
  std::vector<int64_t> reply_numbers_;  // the script's answer, parsed (reused)
  std::vector<std::unique_ptr<Decision>> spare_;
  Decision* waiting_ = nullptr;  // decisions waiting for Redis, owned
  std::string policies_line_, states_line_;  // reused for the RateLimit fields
  int64_t last_store_warning_ms_ = -1'000'000;
  // The UTC periods of quotas, recomputed once a second.
  int64_t period_second_ = -1;
  std::string day_, month_;
  int64_t day_end_s_ = 0, month_end_s_ = 0;
};

}  // namespace portico::ratelimit
