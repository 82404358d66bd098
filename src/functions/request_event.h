// API Gateway's event for a request as Portico routed it: the glue between a
// RequestContext and the pure builders of api_gateway.h, shared by function routes
// and authorizer functions.
#pragma once

#include <string>
#include <string_view>

#include "gateway/context.h"

namespace portico::functions {

// Which request an event describes: as the route's filters shaped it (a function
// route's: request shaping's headers and query, forwarded values in place of the
// client's copies; the credential stays, as API Gateway passes it), or as the client
// sent it (an authorizer's, which runs before any shaping).
enum class EventRequest { kShaped, kAsSent };

// The payload format 2.0 (v1 false) or 1.0 event; arrived_ms: the wall clock when the
// request arrived.
std::string request_event(const gateway::RequestContext& ctx, bool v1, std::string_view body,
                          int64_t arrived_ms, EventRequest as = EventRequest::kShaped);

// "arn:aws:execute-api:REGION:ACCOUNT:API/STAGE/METHOD/path", API Gateway's ARN for
// the request (what an authorizer's IAM policy names).
std::string route_arn(const gateway::RequestContext& ctx, std::string_view region,
                      std::string_view account_id);

}  // namespace portico::functions
