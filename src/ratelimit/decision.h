// One rate-limit decision in the making (internal to ratelimit/): the checks a request
// needs in one phase, what each decided, and what was counted locally so it can be
// undone when another check refuses.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/context.h"
#include "gateway/snapshot.h"
#include "ratelimit/registry.h"
#include "ratelimit/worker_limiter.h"

namespace portico::ratelimit {

struct Check {
  enum class Kind : uint8_t { kPolicy, kPlanRate, kQuotaDay, kQuotaMonth };
  Kind kind = Kind::kPolicy;
  int index = 0;  // policy or plan
  bool redis = false;
  bool precheck = false;
  config::StoreFailure on_error = config::StoreFailure::kLocal;
  config::LimitHeaders headers = config::LimitHeaders::kDraft;
  std::string key;  // in the local store or quota book
  int64_t interval_ns = 0;
  int64_t burst = 0;
  int64_t limit = 0;         // quotas
  int64_t period_end_s = 0;  // quotas
  // Outcome.
  bool evaluated = false;
  bool taken = false;  // counted locally: undone if another check refuses
  bool allowed = true;
  int64_t remaining = 0;
  int64_t reset_s = 0;
  int64_t retry_s = 0;

  bool is_quota() const { return kind == Kind::kQuotaDay || kind == Kind::kQuotaMonth; }
};

struct Decision {
  Phase phase = Phase::kBeforeAuth;
  gateway::RequestContext* ctx = nullptr;
  const gateway::Snapshot* snapshot = nullptr;
  std::shared_ptr<const gateway::Snapshot> hold;  // while waiting: keeps config and stores alive
  const Bindings* bindings = nullptr;
  LimitWaiter* waiter = nullptr;  // null once the request is gone
  std::vector<Check> checks;
  size_t redis_checks = 0;  // how many of them Redis decides
  int64_t now_ns = 0;
  int64_t now_s = 0;
  int64_t sent_ns = 0;
  int denied = -1;           // the check that refused
  bool unavailable = false;  // a store error with on_store_error: deny
  bool prechecked = false;   // refused by the local mirror, Redis not asked
  bool tried_eval = false;   // the script was unknown to Redis and sent in full
  client::RedisClient* redis = nullptr;
  Decision* prev = nullptr;  // in the worker's list of decisions waiting for Redis
  Decision* next = nullptr;

  const config::Config& config() const { return *snapshot->config; }
  LocalStore* store_of(const Check& c) const {
    return c.kind == Check::Kind::kPolicy ? bindings->policies[static_cast<size_t>(c.index)].get()
                                          : bindings->plans[static_cast<size_t>(c.index)].get();
  }
  // Counts c in this instance's store or quota book; false when it refuses.
  bool take_locally(Check& c);
  // Undoes every local count (a check refused).
  void undo_local();
};

inline int64_t ceil_div(int64_t a, int64_t b) { return a <= 0 ? 0 : (a + b - 1) / b; }

// Metrics of the check's policy or plan, on this thread.
gateway::LimitCounters& counters_of(const Decision& d, const Check& c);
void count(const Decision& d, const Check& c, gateway::LimitCounters::Result result);

}  // namespace portico::ratelimit
