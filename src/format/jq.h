// A jq program (Debian's libjq) compiled once per config load and run on response
// bodies, with the request and principal as $request and $principal, the status as
// $status and the body as its input:
//
//   .items | map({id, name}) | {data: ., count: length, request: $request.request_id}
//
// libjq is not thread-safe within a jq_state, but separate states are (tested with one
// per worker thread, tests/unit/format_jq_test.cc). A compiled state is used by one
// thread at a time: a program keeps a pool of idle states, and a worker takes one for
// a run and gives it back (so there are never more states than workers running it at
// once). Compiling costs ~20 ms of CPU (jq compiles its builtins each time), so the
// config load compiles the first state and later ones are compiled on demand.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct jq_state;

namespace portico::format {

class JqProgram {
 public:
  // Errors: jq's own compile messages.
  static Result<std::shared_ptr<JqProgram>> compile(std::string program);
  ~JqProgram();
  JqProgram(const JqProgram&) = delete;
  JqProgram& operator=(const JqProgram&) = delete;

  // Runs the program on {"body": ..., "status": ..., "request": ..., "principal": ...}
  // (a JSON text) and returns its first output as JSON text. Errors: the program
  // raised one, produced nothing, or its input was not JSON.
  Result<std::string> run(std::string_view input_json) const;

 private:
  explicit JqProgram(std::string wrapped) : wrapped_(std::move(wrapped)) {}
  Result<jq_state*> make_state() const;

  std::string wrapped_;  // the user's program, with the variables bound around it
  mutable std::mutex mu_;
  mutable std::vector<jq_state*> idle_;
};

}  // namespace portico::format
