#include "async/async_invoker.h"

#include <algorithm>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/random.h"

namespace portico::async {
namespace {

using Status = functions::InvocationResult::Status;

// A throttled event (every instance busy and the queue full) waits 1 s, 2 s, ... up to
// a minute, as long as it is younger than max_event_age; throttles are not attempts.
int64_t throttle_delay_ms(uint32_t throttled) {
  return std::min<int64_t>(int64_t{1000} << std::min<uint32_t>(throttled - 1, 6), 60'000);
}

}  // namespace

AsyncInvoker::AsyncInvoker(functions::FunctionHost& host, std::string path,
                           gateway::StatsRegistry& stats)
    : host_(host), path_(std::move(path)), registry_(stats), wake_(loop_, [this] { dispatch(); }) {}

AsyncInvoker::~AsyncInvoker() {
  stop();
  loop_.run_pending();
}

void AsyncInvoker::configure(const config::Config& config) {
  std::unordered_map<std::string, Settings> next;
  for (const auto& f : config.functions) {
    next[f.name] = {f.retry_attempts, f.max_event_age_ms, f.retry_delay_ms, f.max_concurrency};
  }
  bool any = !next.empty();
  loop_.post([this, next = std::move(next), any]() mutable {
    settings_ = std::move(next);
    if (any && thread_.joinable()) ensure_store();
    dispatch();
  });
}

void AsyncInvoker::start() {
  std::error_code ec;
  bool exists = std::filesystem::exists(path_, ec);
  loop_.post([this, exists] {
    if ((exists || !settings_.empty()) && ensure_store()) load();
  });
  thread_ = std::thread([this] { loop_.run(); });
}

void AsyncInvoker::stop() {
  if (!thread_.joinable()) return;
  loop_.post([this] {
    for (auto& [id, t] : events_) {
      if (t.ticket) t.ticket->cancel();
    }
    loop_.stop();
  });
  thread_.join();
}

bool AsyncInvoker::ensure_store() {
  if (store_) return true;
  auto opened = EventStore::open(path_);
  if (!opened) {
    if (!store_failed_) log::error("asynchronous invocation: {}", opened.error().message);
    store_failed_ = true;
    store_error_ = opened.error().message;
    return false;
  }
  store_ = std::move(*opened);
  if (store_failed_) log::info("asynchronous invocation: {} opened", path_);
  store_failed_ = false;
  return true;
}

void AsyncInvoker::load() {
  auto pending = store_->pending();
  if (!pending) {
    log::error("asynchronous invocation: {}: {}", path_, pending.error().message);
    return;
  }
  if (!pending->empty()) {
    log::info("asynchronous invocation: {} unfinished event{} from before the restart run again",
              pending->size(), pending->size() == 1 ? "" : "s");
  }
  for (auto& e : *pending) track(std::move(e));
  dispatch();
}

gateway::FunctionStats* AsyncInvoker::stats(const std::string& function) {
  return registry_.function(function);
}

AsyncInvoker::Settings AsyncInvoker::settings_for(const std::string& function) const {
  auto it = settings_.find(function);
  if (it != settings_.end()) return it->second;
  return Settings{2, 6 * 3'600'000, 60'000, 1};  // a removed function: its events fail one by one
}

// --- writes, one transaction per loop turn ------------------------------------------

void AsyncInvoker::write(Write op, std::function<void(const Result<void>&)> after) {
  writes_.emplace_back(std::move(op), std::move(after));
  if (!flush_queued_) {
    flush_queued_ = true;
    loop_.defer([this] { flush(); });
  }
}

void AsyncInvoker::flush() {
  flush_queued_ = false;
  auto batch = std::move(writes_);
  writes_.clear();
  Result<void> result = store_->begin();
  for (size_t i = 0; result && i < batch.size(); ++i) result = batch[i].first(*store_);
  if (result) result = store_->commit();
  if (!result) {
    store_->rollback();
    log::error("asynchronous invocation: {}: {}", path_, result.error().message);
  }
  for (auto& [op, after] : batch) after(result);
  dispatch();
}

// --- scheduling ---------------------------------------------------------------------

void AsyncInvoker::track(PendingEvent event) {
  std::string id = event.id;
  int64_t due = event.due_ms;
  FunctionQueue& q = queues_[event.function];
  stats(event.function)->async_pending.add(1);
  events_[id] = Tracked{std::move(event), 0, nullptr};
  q.waiting.emplace(due, std::move(id));
}

void AsyncInvoker::dispatch() {
  int64_t now = wall_ms();
  int64_t earliest = std::numeric_limits<int64_t>::max();
  std::vector<Tracked*> to_run;
  for (auto& [function, q] : queues_) {
    uint32_t limit = settings_for(function).max_concurrency;
    while (q.running < limit && !q.waiting.empty() && q.waiting.begin()->first <= now) {
      auto it = events_.find(q.waiting.begin()->second);
      q.waiting.erase(q.waiting.begin());
      if (it == events_.end()) continue;
      ++q.running;
      to_run.push_back(&it->second);
    }
    if (!q.waiting.empty() && q.running < limit)
      earliest = std::min(earliest, q.waiting.begin()->first);
  }
  if (earliest != std::numeric_limits<int64_t>::max()) {
    wake_.arm_after_ms(std::max<int64_t>(1, earliest - now));
  } else {
    wake_.cancel();
  }
  for (Tracked* t : to_run) run(*t);
}

void AsyncInvoker::run(Tracked& t) {
  const PendingEvent& e = t.event;
  Settings s = settings_for(e.function);
  if (wall_ms() - e.received_ms > s.max_event_age_ms) {
    drop(t, "EventAgeExceeded", nullptr);
    return;
  }
  auto payload = store_->payload(e.id);
  if (!payload || !*payload) {
    log::error("asynchronous invocation: event {} of {} cannot be read: {}", e.id, e.function,
               payload ? "it is not in the store" : payload.error().message);
    untrack(e.id);
    return;
  }
  functions::InvokeOptions options;
  options.request_id = e.id;
  t.ticket = host_.invoke(
      e.function, std::move(**payload), loop_,
      [this, id = e.id](functions::InvocationResult&& r) { finished(id, std::move(r)); },
      std::move(options));
}

void AsyncInvoker::finished(const std::string& id, functions::InvocationResult&& result) {
  auto it = events_.find(id);
  if (it == events_.end()) return;
  Tracked& t = it->second;
  t.ticket.reset();
  const PendingEvent& e = t.event;
  Settings s = settings_for(e.function);
  int64_t now = wall_ms();
  bool refused = result.status == Status::kThrottled ||
                 (result.status == Status::kNotFound && result.error_type == "ServiceException");
  if (result.ok()) {
    write([id](EventStore& store) { return store.remove(id); },
          [this, id](const Result<void>&) { untrack(id); });
    return;
  }
  if (refused) {
    int64_t due = now + throttle_delay_ms(++t.throttled);
    if (due - e.received_ms > s.max_event_age_ms) {
      drop(t, "EventAgeExceeded", &result);
    } else {
      requeue(t, due);
    }
    return;
  }
  if (result.status == Status::kNotFound) {
    drop(t, "FunctionNotFound", &result);
    return;
  }
  t.throttled = 0;
  uint32_t attempts = e.attempts + 1;
  if (attempts > s.retry_attempts) {
    t.event.attempts = attempts;
    drop(t, "RetriesExhausted", &result);
    return;
  }
  int64_t delay = s.retry_delay_ms << std::min<uint32_t>(attempts - 1, 20);
  int64_t due = now + std::min<int64_t>(delay, s.max_event_age_ms);
  if (due - e.received_ms > s.max_event_age_ms) {
    t.event.attempts = attempts;
    drop(t, "EventAgeExceeded", &result);
    return;
  }
  log::info("asynchronous invocation {} of {} failed ({}); attempt {} of {} in {} ms", id,
            e.function, result.error_type, attempts + 1, s.retry_attempts + 1, due - now);
  stats(e.function)->async_retries.add();
  write([id, attempts, due](EventStore& store) { return store.reschedule(id, attempts, due); },
        [this, id, attempts, due](const Result<void>&) {
          auto it = events_.find(id);
          if (it == events_.end()) return;
          it->second.event.attempts = attempts;
          requeue(it->second, due);
        });
}

void AsyncInvoker::requeue(Tracked& t, int64_t due_ms) {
  FunctionQueue& q = queues_[t.event.function];
  if (q.running > 0) --q.running;
  t.event.due_ms = due_ms;
  q.waiting.emplace(due_ms, t.event.id);
  dispatch();
}

void AsyncInvoker::untrack(const std::string& id) {
  auto it = events_.find(id);
  if (it == events_.end()) return;
  FunctionQueue& q = queues_[it->second.event.function];
  if (q.running > 0) --q.running;
  stats(it->second.event.function)->async_pending.add(-1);
  events_.erase(it);
  dispatch();
}

// The event goes to the dead letters with the last failure, if it ran. A write that
// fails leaves it among the stored events: it runs again after a restart.
void AsyncInvoker::drop(Tracked& t, const char* condition,
                        const functions::InvocationResult* last) {
  PendingEvent e = t.event;
  std::string type = last != nullptr ? last->error_type : std::string();
  std::string document = last != nullptr ? last->payload : std::string();
  log::warn("asynchronous invocation {} of {} failed for good ({}{}{}) after {} attempt{}: "
            "moved to the dead letters",
            e.id, e.function, condition, type.empty() ? "" : ", ", type, e.attempts,
            e.attempts == 1 ? "" : "s");
  write(
      [e, condition = std::string(condition), type, document](EventStore& store) {
        return store.dead_letter(e, wall_ms(), condition, type, document);
      },
      [this, id = e.id, function = e.function](const Result<void>& r) {
        if (r) stats(function)->async_dropped.add();
        untrack(id);
      });
}

// --- the API ------------------------------------------------------------------------

void AsyncInvoker::accept(std::string function, std::string payload, net::EventLoop& loop,
                          std::function<void(Result<std::string>)> done) {
  loop_.post([this, function = std::move(function), payload = std::move(payload), reply = &loop,
              done = std::move(done)]() mutable {
    if (!ensure_store()) {
      reply->post([done = std::move(done), why = store_error_] { done(Error{why}); });
      return;
    }
    int64_t now = wall_ms();
    PendingEvent e{random_uuid(), std::move(function), now, now, 0};
    write([e, payload = std::move(payload)](EventStore& store) { return store.insert(e, payload); },
          [this, e, reply, done = std::move(done)](const Result<void>& r) mutable {
            if (!r) {
              reply->post([done = std::move(done), why = r.error().message] { done(Error{why}); });
              return;
            }
            stats(e.function)->async_received.add();
            std::string id = e.id;
            track(std::move(e));
            reply->post([done = std::move(done), id = std::move(id)]() mutable { done(std::move(id)); });
          });
  });
}

void AsyncInvoker::dead_letters(DeadLetterFilter filter, size_t limit, net::EventLoop& loop,
                                std::function<void(Result<std::vector<DeadLetter>>)> done) {
  loop_.post([this, filter = std::move(filter), limit, reply = &loop, done = std::move(done)]() mutable {
    Result<std::vector<DeadLetter>> r =
        ensure_store() ? store_->dead_letters(filter, limit)
                       : Result<std::vector<DeadLetter>>(Error{store_error_});
    reply->post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
  });
}

void AsyncInvoker::replay(DeadLetterFilter filter, net::EventLoop& loop,
                          std::function<void(Result<std::vector<Replayed>>)> done) {
  loop_.post([this, filter = std::move(filter), reply = &loop, done = std::move(done)]() mutable {
    auto answer = [&](Result<std::vector<Replayed>> r) {
      reply->post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    };
    if (!ensure_store()) return answer(Error{store_error_});
    if (auto r = store_->begin(); !r) return answer(r.error());
    auto taken = store_->take_dead_letters(filter);
    std::vector<Replayed> replayed;
    std::vector<PendingEvent> events;
    Result<void> ok = taken ? Result<void>() : Result<void>(taken.error());
    int64_t now = wall_ms();
    for (size_t i = 0; ok && i < taken->size(); ++i) {
      const DeadLetter& d = (*taken)[i];
      PendingEvent e{random_uuid(), d.function, now, now, 0};
      ok = store_->insert(e, d.payload);
      replayed.push_back({d.function, d.id, e.id});
      events.push_back(std::move(e));
    }
    if (ok) ok = store_->commit();
    if (!ok) {
      store_->rollback();
      return answer(ok.error());
    }
    for (auto& e : events) {
      stats(e.function)->async_received.add();
      track(std::move(e));
    }
    dispatch();
    answer(std::move(replayed));
  });
}

void AsyncInvoker::purge(DeadLetterFilter filter, net::EventLoop& loop,
                         std::function<void(Result<size_t>)> done) {
  loop_.post([this, filter = std::move(filter), reply = &loop, done = std::move(done)]() mutable {
    auto answer = [&](Result<size_t> r) {
      reply->post([done = std::move(done), r = std::move(r)]() mutable { done(std::move(r)); });
    };
    if (!ensure_store()) return answer(Error{store_error_});
    if (auto r = store_->begin(); !r) return answer(r.error());
    auto taken = store_->take_dead_letters(filter);
    if (!taken) {
      store_->rollback();
      return answer(taken.error());
    }
    if (auto r = store_->commit(); !r) {
      store_->rollback();
      return answer(r.error());
    }
    answer(taken->size());
  });
}

}  // namespace portico::async
