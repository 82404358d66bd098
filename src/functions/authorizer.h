// Lambda authorizers (API Gateway's REQUEST and TOKEN types) as an auth method: the
// request's identity sources are handed to a function, whose answer — the simple
// {isAuthorized, context} or an IAM policy {principalId, policyDocument, context} —
// allows (the context becomes the principal's claims), denies (403) or fails (500:
// never an allow). Decisions are cached per identity values for the method's
// cache_ttl, in one cache for all workers, and concurrent requests with the same
// identity share one invocation. A policy decision is cached as the policy and
// matched against each request's route ARN, as API Gateway does.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/worker_auth.h"
#include "functions/host.h"

namespace portico::functions {

// What an authorizer answered, parsed once and shared by every request it decides.
struct AuthorizerDecision {
  std::string error;  // non-empty: the authorizer failed or answered nonsense (500)
  bool simple = true;
  bool authorized = false;  // simple responses
  struct Statement {
    bool allow = false;
    std::vector<std::string> actions;
    std::vector<std::string> resources;
  };
  std::vector<Statement> statements;  // IAM responses
  std::shared_ptr<const gateway::Principal> principal;

  // Allowed for this route ARN: a matching Deny wins, else a matching Allow is needed.
  bool allows(std::string_view arn) const;
};

// Parses an authorizer's result (exposed for tests).
AuthorizerDecision parse_authorizer_result(std::string_view payload, bool simple,
                                           const std::string& method_name);

// IAM's wildcards: '*' any run of characters, '?' exactly one.
bool iam_match(std::string_view pattern, std::string_view value);

class Authorizers final : public auth::AuthorizerBackend {
 public:
  Authorizers(FunctionHost& host, std::string region, std::string account_id);

  auth::AuthOutcome authorize(const config::Config& config, size_t method_index,
                              gateway::RequestContext& ctx,
                              const std::vector<std::string_view>& identity,
                              auth::AuthWaiter* waiter, net::EventLoop& loop) override;
  void cancel(auth::AuthWaiter* waiter) override;

 private:
  struct Waiting {
    auth::AuthWaiter* waiter;
    net::EventLoop* loop;
    gateway::RequestContext* ctx;
    std::shared_ptr<Ticket> alive;
  };
  struct Cached {
    int64_t expires_ms;
    std::shared_ptr<const AuthorizerDecision> decision;
  };

  auth::AuthOutcome evaluate(const AuthorizerDecision& d, gateway::RequestContext& ctx,
                             const std::string& name);
  void on_result(const std::string& key, int64_t ttl_ms, bool simple, const std::string& name,
                 InvocationResult&& result);

  FunctionHost& host_;
  std::string region_;
  std::string account_id_;
  std::mutex mu_;  // guards the maps below (taken by every worker)
  std::unordered_map<std::string, Cached> cache_;
  std::unordered_map<std::string, std::vector<Waiting>>
      in_flight_;  // by key: requests sharing one invocation
  std::unordered_map<auth::AuthWaiter*, std::pair<std::string, std::shared_ptr<Ticket>>> waiting_;
};

}  // namespace portico::functions
