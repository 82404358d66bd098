// The contract of one step in a route's filter chain (see chain.h for how a request
// moves through it, registry.cc for which filters exist and in what order).
//
// A route's filters are built in two halves:
//   - a FilterFactory per route and filter, made once per config load (immutable,
//     shared by every worker and request of that config: parsed settings, compiled
//     schemas), and
//   - a Filter per request, made by the factory when the request reaches the chain:
//     the state of this request in this filter (a wait for Redis, a token).
//
// A chain is an onion: filters are listed from the outside in, the request side runs
// them in that order and the response side in the reverse one, so the filter nearest
// the terminal sees the response first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/context.h"
#include "gateway/handler.h"

namespace portico::net {
class EventLoop;
}
namespace portico::auth {
class WorkerAuth;
}
namespace portico::ratelimit {
class WorkerLimiter;
}

namespace portico::filters {

// The most filters a route can have: one per slot of the registry (registry.cc checks).
inline constexpr size_t kMaxFilters = 12;

// What a filter decides about the request.
enum class Verdict : uint8_t {
  kContinue,  // on to the next filter (or the terminal)
  kAnswered,  // the filter answered (through FilterControl::refuse): the chain stops
  kPause,     // the filter waits (Redis, signing keys, a function) and calls resume() or refuse()
              // later
};

// The worker-owned services filters use; one per worker, outliving every request.
struct WorkerServices {
  net::EventLoop* loop = nullptr;
  auth::WorkerAuth* auth = nullptr;
  ratelimit::WorkerLimiter* limiter = nullptr;
};

// What a filter may ask of the chain it runs in.
class FilterControl {
 public:
  virtual ~FilterControl() = default;
  virtual gateway::RequestContext& context() = 0;
  // A paused filter passes: the chain goes on with the next filter.
  virtual void resume() = 0;
  // Answers the request with Portico's JSON error ({"error": message, "request_id"})
  // and stops the chain. extra_headers: preformatted lines ("Retry-After: 1\r\n").
  virtual void refuse(int status, std::string_view message,
                      std::string_view extra_headers = {}) = 0;
  // Answers with a JSON body of the filter's own (a list of violations) and stops.
  virtual void respond_json(int status, std::string body, std::string_view extra_headers = {}) = 0;
  // Reads the whole request body (within the route's body limit) and then calls the
  // current filter's on_request_body; the filter returns kPause after asking. The
  // terminal gets the body as read (or as the filter changed it).
  virtual void read_body() = 0;
};

// The response as the filters see it, before any of it reaches the client.
struct ResponseHead {
  int status = 0;
  std::string reason;  // empty: the standard phrase
  std::string
      headers;  // "Name: value\r\n" lines (Portico's own, ctx.response_headers, are added after)
  gateway::BodyMode mode = gateway::BodyMode::kNone;
  uint64_t length = 0;  // kLength
  bool has_date = false;
};

class Filter {
 public:
  virtual ~Filter() = default;  // a filter cancels what it waits for here
  // Request side, outside in. A filter returning kAnswered has called refuse(); one
  // returning kPause calls resume() or refuse() later, never from inside this call.
  virtual Verdict on_request(FilterControl& chain) = 0;
  // The request side is over (the terminal starts, or a filter answered): last word on
  // ctx.response_headers. Inside out, for the filters the request reached.
  virtual void before_answer(gateway::RequestContext& /*ctx*/) {}
  // The whole request body, after read_body(): kContinue (the chain goes on; the body
  // may have been changed in place) or kAnswered (the filter answered).
  virtual Verdict on_request_body(FilterControl& /*chain*/, std::string& /*body*/) {
    return Verdict::kContinue;
  }
  // Response side, inside out, for routes whose factories ask for it
  // (FilterFactory::wants_response): the head may be changed in place.
  virtual void on_response_head(gateway::RequestContext& /*ctx*/, ResponseHead& /*head*/) {}
  // The whole body, after every on_response_head (FilterFactory::wants_response_body):
  // head and body may be changed in place (the length is set from the body after).
  virtual void on_response_body(gateway::RequestContext& /*ctx*/, ResponseHead& /*head*/,
                                std::string& /*body*/) {}
  // The client went away: stop waiting now (the filter is destroyed soon after).
  virtual void on_abort() {}
};

class FilterFactory {
 public:
  virtual ~FilterFactory() = default;
  virtual std::string_view name() const = 0;  // in logs and docs ("auth", "cors")
  virtual std::unique_ptr<Filter> make(const WorkerServices& services,
                                       gateway::RequestContext& ctx) const = 0;
  // The filter changes the response head (the chain then holds the head back until
  // the response side has run); with wants_response_body, the whole body as well
  // (the response is buffered; routes without such filters stream).
  virtual bool wants_response() const { return false; }
  virtual bool wants_response_body() const { return false; }
  // Files the filter's settings were read from (schemas): a change reloads the config.
  virtual void watched_files(std::vector<std::string>& /*out*/) const {}
};

}  // namespace portico::filters
