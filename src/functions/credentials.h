// Each function's own access key, as Lambda gives each function its role's
// credentials: instances get it in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, so the
// AWS SDK inside a function signs its calls to Portico's services unmodified, and the
// services know which function is calling. Issued when a function's pool is created,
// revoked when it is retired. Thread-safe: the services listener looks keys up.
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portico::functions {

struct IssuedCredential {
  std::string access_key_id;
  std::string secret_access_key;
  std::string function;
};

class FunctionCredentials {
 public:
  IssuedCredential issue(const std::string& function);
  void revoke(const std::string& access_key_id);
  std::optional<IssuedCredential> find(std::string_view access_key_id) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, IssuedCredential> by_key_;
};

}  // namespace portico::functions
