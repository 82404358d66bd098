// Who sent a request, once an auth method has established it: what later steps
// (authorization, rate limits keyed by consumer or claim) and the upstream see.
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

namespace portico::gateway {

struct Principal {
  std::string method;    // the auth method that established it
  std::string subject;   // "sub" of a JWT; the consumer's name for an API key
  std::string consumer;  // empty when the caller is not a known consumer
  std::vector<std::string> groups;  // the consumer's groups
  std::vector<std::string> scopes;
  boost::json::object claims;       // a JWT's claims, an authorizer's context; empty for API keys
  bool from_authorizer = false;     // claims hold a Lambda authorizer's context
  std::string principal_id;         // an IAM-answering authorizer's principalId
};

}  // namespace portico::gateway
