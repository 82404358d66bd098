// Templates for the values Portico writes into requests and responses: JSON documents
// (an envelope, an error shape, a value to set) whose strings may name values of the
// request and the answer with ${...}, and plain strings (a header's value).
//
//   {"data": "${body}", "meta": {"request_id": "${request_id}", "user": "${subject}"}}
//   "Bearer ${header.x-token}"       "${body.error.message|body.message|reason}"
//
// A string that is exactly one ${...} becomes that value with its JSON type (an object
// stays an object, a number a number; null when there is none); inside a longer string
// a value is written as text (strings as they are, others as JSON, nothing for null).
// `a|b|'text'` takes the first that is not null ('text': a literal). `$${` writes a literal "${".
// The names are listed in docs/formatting.md; an unknown one is an error when the template
// compiles.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.h"
#include "gateway/context.h"

namespace portico::format {

// What a template can see.
struct Scope {
  const gateway::RequestContext* request = nullptr;
  const boost::json::value* body = nullptr;  // the body so far; nullptr: none
  int status = 0;                            // the response's (0 on the request side)
  // An aggregate route's earlier answers, by backend name and by index (Names::kAggregate).
  const boost::json::value* responses = nullptr;
};

// The names a template may use: the standard ones, or those and `responses` (the calls
// of an aggregate route, which see the answers before them).
enum class Names { kStandard, kAggregate };

class Template {
 public:
  struct Node;  // template.cc
  Template();
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // A JSON document (the config's YAML, turned into JSON).
  static Result<Template> compile_json(std::string_view json, Names names = Names::kStandard);
  // One string.
  static Result<Template> compile_string(std::string_view text, Names names = Names::kStandard);

  boost::json::value render(const Scope& scope) const;
  std::string render_text(const Scope& scope) const;  // a string's text (for a header)

 private:
  std::unique_ptr<Node> root_;
};

// The request as JSON (for jq's $request): method, path, route, request_id, client_ip,
// params, query (a repeated name: an array), headers (lower-case names, repeats joined).
boost::json::value request_json(const gateway::RequestContext& ctx);
// The principal as JSON (for jq's $principal): subject, consumer, groups, scopes, claims
// (or an authorizer's context), method; null without one.
boost::json::value principal_json(const gateway::RequestContext& ctx);

}  // namespace portico::format
