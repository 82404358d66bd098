// The `aggregate:` route terminal (docs/aggregation.md): one client request becomes a
// call to each backend — in parallel, or one after another when later calls need
// earlier answers — and their JSON answers become one.
//
//   client ─▶ aggregate ─┬─▶ call "user"     (an upstream route's terminal: the proxy)
//                        ├─▶ call "invoices" (a function route's terminal)
//                        └─▶ ...            ─▶ combine (combine.h) ─▶ 200 JSON
//
// Each call is a request of Portico's own, run by the terminal of the backend's route
// (the worker's make_terminal), so it gets the balancing, retries, circuit breakers,
// passive health and metrics every upstream route has; its answer is collected here
// instead of going to a client. A backend that fails or outlives its timeout is left
// out (X-Portico-Partial, and the route's partial_field) or, with on_failure: fail,
// fails the whole request at once.
#pragma once

#include <memory>

#include "aggregate/plan.h"
#include "filters/chain.h"
#include "gateway/context.h"
#include "gateway/handler.h"
#include "net/event_loop.h"

namespace portico::aggregate {

// plan: the route's, in the snapshot ctx pins (so it outlives the request).
std::unique_ptr<gateway::Handler> make_aggregate_handler(gateway::Downstream& ds,
                                                         gateway::RequestContext& ctx,
                                                         const RoutePlan& plan,
                                                         filters::TerminalFactory& terminals,
                                                         net::EventLoop& loop);

}  // namespace portico::aggregate
