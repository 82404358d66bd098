#include "services/services_server.h"

#include <fmt/format.h>

#include "aws/sigv4.h"
#include "core/clock.h"
#include "gateway/snapshot.h"
#include "services/aws_response.h"
#include "services/lambda_api.h"

namespace portico::services {

ServicesServer::ServicesServer(net::EventLoop& loop,
                               const std::shared_ptr<const gateway::Snapshot>& snapshot,
                               functions::FunctionHost& functions, async::AsyncInvoker* async,
                               int listen_fd)
    : LoopServer(loop, listen_fd), snapshot_(snapshot), functions_(functions), async_(async) {}

std::unique_ptr<gateway::Handler> ServicesServer::dispatch(gateway::Downstream& ds,
                                                           gateway::RequestContext& ctx) {
  // The signature covers the body's hash: read it whole first.
  return read_body_then(
      ds, [this, &ds, &ctx](std::string body) { return serve(ds, ctx, std::move(body)); });
}

std::unique_ptr<gateway::Handler> ServicesServer::serve(gateway::Downstream& ds,
                                                        gateway::RequestContext& ctx,
                                                        std::string body) {
  const config::Services& services = ctx.snapshot->config->services;
  const http::RequestHead& req = *ctx.request;
  std::string payload_hash = aws::sha256_hex(body);
  aws::SigV4Request sreq;
  sreq.method = req.method;
  sreq.path = req.path;
  sreq.query = req.query;
  for (const auto& h : req.headers) sreq.headers.emplace_back(h.name, h.value);
  sreq.payload_hash = payload_hash;
  aws::SigV4Options options;
  options.region = services.region;
  auto refuse = [&](const aws::SigV4Error& e) {
    send_error(ds, e.http_status, ctx.request_id, e.code, e.message);
    return nullptr;
  };
  auto auth = aws::parse_sigv4(sreq, options);
  if (!auth) return refuse(auth.error());
  // The configured keys, then the functions' own.
  Caller caller{auth->access_key_id, {}};
  std::string secret;
  bool known = false;
  for (const auto& c : services.credentials) {
    if (c.access_key_id == auth->access_key_id) {
      secret = c.secret_access_key;
      known = true;
      break;
    }
  }
  if (!known) {
    if (auto fc = functions_.function_credential(auth->access_key_id)) {
      secret = fc->secret_access_key;
      caller.function = fc->function;
      known = true;
    }
  }
  if (!known) return refuse(aws::unknown_access_key(options));
  auto verified = aws::verify_sigv4(sreq, *auth, secret, wall_ms() / 1000, options);
  if (!verified) return refuse(verified.error());
  if (auth->service == "lambda") return lambda_request(ds, ctx, std::move(body), {functions_, async_}, loop_);
  send_error(ds, 400, ctx.request_id, "UnknownServiceException",
             fmt::format("the service \"{}\" is not offered here (this Portico serves: lambda)",
                         auth->service));
  return nullptr;
}

}  // namespace portico::services
