// What the commands that talk to a running Portico share: finding its admin listener
// (--admin HOST:PORT, or server.admin of the config file) and one request to it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http/parser.h"
#include "net/socket.h"

namespace portico::cli {

// Takes `-c FILE`, `--config FILE` and `--admin HOST:PORT` out of args (from index 1).
struct AdminTarget {
  std::string config_path = "portico.yaml";
  std::string admin_text;
  // True if args[i] (and its value) was one of the options above; advances i.
  bool take_option(const std::vector<std::string>& args, size_t& i);
  // The admin address, or an error printed on stderr (prefixed with `command`).
  std::optional<net::Address> resolve(const char* command) const;
};

// The answer; its head and body are views into `raw`, so it is not copied or moved.
struct AdminResponse {
  std::string raw;
  http::ResponseHead head;
  std::string_view body;
  int status() const { return head.status; }
  const http::Header* header(std::string_view name) const {
    return http::find_header(head.headers, name);
  }
};

// One request on a fresh connection. extra_headers: preformatted lines.
std::unique_ptr<AdminResponse> admin_request(const net::Address& admin, const char* command,
                                           std::string_view method, std::string_view target,
                                           std::string_view body = {},
                                           std::string_view extra_headers = {});

}  // namespace portico::cli
