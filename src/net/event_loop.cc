#include "net/event_loop.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "core/clock.h"

namespace portico::net {

static_assert(EventLoop::kDefaultEvents == (EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET));

// ---- Timer ----

Timer::Timer(EventLoop& loop, std::function<void()> on_fire)
    : loop_(loop), on_fire_(std::move(on_fire)) {}

Timer::~Timer() {
  if (heap_index_ >= 0) loop_.heap_remove(this);
}

void Timer::arm_after_ms(int64_t ms) { arm_at_ms(loop_.now_ms() + (ms > 0 ? ms : 1)); }

void Timer::arm_at_ms(int64_t deadline) {
  if (deadline <= 0) deadline = 1;
  deadline_ms_ = deadline;
  if (heap_index_ < 0) {
    heap_key_ms_ = deadline;
    loop_.heap_push(this);
  } else if (deadline < heap_key_ms_) {
    heap_key_ms_ = deadline;
    loop_.sift_up(static_cast<size_t>(heap_index_));
  }
  // A later deadline keeps the earlier heap key; run_timers() re-files it lazily.
}

// ---- EventLoop ----

EventLoop::EventLoop() {
  epfd_ = epoll_create1(EPOLL_CLOEXEC);
  wakefd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (epfd_ < 0 || wakefd_ < 0) throw std::runtime_error(std::string("epoll: ") + strerror(errno));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake-up eventfd
  epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev);
  update_time();
}

EventLoop::~EventLoop() {
  run_end_of_iteration();
  for (Timer* t : heap_) t->heap_index_ = -1;
  close(wakefd_);
  close(epfd_);
}

void EventLoop::update_time() { now_ms_ = monotonic_ms(); }

bool EventLoop::watch(int fd, IoHandler* handler, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) == 0;
}

void EventLoop::unwatch(int fd) { epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr); }

void EventLoop::post(std::function<void()> fn) {
  bool wake;
  {
    std::lock_guard lock(posted_mu_);
    // Tasks already waiting have woken the loop (drain_posted reads the wake before it
    // takes the tasks), so only the first needs the write.
    wake = posted_.empty();
    posted_.push_back(std::move(fn));
  }
  if (!wake) return;
  uint64_t one = 1;
  [[maybe_unused]] auto n = write(wakefd_, &one, sizeof one);
}

namespace {
thread_local EventLoop* t_current = nullptr;
}

EventLoop* EventLoop::current() { return t_current; }

void EventLoop::stop() {
  post([this] { stop_ = true; });
}

void EventLoop::drain_posted() {
  uint64_t v;
  [[maybe_unused]] auto n = read(wakefd_, &v, sizeof v);
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard lock(posted_mu_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

void EventLoop::run() {
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  t_current = this;
  while (!stop_) {
    int n = epoll_wait(epfd_, events, kMaxEvents, next_timeout_ms());
    update_time();
    if (n < 0 && errno != EINTR)
      throw std::runtime_error(std::string("epoll_wait: ") + strerror(errno));
    for (int i = 0; i < n; ++i) {
      auto* h = static_cast<IoHandler*>(events[i].data.ptr);
      if (h == nullptr) {
        drain_posted();
      } else {
        h->on_io(events[i].events);
      }
    }
    run_timers();
    run_end_of_iteration();
  }
  run_end_of_iteration();
  t_current = nullptr;
}

void EventLoop::run_end_of_iteration() {
  // Deferred tasks may defer more work or request flushes; run until quiet.
  while (!deferred_.empty() || !flushes_.empty()) {
    while (!deferred_.empty()) {
      // Swap into a kept vector so neither allocates in steady state.
      running_.swap(deferred_);
      for (auto& t : running_) t();
      running_.clear();
    }
    for (size_t i = 0; i < flushes_.size(); ++i) {
      Flushable* f = flushes_[i];
      f->flush_queued_ = false;
      f->flush();
    }
    flushes_.clear();
  }
  released_.clear();
}

int EventLoop::next_timeout_ms() const {
  if (!deferred_.empty() || !flushes_.empty()) return 0;
  if (heap_.empty()) return -1;
  int64_t wait = heap_.front()->heap_key_ms_ - monotonic_ms();
  if (wait <= 0) return 0;
  return wait > 60'000 ? 60'000 : static_cast<int>(wait);
}

void EventLoop::run_timers() {
  while (!heap_.empty() && heap_.front()->heap_key_ms_ <= now_ms_) {
    Timer* t = heap_.front();
    heap_remove(t);
    if (t->deadline_ms_ == 0) continue;  // cancelled
    if (t->deadline_ms_ > now_ms_) {     // extended since it was filed
      t->heap_key_ms_ = t->deadline_ms_;
      heap_push(t);
      continue;
    }
    t->deadline_ms_ = 0;
    t->on_fire_();  // may destroy or re-arm t
  }
}

void EventLoop::heap_push(Timer* t) {
  t->heap_index_ = static_cast<int32_t>(heap_.size());
  heap_.push_back(t);
  sift_up(heap_.size() - 1);
}

void EventLoop::heap_remove(Timer* t) {
  size_t i = static_cast<size_t>(t->heap_index_);
  t->heap_index_ = -1;
  Timer* last = heap_.back();
  heap_.pop_back();
  if (i == heap_.size()) return;
  heap_[i] = last;
  last->heap_index_ = static_cast<int32_t>(i);
  sift_up(i);
  sift_down(static_cast<size_t>(last->heap_index_));
}

void EventLoop::sift_up(size_t i) {
  Timer* t = heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (heap_[parent]->heap_key_ms_ <= t->heap_key_ms_) break;
    heap_[i] = heap_[parent];
    heap_[i]->heap_index_ = static_cast<int32_t>(i);
    i = parent;
  }
  heap_[i] = t;
  t->heap_index_ = static_cast<int32_t>(i);
}

void EventLoop::sift_down(size_t i) {
  Timer* t = heap_[i];
  size_t n = heap_.size();
  while (true) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1]->heap_key_ms_ < heap_[child]->heap_key_ms_) ++child;
    if (heap_[child]->heap_key_ms_ >= t->heap_key_ms_) break;
    heap_[i] = heap_[child];
    heap_[i]->heap_index_ = static_cast<int32_t>(i);
    i = child;
  }
  heap_[i] = t;
  t->heap_index_ = static_cast<int32_t>(i);
}

}  // namespace portico::net
