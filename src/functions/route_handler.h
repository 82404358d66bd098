// The `function:` route terminal: reads the request body, builds API Gateway's event
// (payload format 2.0 or 1.0), invokes the function (at its home loop) and
// answers with the function's result mapped as API Gateway maps it. Failures answer
// 502 (the function failed or answered nonsense), 504 (it timed out), 429 (no
// instance free) or 503 (the function is gone).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "functions/api_gateway.h"
#include "functions/host.h"
#include "gateway/context.h"
#include "gateway/handler.h"
#include "net/event_loop.h"

namespace portico::functions {

// How a route answers an invocation that produced no result (throttled 429, timed out
// 504, gone 503, failed 502), naming the function; nullopt for a result.
struct FunctionFailure {
  int status = 502;
  std::string message;        // for the client
  std::string error;          // for the access log (ctx.error)
  std::string extra_headers;  // "Retry-After: 1\r\n" for 429
};
std::optional<FunctionFailure> invocation_failure(const InvocationResult& r,
                                                  std::string_view function);

// A mapped result, whole, through ds (no body for HEAD, 1xx, 204 and 304).
void send_http_result(gateway::Downstream& ds, const gateway::RequestContext& ctx,
                      const HttpResult& res);

std::unique_ptr<gateway::Handler> make_function_handler(gateway::Downstream& ds,
                                                        gateway::RequestContext& ctx,
                                                        FunctionHost& host, net::EventLoop& loop);

}  // namespace portico::functions
