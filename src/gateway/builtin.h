// Terminals that answer without an upstream: a fixed response from config ("respond")
// and "echo", which answers with a JSON description of the request as Portico saw it.
#pragma once

#include <memory>

#include "gateway/context.h"
#include "gateway/handler.h"

namespace portico::gateway {

std::unique_ptr<Handler> make_respond_handler(Downstream& ds, const config::Respond& respond);
// max_body: echo buffers the body to describe it, so it stops at the route's limit.
std::unique_ptr<Handler> make_echo_handler(Downstream& ds, const RequestContext& ctx);

}  // namespace portico::gateway
