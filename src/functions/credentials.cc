#include "functions/credentials.h"

#include <sys/random.h>

namespace portico::functions {
namespace {

// Secrets come from the kernel's random source (random_u64 is fast, not for secrets).
std::string random_text(size_t n, std::string_view alphabet) {
  std::string out;
  unsigned char buf[64];
  while (out.size() < n) {
    ssize_t got = getrandom(buf, sizeof buf, 0);
    if (got <= 0) continue;
    for (ssize_t i = 0; i < got && out.size() < n; ++i) {
      // Rejection sampling keeps every character equally likely.
      if (buf[i] >= 256 - 256 % alphabet.size()) continue;
      out += alphabet[buf[i] % alphabet.size()];
    }
  }
  return out;
}

}  // namespace

IssuedCredential FunctionCredentials::issue(const std::string& function) {
  IssuedCredential c;
  // AWS's shape: ASIA + 16 for temporary credentials, 40 characters of secret.
  c.access_key_id = "ASIA" + random_text(16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
  c.secret_access_key =
      random_text(40, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
  c.function = function;
  std::lock_guard lock(mu_);
  by_key_[c.access_key_id] = c;
  return c;
}

void FunctionCredentials::revoke(const std::string& access_key_id) {
  std::lock_guard lock(mu_);
  by_key_.erase(access_key_id);
}

std::optional<IssuedCredential> FunctionCredentials::find(std::string_view access_key_id) const {
  std::lock_guard lock(mu_);
  auto it = by_key_.find(std::string(access_key_id));
  if (it == by_key_.end()) return std::nullopt;
  return it->second;
}

}  // namespace portico::functions
