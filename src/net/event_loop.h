// One event loop per thread: edge-triggered epoll, a timer heap, a cross-thread task
// queue, and end-of-iteration hooks. Every object registered here is owned by, and only
// touched from, the loop's thread; other threads talk to it with post().
//
// Iteration order: epoll_wait -> I/O events -> expired timers -> deferred tasks ->
// flushes (batched socket writes) -> destruction of released objects. Destruction is
// deferred so an event later in the same epoll batch never sees a freed handler.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace portico::net {

class EventLoop;

class IoHandler {
 public:
  virtual ~IoHandler() = default;
  virtual void on_io(uint32_t events) = 0;
};

// Something with buffered output written once per loop iteration (see request_flush).
class Flushable {
 public:
  virtual ~Flushable() = default;
  virtual void flush() = 0;

 private:
  friend class EventLoop;
  bool flush_queued_ = false;
};

// A one-shot timer owned by its user. Re-arming to a later deadline is O(1): the heap
// keeps the old key and re-files the timer when that key comes up.
class Timer {
 public:
  Timer(EventLoop& loop, std::function<void()> on_fire);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void arm_after_ms(int64_t ms);
  void arm_at_ms(int64_t deadline_ms);
  void cancel() { deadline_ms_ = 0; }
  bool armed() const { return deadline_ms_ != 0; }
  int64_t deadline_ms() const { return deadline_ms_; }

 private:
  friend class EventLoop;
  EventLoop& loop_;
  std::function<void()> on_fire_;
  int64_t deadline_ms_ = 0;  // the real deadline; 0 when not armed
  int64_t heap_key_ms_ = 0;  // the deadline the heap orders this timer by
  int32_t heap_index_ = -1;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  static constexpr uint32_t kDefaultEvents =
      0x001 | 0x004 | 0x2000 | (1u << 31);  // IN|OUT|RDHUP|ET

  bool watch(int fd, IoHandler* handler, uint32_t events = kDefaultEvents);
  void unwatch(int fd);

  // Thread-safe: runs fn on this loop's thread.
  void post(std::function<void()> fn);
  // This thread only: runs fn after the current batch of events.
  void defer(std::function<void()> fn) { deferred_.push_back(std::move(fn)); }
  // Thread-safe: runs fn on this loop, never inside the caller: deferred when called on
  // the loop's own thread (no wake-up, no lock), posted otherwise.
  void run_soon(std::function<void()> fn) {
    if (current() == this) {
      defer(std::move(fn));
    } else {
      post(std::move(fn));
    }
  }
  void request_flush(Flushable* f) {
    if (!f->flush_queued_) {
      f->flush_queued_ = true;
      flushes_.push_back(f);
    }
  }
  // Deletes h after the current batch of events has been handled.
  void release(IoHandler* h) { released_.emplace_back(h); }

  void run();
  void stop();  // thread-safe
  // The loop running on the calling thread (inside run()), or null.
  static EventLoop* current();
  // Runs deferred tasks, flushes and releases now (owners tearing down call it before
  // the objects those tasks use are gone).
  void run_pending() { run_end_of_iteration(); }
  bool stopping() const { return stop_; }

  // Milliseconds on the monotonic clock, refreshed once per iteration.
  int64_t now_ms() const { return now_ms_; }
  void update_time();

 private:
  friend class Timer;
  void heap_push(Timer* t);
  void heap_remove(Timer* t);
  void sift_up(size_t i);
  void sift_down(size_t i);
  void run_timers();
  int next_timeout_ms() const;
  void drain_posted();
  void run_end_of_iteration();

  int epfd_ = -1;
  int wakefd_ = -1;
  bool stop_ = false;
  int64_t now_ms_ = 0;
  std::vector<Timer*> heap_;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> running_;
  std::vector<Flushable*> flushes_;
  std::vector<std::unique_ptr<IoHandler>> released_;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;
};

}  // namespace portico::net
