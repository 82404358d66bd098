// Process log (not the access log): leveled, one line per event, to stderr.
// Formatting happens only when the level is enabled; spdlog stays out of headers.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace portico::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void set_level(Level level);
Level level();
bool parse_level(std::string_view name, Level& out);
void write(Level level, std::string_view message);

inline bool enabled(Level l) { return l >= level(); }

template <typename... A>
void debug(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::kDebug)) write(Level::kDebug, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void info(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::kInfo)) write(Level::kInfo, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void warn(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::kWarn)) write(Level::kWarn, fmt::format(f, std::forward<A>(a)...));
}
template <typename... A>
void error(fmt::format_string<A...> f, A&&... a) {
  if (enabled(Level::kError)) write(Level::kError, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace portico::log
