// The process-wide state of rate limits and usage plans, bound to each config: one
// LocalStore per policy (and per plan throttle), shared by every worker, and the quota
// book. A reload keeps the stores of definitions that did not change, so a reload never
// resets a limit; a changed definition starts afresh.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "gateway/snapshot.h"
#include "ratelimit/local_store.h"
#include "ratelimit/quota_book.h"

namespace portico::ratelimit {

struct Bindings final : gateway::FeatureBindings {
  std::vector<std::shared_ptr<LocalStore>> policies;  // by policy index (Redis policies: the local mirror)
  std::vector<std::shared_ptr<LocalStore>> plans;     // by plan index; null for plans without a rate
  std::shared_ptr<QuotaBook> quotas;                  // null when no plan has a quota
};

class Registry {
 public:
  // Main thread, at start and on reload. Fails only when the quota book cannot be opened.
  Result<std::shared_ptr<const Bindings>> bind(const config::Config& config);

 private:
  std::shared_ptr<LocalStore> store(const std::string& signature, uint64_t max_keys);

  std::map<std::string, std::weak_ptr<LocalStore>> stores_;  // by definition
  std::weak_ptr<QuotaBook> quotas_;
};

}  // namespace portico::ratelimit
