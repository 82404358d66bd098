// Functions as typed config: what runs (runtime, handler, code, command), its
// environment and limits (memory, timeout), and how it scales (Lambda's model:
// reserved and provisioned concurrency, an idle timeout, a bounded wait queue).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace portico::config {

enum class Runtime : uint8_t {
  kNodejs,    // the official npm aws-lambda-ric under node
  kPython,    // Portico's Python Runtime API client (runtimes/python/bootstrap.py)
  kProvided,  // a custom runtime: an executable `bootstrap` in the code directory
};

const char* runtime_name(Runtime r);

// Where the runtime clients Portico ships live (node/, python/): PORTICO_RUNTIME_DIR,
// else the runtimes/ directory of the source tree Portico was built from.
std::string runtime_dir();

enum class PayloadFormat : uint8_t { kV2, kV1 };  // API Gateway's Lambda proxy event formats

struct Function {
  std::string name;
  Runtime runtime = Runtime::kProvided;
  std::string runtime_text;  // as written: "nodejs20.x", "python3.11", "provided.al2023"
  std::string handler;       // "index.handler"; `_HANDLER` for custom runtimes
  std::string code_dir;      // absolute (relative paths are taken from the config file)
  // argv of the instance process, resolved when the config loads: the runtime's
  // interpreter and client, `bootstrap`, or the configured `command`.
  std::vector<std::string> command;
  std::vector<std::pair<std::string, std::string>> environment;  // the configured variables
  uint64_t memory_bytes = 128ull << 20;
  int64_t timeout_ms = 3'000;
  uint32_t max_concurrency = 10;      // instances at most (Lambda's reserved concurrency)
  uint32_t min_instances = 0;         // kept warm (provisioned concurrency)
  int64_t idle_timeout_ms = 300'000;  // an idle instance is stopped after this
  uint32_t max_queue = 100;           // invocations waiting for an instance; more are refused
  // Asynchronous invocation, as Lambda's EventInvokeConfig: a failed event is retried
  // retry_attempts times, the first retry after retry_delay and each next one after twice
  // the last wait (Lambda: 1 and 2 minutes), while it is younger than max_event_age;
  // then it goes to the dead letters.
  uint32_t retry_attempts = 2;
  int64_t max_event_age_ms = 6 * 3'600'000;
  int64_t retry_delay_ms = 60'000;

  // Equal signatures: the same processes would be started, so a reload keeps the
  // warm instances.
  std::string signature() const;
};

}  // namespace portico::config
