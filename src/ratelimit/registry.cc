#include "ratelimit/registry.h"

#include <fmt/format.h>

namespace portico::ratelimit {

std::shared_ptr<LocalStore> Registry::store(const std::string& signature, uint64_t max_keys) {
  auto& slot = stores_[signature];
  if (auto s = slot.lock()) return s;
  auto s = std::make_shared<LocalStore>(max_keys);
  slot = s;
  return s;
}

Result<std::shared_ptr<const Bindings>> Registry::bind(const config::Config& config) {
  auto b = std::make_shared<Bindings>();
  for (const auto& p : config.rate_limits) b->policies.push_back(store("policy|" + p.state_signature(), p.max_keys));
  bool quotas = false;
  for (const auto& p : config.usage_plans) {
    if (p.rate) {
      std::string signature = fmt::format("plan|{}|{}|{}|{}", p.name, p.rate->count, p.rate->period_ms, p.burst);
      b->plans.push_back(store(signature, 1'000'000));
    } else {
      b->plans.push_back(nullptr);
    }
    quotas |= p.per_day > 0 || p.per_month > 0;
  }
  if (quotas) {
    b->quotas = quotas_.lock();
    std::string path = config.server.data_dir + "/quotas.sqlite3";
    if (!b->quotas || b->quotas->path() != path) {
      b->quotas.reset();  // the old book saves and closes before a new one opens the file
      auto book = QuotaBook::open(path);
      if (!book) return Error{fmt::format("usage plan quotas: {}", book.error().message)};
      b->quotas = std::move(*book);
      quotas_ = b->quotas;
    }
  }
  // Forget stores no config uses any more.
  for (auto it = stores_.begin(); it != stores_.end();) {
    if (it->second.expired()) it = stores_.erase(it);
    else ++it;
  }
  return std::shared_ptr<const Bindings>(std::move(b));
}

}  // namespace portico::ratelimit
