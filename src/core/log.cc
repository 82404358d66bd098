#include "core/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace portico::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

spdlog::logger& logger() {
  // stderr, thread-safe, no colour codes: the log is read by people and by tools.
  static auto instance = [] {
    auto l = spdlog::stderr_logger_mt("portico");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l;
  }();
  return *instance;
}

}  // namespace

void set_level(Level l) { g_level.store(l, std::memory_order_relaxed); }
Level level() { return g_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view name, Level& out) {
  if (name == "debug") out = Level::kDebug;
  else if (name == "info") out = Level::kInfo;
  else if (name == "warn") out = Level::kWarn;
  else if (name == "error") out = Level::kError;
  else if (name == "off") out = Level::kOff;
  else return false;
  return true;
}

void write(Level l, std::string_view message) {
  static constexpr spdlog::level::level_enum kMap[] = {spdlog::level::debug, spdlog::level::info,
                                                       spdlog::level::warn, spdlog::level::err,
                                                       spdlog::level::off};
  logger().log(kMap[static_cast<int>(l)], message);
}

}  // namespace portico::log
