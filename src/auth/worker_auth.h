// One worker's authentication and authorization: finds the request's credential for the
// route's methods (tried in order: the first method whose credential is present decides),
// verifies it (JWT through the token cache, or an API key), builds the principal, and
// checks the route's access policy. Holds the worker's copy of every remote key set and
// the requests waiting for one.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/remote_keys.h"
#include "auth/token_cache.h"
#include "config/config.h"
#include "gateway/context.h"
#include "gateway/stats.h"
#include "net/event_loop.h"

namespace portico::auth {

struct AuthOutcome {
  enum class Kind : uint8_t { kAllowed, kDenied, kPending };
  Kind kind = Kind::kAllowed;
  int status = 0;
  std::string message;  // the JSON error's text
  std::string headers;  // WWW-Authenticate lines
  int method = -1;      // kPending: the method whose keys (or decision) are awaited
};

// A request waiting for signing keys being fetched, or for an authorizer's decision.
class AuthWaiter {
 public:
  virtual ~AuthWaiter() = default;
  // New keys (or a failed fetch) arrived: call check() again.
  virtual void on_keys_updated() = 0;
  // An authorizer decided (on the waiter's thread): pass it to WorkerAuth::complete().
  virtual void on_auth_decided(AuthOutcome outcome) = 0;
};

// Decides for authorizer methods: implemented where functions can be invoked (this
// module sits below them). One for the process, called from every worker.
class AuthorizerBackend {
 public:
  virtual ~AuthorizerBackend() = default;
  // kAllowed sets ctx.principal; kPending: waiter->on_auth_decided() follows on loop's
  // thread (unless cancel() comes first). `identity`: the values of the method's
  // identity sources, in order.
  virtual AuthOutcome authorize(const config::Config& config, size_t method_index, gateway::RequestContext& ctx,
                                const std::vector<std::string_view>& identity, AuthWaiter* waiter,
                                net::EventLoop& loop) = 0;
  virtual void cancel(AuthWaiter* waiter) = 0;
};

class WorkerAuth {
 public:
  WorkerAuth(net::EventLoop& loop, JwksFetcher* fetcher, AuthorizerBackend* authorizers = nullptr)
      : loop_(loop), fetcher_(fetcher), authorizers_(authorizers) {}

  void update_jwks(const std::string& url, std::shared_ptr<const RemoteKeys> keys);

  // kAllowed sets ctx.principal and the upstream header changes (forwarded claims,
  // stripped credentials). kPending: waiter->on_keys_updated() comes later.
  AuthOutcome check(const config::Config& config, const config::Route& route, gateway::RequestContext& ctx,
                    AuthWaiter* waiter);
  void cancel_wait(AuthWaiter* waiter);
  // An authorizer's decision for a request that waited for it (method: the pending
  // outcome's): counted, and when allowed, the route's access policy and forwarding.
  AuthOutcome complete(const config::Config& config, const config::Route& route, int method,
                       gateway::RequestContext& ctx, AuthOutcome decided);
  // A request waited too long for a key fetch (outcome.method of kPending): the method's
  // unavailable answer, counted.
  AuthOutcome wait_timed_out(const config::Config& config, int method, gateway::RequestContext& ctx);

 private:
  struct Remote {
    std::shared_ptr<const RemoteKeys> keys;
    std::vector<AuthWaiter*> waiters;
    int64_t last_refetch_ms = -1'000'000'000;
  };
  struct MethodCache {
    uint64_t generation = 0;  // the config the entries were verified under
    TokenCache tokens{0};
  };

  AuthOutcome decide(const config::Config& config, const config::Route& route, gateway::RequestContext& ctx,
                     AuthWaiter* waiter, int& method_index);
  AuthOutcome jwt(const config::Config& config, size_t method_index, std::string_view token,
                  gateway::RequestContext& ctx, AuthWaiter* waiter, gateway::AuthCounters& counters);
  AuthOutcome api_key(const config::Config& config, const config::AuthMethod& method, std::string_view key,
                      gateway::RequestContext& ctx);
  AuthOutcome wait(Remote& remote, AuthWaiter* waiter, size_t method_index);
  AuthOutcome authorizer(const config::Config& config, size_t method_index, gateway::RequestContext& ctx,
                         const std::vector<std::string_view>& identity, AuthWaiter* waiter);
  // After a method allowed: what the route requires of the principal, and what goes on.
  AuthOutcome admit(const config::Route& route, const config::AuthMethod& method, gateway::RequestContext& ctx,
                    const config::CredentialSource* credential);
  void count(const config::Config& config, const config::Route& route, int method, const AuthOutcome& o,
             gateway::RequestContext& ctx);
  static AuthOutcome unavailable(const config::JwtMethod& jwt);
  std::shared_ptr<const gateway::Principal> principal_of(const config::Config& config, const config::AuthMethod& method,
                                                         const boost::json::object& claims);

  net::EventLoop& loop_;
  JwksFetcher* fetcher_;
  AuthorizerBackend* authorizers_;
  std::unordered_map<std::string, Remote> remote_;        // by JWKS URL
  std::vector<MethodCache> caches_;                        // by method index in the config
};

// The route's access policy for an authenticated principal: nullopt, or the 403.
std::optional<AuthOutcome> authorize(const config::AccessPolicy& policy, const gateway::Principal& principal);

}  // namespace portico::auth
