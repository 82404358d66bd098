// Lambda's control and data plane as far as clients of functions need it, on the
// services listener: Invoke (POST /2015-03-31/functions/{name}/invocations with
// RequestResponse, Event (stored durably, then run) or DryRun, X-Amz-Log-Type: Tail,
// X-Amz-Client-Context), and
// ListFunctions / GetFunction / GetFunctionConfiguration for `aws lambda
// list-functions` and `get-function`. The request is already authenticated.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "async/async_invoker.h"
#include "functions/host.h"
#include "gateway/context.h"
#include "gateway/handler.h"
#include "net/event_loop.h"

namespace portico::services {

// Answers ctx's request (its body already read) through ds; the returned handler (may
// be null) stays alive while an invocation runs.
// Reads the whole request body, then calls `then` with it; the handler `then` returns
// (may be null) takes over.
using WithBody = std::function<std::unique_ptr<gateway::Handler>(std::string body)>;
std::unique_ptr<gateway::Handler> read_body_then(gateway::Downstream& ds, WithBody then);

// What Lambda's API runs on: the function host, and the asynchronous invoker (null
// where Event invocations are not offered).
struct LambdaBackend {
  functions::FunctionHost& host;
  async::AsyncInvoker* async = nullptr;
};

std::unique_ptr<gateway::Handler> lambda_request(gateway::Downstream& ds,
                                                 gateway::RequestContext& ctx, std::string body,
                                                 const LambdaBackend& backend,
                                                 net::EventLoop& loop);

}  // namespace portico::services
