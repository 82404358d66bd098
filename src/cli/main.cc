// portico: the command line. `portico run` serves, `portico check` validates a config.
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/server.h"
#include "cli/dlq.h"
#include "cli/invoke.h"
#include "cli/logs.h"
#include "core/log.h"

namespace {

constexpr const char* kVersion = "0.1.0";

void usage(FILE* out) {
  fmt::print(out,
             "usage: portico <command> [options]\n"
             "\n"
             "commands:\n"
             "  run [-c FILE]     serve with the config in FILE (default: portico.yaml)\n"
             "  check FILE...     validate config files exactly as run and reload load them\n"
             "  invoke NAME       invoke a function of a running Portico (admin listener):\n"
             "                    [--payload JSON|@FILE] [--async] [-c FILE | --admin HOST:PORT];\n"
             "                    the result on stdout, its log on stderr\n"
             "  dlq ACTION [FN]   dead letters of asynchronous invocation: list, replay or purge\n"
             "                    [--id REQUEST_ID] [--json] [-c FILE | --admin HOST:PORT]\n"
             "  logs NAME         a function's log lines: [--since 10m] [--follow] [--limit N]\n"
             "                    [--json] [-c FILE | --admin HOST:PORT]\n"
             "  version           print the version\n"
             "\n"
             "run options:\n"
             "  -c, --config FILE     config file\n"
             "  --log-level LEVEL     debug, info, warn, error or off (overrides server.log_level)\n"
             "  --no-watch            do not reload when the config file changes\n"
             "\n"
             "signals: SIGHUP reloads the config; SIGTERM/SIGINT drain and stop.\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "-h" || args[0] == "--help") {
    usage(args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  const std::string& cmd = args[0];
  if (cmd == "version" || cmd == "--version") {
    fmt::print("portico {}\n", kVersion);
    return 0;
  }
  if (cmd == "check") {
    if (args.size() < 2) {
      fmt::print(stderr, "portico check: name a config file\n");
      return 2;
    }
    int rc = 0;
    for (size_t i = 1; i < args.size(); ++i) rc |= portico::app::check_config(args[i]);
    return rc;
  }
  if (cmd == "invoke") return portico::cli::invoke_command(args);
  if (cmd == "dlq") return portico::cli::dlq_command(args);
  if (cmd == "logs") return portico::cli::logs_command(args);
  if (cmd == "run") {
    portico::app::Options opts;
    for (size_t i = 1; i < args.size(); ++i) {
      const std::string& a = args[i];
      if ((a == "-c" || a == "--config") && i + 1 < args.size()) {
        opts.config_path = args[++i];
      } else if (a == "--log-level" && i + 1 < args.size()) {
        opts.log_level = args[++i];
        portico::log::Level l;
        if (!portico::log::parse_level(opts.log_level, l)) {
          fmt::print(stderr, "portico: unknown log level \"{}\"\n", opts.log_level);
          return 2;
        }
      } else if (a == "--no-watch") {
        opts.watch = false;
      } else {
        fmt::print(stderr, "portico run: unknown option \"{}\"\n", a);
        usage(stderr);
        return 2;
      }
    }
    portico::app::Server server(opts);
    return server.run();
  }
  fmt::print(stderr, "portico: unknown command \"{}\"\n", cmd);
  usage(stderr);
  return 2;
}
