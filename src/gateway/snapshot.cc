#include "gateway/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace portico::gateway {

Result<std::shared_ptr<LogFile>> LogFile::open(const std::string& path) {
  if (path == "stdout") return std::shared_ptr<LogFile>(new LogFile(STDOUT_FILENO, path, false));
  if (path == "stderr") return std::shared_ptr<LogFile>(new LogFile(STDERR_FILENO, path, false));
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Error{fmt::format("cannot open access log \"{}\": {}", path, strerror(errno))};
  return std::shared_ptr<LogFile>(new LogFile(fd, path, true));
}

LogFile::~LogFile() {
  if (owned_) close(fd_);
}

Result<std::shared_ptr<const Snapshot>> Snapshot::build(std::shared_ptr<const config::Config> config,
                                                        StatsRegistry& stats, uint64_t generation,
                                                        std::shared_ptr<const FeatureBindings> limits,
                                                        std::shared_ptr<const FeatureBindings> filters,
                                                        std::shared_ptr<const FeatureBindings> aggregates) {
  auto s = std::make_shared<Snapshot>();
  s->generation = generation;
  s->limits = std::move(limits);
  s->filters = std::move(filters);
  s->aggregates = std::move(aggregates);
  for (const auto& r : config->routes) s->route_stats.push_back(stats.route(r.name));
  s->unmatched_stats = stats.route("(unmatched)");
  for (const auto& u : config->upstreams) s->upstream_stats.push_back(stats.upstream(u.name));
  for (const auto& a : config->auth) s->auth_stats.push_back(stats.auth(a.name));
  for (const auto& p : config->rate_limits) s->limit_stats.push_back(stats.limit(p.name, false));
  for (const auto& p : config->usage_plans) s->plan_stats.push_back(stats.limit(p.name, true));
  if (config->server.access_log.enabled) {
    auto f = LogFile::open(config->server.access_log.path);
    if (!f) return f.error();
    s->access_log = *f;
  }
  s->config = std::move(config);
  return std::shared_ptr<const Snapshot>(std::move(s));
}

}  // namespace portico::gateway
