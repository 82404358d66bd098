#include "cli/logs.h"

#include <unistd.h>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "cli/admin_client.h"
#include "config/loader.h"
#include "core/clock.h"
#include "core/strings.h"

namespace portico::cli {
namespace {

namespace json = boost::json;

constexpr const char* kUsage =
    "usage: portico logs NAME [--since DURATION] [--follow] [--limit N] [--json]\n"
    "                    [-c FILE | --admin HOST:PORT]\n"
    "  --since   how far back (10m, 2h, 1d; 0 for all that is kept); default 10m\n";
constexpr int kFollowIntervalMs = 500;

}  // namespace

int logs_command(const std::vector<std::string>& args) {
  AdminTarget target;
  std::string name;
  int64_t since_ms = 10 * 60'000;
  uint64_t limit = 0;
  bool follow = false, raw = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (target.take_option(args, i)) continue;
    if (a == "--follow" || a == "-f") {
      follow = true;
    } else if (a == "--json") {
      raw = true;
    } else if (a == "--since" && i + 1 < args.size()) {
      const std::string& v = args[++i];
      if (v != "0" && (!config::parse_duration_ms(v, since_ms) || since_ms <= 0)) {
        fmt::print(stderr, "portico logs: --since: \"{}\" is not a duration (10m, 2h, 1d)\n", v);
        return 2;
      }
      if (v == "0") since_ms = 0;
    } else if (a == "--limit" && i + 1 < args.size()) {
      auto n = parse_u64(args[++i]);
      if (!n || *n == 0) {
        fmt::print(stderr, "portico logs: --limit must be a positive integer\n");
        return 2;
      }
      limit = *n;
    } else if (name.empty() && !a.empty() && a[0] != '-') {
      name = a;
    } else {
      fmt::print(stderr, "portico logs: unexpected \"{}\"\n{}", a, kUsage);
      return 2;
    }
  }
  if (name.empty()) {
    fmt::print(stderr, "{}", kUsage);
    return 2;
  }
  auto admin = target.resolve("logs");
  if (!admin) return 2;
  int64_t start = since_ms > 0 ? wall_ms() - since_ms : 0;
  int64_t after = 0;
  uint64_t printed = 0;
  for (;;) {
    std::string path = fmt::format("/logs/{}?start={}&after={}", name, start, after);
    if (limit > 0) path += fmt::format("&limit={}", limit - printed);
    auto r = admin_request(*admin, "logs", "GET", path);
    if (!r) return 1;
    if (r->status() != 200) {
      fmt::print(stderr, "portico logs: {}", r->body);
      return 1;
    }
    boost::system::error_code ec;
    json::value doc = json::parse(r->body, ec);
    const json::value* events = !ec && doc.is_object() ? doc.as_object().if_contains("events") : nullptr;
    if (events == nullptr || !events->is_array()) {
      fmt::print(stderr, "portico logs: the admin listener's answer cannot be read: {}\n", r->body);
      return 1;
    }
    for (const auto& e : events->as_array()) {
      const json::object& o = e.as_object();
      after = o.at("seq").to_number<int64_t>();
      ++printed;
      if (raw) {
        fmt::print("{}\n", json::serialize(o));
        continue;
      }
      char when[64];
      format_iso8601_ms(o.at("timestamp").to_number<int64_t>(), when);
      std::string_view id = o.at("requestId").as_string();
      fmt::print("{} {} {}\n", when, id.empty() ? "-" : id, std::string_view(o.at("message").as_string()));
    }
    fflush(stdout);
    if (limit > 0 && printed >= limit) return 0;
    // A full page: there may be more now; otherwise wait for new lines (following) or stop.
    if (!events->as_array().empty() && events->as_array().size() >= 1000) continue;
    if (!follow) return 0;
    usleep(kFollowIntervalMs * 1000);
  }
}

}  // namespace portico::cli
