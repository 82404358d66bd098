#include "cli/invoke.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/loader.h"
#include "core/base64.h"
#include "http/parser.h"
#include "net/socket.h"

namespace portico::cli {
namespace {

// One blocking request on a fresh connection; the whole answer until the server closes.
bool exchange(const net::Address& addr, const std::string& request, std::string& response,
              std::string& error) {
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, addr.sa(), addr.len) != 0) {
    error = fmt::format("cannot connect to the admin listener {}: {} (is Portico running?)",
                        addr.to_string(), strerror(errno));
    if (fd >= 0) ::close(fd);
    return false;
  }
  size_t off = 0;
  while (off < request.size()) {
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      error = fmt::format("sending the request: {}", strerror(errno));
      ::close(fd);
      return false;
    }
    off += static_cast<size_t>(n);
  }
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return true;
}

}  // namespace

int invoke_command(const std::vector<std::string>& args) {
  std::string config_path = "portico.yaml", name, payload = "{}", admin_text;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if ((a == "-c" || a == "--config") && i + 1 < args.size()) {
      config_path = args[++i];
    } else if (a == "--admin" && i + 1 < args.size()) {
      admin_text = args[++i];
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
      fmt::print(stderr,
                 "portico invoke: unknown option \"{}\"\nusage: portico invoke NAME [--payload "
                 "JSON|@FILE] [-c FILE | --admin HOST:PORT]\n",
                 a);
      return 2;
    }
  }
  if (name.empty()) {
    fmt::print(stderr,
               "usage: portico invoke NAME [--payload JSON|@FILE] [-c FILE | --admin HOST:PORT]\n");
    return 2;
  }
  net::Address admin;
  if (!admin_text.empty()) {
    auto a = net::parse_address(admin_text, true);
    if (!a) {
      fmt::print(stderr, "portico invoke: --admin: {}\n", a.error().message);
      return 2;
    }
    admin = *a;
  } else {
    std::vector<config::Diagnostic> errors;
    auto cfg = config::load_config_file(config_path, errors);
    if (!cfg) {
      fmt::print(stderr, "{}", config::format_diagnostics(errors));
      return 2;
    }
    if (!cfg->server.admin || cfg->server.admin->port() == 0) {
      fmt::print(stderr,
                 "portico invoke: {} names no fixed admin address (server.admin is off or port 0): "
                 "pass --admin HOST:PORT\n",
                 config_path);
      return 2;
    }
    admin = *cfg->server.admin;
  }
  std::string request = fmt::format(
      "POST /2015-03-31/functions/{}/invocations HTTP/1.1\r\nHost: {}\r\nContent-Type: "
      "application/json\r\n"
      "X-Amz-Log-Type: Tail\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      name, admin.to_string(), payload.size(), payload);
  std::string response, error;
  if (!exchange(admin, request, response, error)) {
    fmt::print(stderr, "portico invoke: {}\n", error);
    return 1;
  }
  http::ResponseHead head;
  http::ParseError perr;
  if (http::parse_response(response, http::ParseLimits{}, false, head, perr) !=
      http::ParseResult::kComplete) {
    fmt::print(stderr, "portico invoke: the admin listener's answer cannot be read\n");
    return 1;
  }
  std::string_view body = std::string_view(response).substr(head.head_size);
  if (const http::Header* log = http::find_header(head.headers, "x-amz-log-result")) {
    if (auto text = base64_decode(log->value)) fmt::print(stderr, "{}", *text);
  }
  fmt::print("{}\n", body);
  if (head.status != 200) return 1;
  return http::find_header(head.headers, "x-amz-function-error") != nullptr ? 1 : 0;
}

}  // namespace portico::cli
