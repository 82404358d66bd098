// Asynchronous invocation (the Invoke API's `Event` type), as Lambda runs it: an event
// is stored durably before the caller hears 202, then run through the function host;
// a failed attempt is retried (retry_attempts, with a growing delay) while the event is
// younger than max_event_age, then moved to the dead letters, from where it can be
// listed, replayed or purged. After a crash or kill -9 every unfinished event runs again
// (at least once, as on Lambda: one that finished but was not yet marked done may run
// twice). At most max_concurrency events of a function run at once, so a backlog does
// not take the instances synchronous callers need.
//
// Its own thread: the store's fsyncs never block a worker.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "async/event_store.h"
#include "config/config.h"
#include "core/result.h"
#include "functions/host.h"
#include "gateway/stats.h"
#include "net/event_loop.h"

namespace portico::async {

constexpr size_t kMaxEventPayload = 1024 * 1024;  // Lambda's asynchronous limit (1 MB)

// A replayed dead letter: the event it was and the request id it runs under now.
struct Replayed {
  std::string function;
  std::string old_id;
  std::string new_id;
};

// A dead letter as Lambda's on-failure destination record: {"version", "timestamp",
// "requestContext": {requestId, functionArn, condition, approximateInvokeCount},
// "requestPayload", "responseContext", "responsePayload"}.
std::string destination_record(const DeadLetter& d, std::string_view region,
                               std::string_view account_id);

class AsyncInvoker {
 public:
  // path: the store (a file under data_dir).
  AsyncInvoker(functions::FunctionHost& host, std::string path, gateway::StatsRegistry& stats);
  ~AsyncInvoker();
  AsyncInvoker(const AsyncInvoker&) = delete;
  AsyncInvoker& operator=(const AsyncInvoker&) = delete;

  // Thread-safe. The functions' retry settings and concurrency. Call before start() too.
  void configure(const config::Config& config);
  // Starts the thread; opens the store now if it exists or functions are configured
  // (otherwise at the first event), and schedules the events a previous run left.
  void start();
  // Stops dispatching and the thread. Running events are not waited for: they are
  // still stored and run again at the next start.
  void stop();

  // Thread-safe; each answer runs on `loop`.
  // Stores the event; `done` gets its request id once it is durable.
  void accept(std::string function, std::string payload, net::EventLoop& loop,
              std::function<void(Result<std::string>)> done);
  void dead_letters(DeadLetterFilter filter, size_t limit, net::EventLoop& loop,
                    std::function<void(Result<std::vector<DeadLetter>>)> done);
  // Accepts the matching dead letters again as new events (fresh age and attempts).
  void replay(DeadLetterFilter filter, net::EventLoop& loop,
              std::function<void(Result<std::vector<Replayed>>)> done);
  void purge(DeadLetterFilter filter, net::EventLoop& loop,
             std::function<void(Result<size_t>)> done);

  const std::string& region() const { return host_.settings().region; }
  const std::string& account_id() const { return host_.settings().account_id; }

 private:
  struct Settings {
    uint32_t retry_attempts = 2;
    int64_t max_event_age_ms = 0;
    int64_t retry_delay_ms = 0;
    uint32_t max_concurrency = 1;
  };
  struct Tracked {
    PendingEvent event;
    uint32_t throttled = 0;  // refusals in a row (not attempts: the function did not run)
    std::shared_ptr<functions::Ticket> ticket;  // while running
  };
  struct FunctionQueue {
    std::set<std::pair<int64_t, std::string>> waiting;  // (due_ms, id)
    uint32_t running = 0;
  };
  using Write = std::function<Result<void>(EventStore&)>;

  // Async thread only.
  bool ensure_store();
  void load();
  // Queues a write; every write queued in one loop turn commits in one transaction,
  // then each `after` runs with the commit's result.
  void write(Write op, std::function<void(const Result<void>&)> after);
  void flush();
  void track(PendingEvent event);
  void dispatch();
  void run(Tracked& t);
  void finished(const std::string& id, functions::InvocationResult&& result);
  // The event leaves the running set: back to waiting (due_ms), or untracked (done).
  void requeue(Tracked& t, int64_t due_ms);
  void untrack(const std::string& id);
  void drop(Tracked& t, const char* condition, const functions::InvocationResult* last);
  Settings settings_for(const std::string& function) const;
  gateway::FunctionStats* stats(const std::string& function);

  functions::FunctionHost& host_;
  std::string path_;
  gateway::StatsRegistry& registry_;
  net::EventLoop loop_;
  net::Timer wake_;  // the earliest due event
  std::thread thread_;
  // Async thread only (configure() posts).
  std::unique_ptr<EventStore> store_;
  bool store_failed_ = false;
  std::string store_error_;
  std::unordered_map<std::string, Settings> settings_;
  std::unordered_map<std::string, Tracked> events_;  // every unfinished event, by id
  std::unordered_map<std::string, FunctionQueue> queues_;
  std::vector<std::pair<Write, std::function<void(const Result<void>&)>>> writes_;
  bool flush_queued_ = false;
};

}  // namespace portico::async
