#include "cli/invoke.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "cli/admin_client.h"
#include "core/base64.h"

namespace portico::cli {
namespace {

constexpr const char* kUsage =
    "usage: portico invoke NAME [--payload JSON|@FILE] [--async] [-c FILE | --admin HOST:PORT]\n";

}  // namespace

int invoke_command(const std::vector<std::string>& args) {
  AdminTarget target;
  std::string name, payload = "{}";
  bool async = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (target.take_option(args, i)) continue;
    if (a == "--async") {
      async = true;
    } else if (a == "--payload" && i + 1 < args.size()) {
      payload = args[++i];
      if (!payload.empty() && payload[0] == '@') {
        std::ifstream in(payload.substr(1), std::ios::binary);
        if (!in) {
          fmt::print(stderr, "portico invoke: cannot read {}: {}\n", payload.substr(1),
                     strerror(errno));
          return 2;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        payload = ss.str();
      }
    } else if (name.empty() && !a.empty() && a[0] != '-') {
      name = a;
    } else {
      fmt::print(stderr, "portico invoke: unknown option \"{}\"\n{}", a, kUsage);
      return 2;
    }
  }
  if (name.empty()) {
    fmt::print(stderr, "{}", kUsage);
    return 2;
  }
  auto admin = target.resolve("invoke");
  if (!admin) return 2;
  std::string headers = async ? "Content-Type: application/json\r\nX-Amz-Invocation-Type: Event\r\n"
                              : "Content-Type: application/json\r\nX-Amz-Log-Type: Tail\r\n";
  auto r = admin_request(*admin, "invoke", "POST",
                         fmt::format("/2015-03-31/functions/{}/invocations", name), payload, headers);
  if (!r) return 1;
  if (async) {
    if (r->status() != 202) {
      fmt::print(stderr, "portico invoke: {}\n", r->body);
      return 1;
    }
    const http::Header* id = r->header("x-amzn-requestid");
    fmt::print("accepted: request id {}\n", id != nullptr ? id->value : "?");
    return 0;
  }
  if (const http::Header* log = r->header("x-amz-log-result")) {
    if (auto text = base64_decode(log->value)) fmt::print(stderr, "{}", *text);
  }
  fmt::print("{}\n", r->body);
  if (r->status() != 200) return 1;
  return r->header("x-amz-function-error") != nullptr ? 1 : 0;
}

}  // namespace portico::cli
