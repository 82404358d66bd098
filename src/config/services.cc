// The `services:` section: the listener of the AWS-compatible APIs, the region and
// account they answer as, and the access keys that may sign requests to them.
#include <algorithm>
#include <cstdlib>

#include <fmt/format.h>

#include "config/sections.h"

namespace portico::config {

void read_services(Context& ctx, Config& cfg, const YAML::Node& node) {
  Services& s = cfg.services;
  MapReader m(ctx, node, "services");
  if (!m.valid()) return;
  s.enabled = true;
  s.listen_text = "127.0.0.1:4566";
  if (auto v = m.get("listen"); v.IsDefined())
    ctx.read_string(v, m.path_of("listen"), s.listen_text);
  auto a = net::parse_address(s.listen_text, true);
  if (a)
    s.listen = *a;
  else
    ctx.error(m.get("listen"), m.path_of("listen"), a.error().message);
  if (auto v = m.get("region");
      v.IsDefined() && ctx.read_string(v, m.path_of("region"), s.region)) {
    bool ok = !s.region.empty() && std::all_of(s.region.begin(), s.region.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
    if (!ok) ctx.error(v, m.path_of("region"), "expected a region name such as us-east-1");
  }
  if (auto v = m.get("account_id");
      v.IsDefined() && ctx.read_string(v, m.path_of("account_id"), s.account_id)) {
    if (s.account_id.size() != 12 ||
        !std::all_of(s.account_id.begin(), s.account_id.end(), ::isdigit)) {
      ctx.error(v, m.path_of("account_id"),
                "expected 12 digits (quote it: account_id: \"000000000000\")");
    }
  }
  YAML::Node creds = m.get("credentials");
  if (!creds.IsDefined()) return;
  if (!creds.IsSequence()) {
    ctx.error(creds, m.path_of("credentials"),
              "expected a list of {access_key_id, secret_access_key | secret_access_key_env}");
    return;
  }
  for (size_t i = 0; i < creds.size(); ++i) {
    std::string path = fmt::format("services.credentials[{}]", i);
    MapReader c(ctx, creds[i], path);
    if (!c.valid()) continue;
    ServiceCredential cred;
    if (auto v = c.get("access_key_id"); !v.IsDefined()) {
      ctx.error(creds[i], path, "missing key \"access_key_id\"");
    } else if (ctx.read_string(v, c.path_of("access_key_id"), cred.access_key_id) &&
               (cred.access_key_id.size() < 3 ||
                cred.access_key_id.find_first_of(" /=,") != std::string::npos)) {
      ctx.error(v, c.path_of("access_key_id"),
                "expected at least 3 characters, none of space / = ,");
    }
    YAML::Node secret = c.get("secret_access_key"), secret_env = c.get("secret_access_key_env");
    if (secret.IsDefined() == secret_env.IsDefined()) {
      ctx.error(creds[i], path, "needs one of secret_access_key, secret_access_key_env");
    } else if (secret.IsDefined()) {
      ctx.read_string(secret, c.path_of("secret_access_key"), cred.secret_access_key);
    } else {
      std::string var;
      if (ctx.read_string(secret_env, c.path_of("secret_access_key_env"), var)) {
        const char* value = std::getenv(var.c_str());
        if (value == nullptr || *value == '\0') {
          ctx.error(secret_env, c.path_of("secret_access_key_env"),
                    fmt::format("the environment variable {} is not set", var));
        } else {
          cred.secret_access_key = value;
        }
      }
    }
    for (const auto& other : s.credentials) {
      if (other.access_key_id == cred.access_key_id) {
        ctx.error(creds[i], path,
                  fmt::format("the access key \"{}\" is listed twice", cred.access_key_id));
      }
    }
    s.credentials.push_back(std::move(cred));
  }
}

}  // namespace portico::config
