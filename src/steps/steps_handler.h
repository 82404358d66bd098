// The `steps:` route terminal (docs/steps.md): a route's steps run in order, each step's
// output the next one's input, all under the route's timeout:
//
//   request body ─▶ [validate] ─▶ function ─▶ result ─▶ [validate] ─▶ function ─▶ ... ─▶ client
//
// The first function gets API Gateway's event for the request; a later one gets the
// result before it (build_result_event). A validate step checks the body the steps
// carry: the request's (400 listing every violation) or a function's result (502: the
// route broke its own contract). A function that fails, or answers 4xx/5xx, ends the
// steps with that answer; the log names the step.
#pragma once

#include <memory>
#include <vector>

#include "functions/host.h"
#include "gateway/context.h"
#include "gateway/handler.h"
#include "net/event_loop.h"
#include "schema/schema.h"

namespace portico::steps {

// schemas: the route's compiled validate steps, by step index (filters::RouteChain, in
// the snapshot ctx pins, so they outlive the request).
std::unique_ptr<gateway::Handler> make_steps_handler(
    gateway::Downstream& ds, gateway::RequestContext& ctx,
    const std::vector<std::shared_ptr<const schema::Schema>>& schemas,
    functions::FunctionHost& host, net::EventLoop& loop);

}  // namespace portico::steps
