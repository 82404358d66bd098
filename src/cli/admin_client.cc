#include "cli/admin_client.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "config/loader.h"

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

bool AdminTarget::take_option(const std::vector<std::string>& args, size_t& i) {
  const std::string& a = args[i];
  if ((a == "-c" || a == "--config") && i + 1 < args.size()) {
    config_path = args[++i];
    return true;
  }
  if (a == "--admin" && i + 1 < args.size()) {
    admin_text = args[++i];
    return true;
  }
  return false;
}

std::optional<net::Address> AdminTarget::resolve(const char* command) const {
  if (!admin_text.empty()) {
    auto a = net::parse_address(admin_text, true);
    if (!a) {
      fmt::print(stderr, "portico {}: --admin: {}\n", command, a.error().message);
      return std::nullopt;
    }
    return *a;
  }
  std::vector<config::Diagnostic> errors;
  auto cfg = config::load_config_file(config_path, errors);
  if (!cfg) {
    fmt::print(stderr, "{}", config::format_diagnostics(errors));
    return std::nullopt;
  }
  if (!cfg->server.admin || cfg->server.admin->port() == 0) {
    fmt::print(stderr,
               "portico {}: {} names no fixed admin address (server.admin is off or port 0): "
               "pass --admin HOST:PORT\n",
               command, config_path);
    return std::nullopt;
  }
  return *cfg->server.admin;
}

std::unique_ptr<AdminResponse> admin_request(const net::Address& admin, const char* command,
                                           std::string_view method, std::string_view target,
                                           std::string_view body,
                                           std::string_view extra_headers) {
  std::string request = fmt::format(
      "{} {} HTTP/1.1\r\nHost: {}\r\n{}Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      method, target, admin.to_string(), extra_headers, body.size(), body);
  auto r = std::make_unique<AdminResponse>();
  std::string error;
  if (!exchange(admin, request, r->raw, error)) {
    fmt::print(stderr, "portico {}: {}\n", command, error);
    return nullptr;
  }
  http::ParseError perr;
  if (http::parse_response(r->raw, http::ParseLimits{}, false, r->head, perr) !=
      http::ParseResult::kComplete) {
    fmt::print(stderr, "portico {}: the admin listener's answer cannot be read\n", command);
    return nullptr;
  }
  r->body = std::string_view(r->raw).substr(r->head.head_size);
  return r;
}

}  // namespace portico::cli
