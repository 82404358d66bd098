// What callers of a function hand over and get back, on any thread: the result of one
// invocation, the callback that receives it, and the ticket by which a caller that
// gave up (a client that went away) tells the host not to run or deliver it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace portico::functions {

struct InvocationResult {
  enum class Status : uint8_t {
    kOk,             // the function answered: payload is its response
    kFunctionError,  // the handler failed (it posted an error): payload is the error document
    kRuntimeError,   // the runtime failed: crash, init failure, out of memory
    kTimeout,        // the function ran past its timeout (the instance was stopped)
    kThrottled,      // no instance free and the wait queue full, or the wait too long
    kNotFound,       // no such function (any more)
  };
  Status status = Status::kOk;
  std::string payload;  // the response, or Lambda's error document {"errorMessage","errorType"}
  std::string
      error_type;  // for failures: "Runtime.ExitError", "Sandbox.Timedout", the handler's errorType
  std::string message;     // for failures: a readable reason (errorMessage)
  std::string request_id;  // the invocation's id (Lambda's RequestId)
  std::string log;         // when asked for (InvokeOptions::tail_log): the invocation's log lines
  // The response was streamed to the caller's StreamSink (payload is then empty); a
  // failure after that came part way through the stream.
  bool streamed = false;
  bool ok() const { return status == Status::kOk; }
};

// A piece of a streamed response (Lambda's response streaming), in order: one kStart
// with the runtime's Content-Type, then kData pieces; the InvocationResult follows.
struct StreamPiece {
  enum class Kind : uint8_t { kStart, kData };
  Kind kind = Kind::kData;
  std::string data;  // kStart: the content type
};
using StreamSink = std::function<void(StreamPiece&&)>;

// Lambda's error document: {"errorType", "errorMessage"}.
std::string error_document(std::string_view type, std::string_view message);
// A failure as Lambda reports it: "RequestId: ID Error: WHAT" in an error document.
InvocationResult failure(InvocationResult::Status status, std::string_view request_id,
                         std::string_view type, std::string_view what);
// A refusal before anything ran (throttled, no such function): no document.
InvocationResult refusal(InvocationResult::Status status, std::string type, std::string message);
// "arn:aws:lambda:REGION:ACCOUNT:function:NAME"
std::string function_arn(std::string_view region, std::string_view account_id,
                         std::string_view name);

using Reply = std::function<void(InvocationResult&&)>;

struct InvokeOptions {
  std::string request_id;      // the invocation's id (an async event keeps its own), or a new one
  std::string client_context;  // JSON for Lambda-Runtime-Client-Context, or empty
  bool tail_log = false;       // collect the invocation's log lines into the result
  // Takes a streamed response as it arrives (on the caller's loop). Without one, a
  // streamed response is collected and returned whole, as Lambda's Invoke does.
  StreamSink stream;
};

// Shared by the caller and the host. cancel() is called on the caller's thread; the
// host skips an invocation cancelled before it started and drops the result of one
// cancelled while it ran (the function still runs to completion, as on Lambda).
class Ticket {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }

 private:
  std::atomic<bool> cancelled_{false};
};

}  // namespace portico::functions
