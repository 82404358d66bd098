// What a worker serves from: a loaded Config plus the runtime objects bound to it (stats
// handles, the access log file). Built on the main thread for every load or reload,
// handed to workers as shared_ptr<const Snapshot>, and pinned by each request, so a
// reload never changes anything under a request in flight.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/result.h"
#include "gateway/stats.h"

namespace portico::gateway {

// An append-only log destination shared by all workers (one write per flush, O_APPEND).
class LogFile {
 public:
  static Result<std::shared_ptr<LogFile>> open(const std::string& path);
  ~LogFile();
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

 private:
  LogFile(int fd, std::string path, bool owned) : fd_(fd), path_(std::move(path)), owned_(owned) {}
  int fd_;
  std::string path_;
  bool owned_;
};

// State that a feature module above gateway/ binds to a config (the rate limits' stores),
// carried by the snapshot so a request sees the bindings of the config it pinned.
class FeatureBindings {
 public:
  virtual ~FeatureBindings() = default;
};

class Snapshot {
 public:
  static Result<std::shared_ptr<const Snapshot>> build(std::shared_ptr<const config::Config> config,
                                                       StatsRegistry& stats, uint64_t generation,
                                                       std::shared_ptr<const FeatureBindings> limits = nullptr,
                                                       std::shared_ptr<const FeatureBindings> filters = nullptr,
                                                       std::shared_ptr<const FeatureBindings> aggregates = nullptr);

  std::shared_ptr<const config::Config> config;
  std::vector<RouteStats*> route_stats;                    // by route index
  std::vector<UpstreamStats*> upstream_stats;              // by upstream index
  std::vector<AuthStats*> auth_stats;                      // by auth method index
  std::vector<LimitStats*> limit_stats;                    // by rate limit policy index
  std::vector<LimitStats*> plan_stats;                     // by usage plan index
  RouteStats* unmatched_stats = nullptr;                   // requests no route took
  std::shared_ptr<LogFile> access_log;                     // null when off
  std::shared_ptr<const FeatureBindings> limits;           // ratelimit::Bindings
  std::shared_ptr<const FeatureBindings> filters;          // filters::RouteFilters
  std::shared_ptr<const FeatureBindings> aggregates;       // aggregate::Plans
  uint64_t generation = 0;
};

}  // namespace portico::gateway
