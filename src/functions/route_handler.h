// The `function:` route terminal: reads the request body, builds API Gateway's event
// (payload format 2.0 or 1.0), invokes the function (at its home loop) and
// answers with the function's result mapped as API Gateway maps it. Failures answer
// 502 (the function failed or answered nonsense), 504 (it timed out), 429 (no
// instance free) or 503 (the function is gone).
#pragma once

#include <memory>

#include "functions/host.h"
#include "gateway/context.h"
#include "gateway/handler.h"
#include "net/event_loop.h"

namespace portico::functions {

std::unique_ptr<gateway::Handler> make_function_handler(gateway::Downstream& ds,
                                                        gateway::RequestContext& ctx,
                                                        FunctionHost& host, net::EventLoop& loop);

}  // namespace portico::functions
