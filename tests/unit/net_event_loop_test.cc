// The event loop: timer ordering and lazy re-arming, cancellation, cross-thread posts,
// deferred tasks and stop.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "net/event_loop.h"

namespace portico::net {
namespace {

TEST(EventLoop, TimersFireInDeadlineOrder) {
  EventLoop loop;
  std::vector<int> order;
  Timer a(loop, [&] { order.push_back(1); });
  Timer b(loop, [&] { order.push_back(2); });
  Timer c(loop, [&] { order.push_back(3); loop.stop(); });
  c.arm_after_ms(60);
  a.arm_after_ms(20);
  b.arm_after_ms(40);
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoop, RearmingLaterIsHonoured) {
  EventLoop loop;
  int64_t fired_at = 0;
  int64_t start = monotonic_ms();
  Timer t(loop, [&] { fired_at = monotonic_ms(); loop.stop(); });
  t.arm_after_ms(30);
  t.arm_after_ms(120);  // extends: the heap keeps the 30 ms key and re-files lazily
  loop.run();
  EXPECT_GE(fired_at - start, 115);
}

TEST(EventLoop, RearmingEarlierIsHonoured) {
  EventLoop loop;
  int64_t start = monotonic_ms();
  int64_t fired_at = 0;
  Timer t(loop, [&] { fired_at = monotonic_ms(); loop.stop(); });
  Timer guard(loop, [&] { loop.stop(); });
  guard.arm_after_ms(2000);
  t.arm_after_ms(1000);
  t.arm_after_ms(20);
  loop.run();
  EXPECT_GT(fired_at, 0);
  EXPECT_LT(fired_at - start, 500);
}

TEST(EventLoop, CancelledAndDestroyedTimersNeverFire) {
  EventLoop loop;
  bool cancelled_fired = false, destroyed_fired = false;
  Timer cancelled(loop, [&] { cancelled_fired = true; });
  cancelled.arm_after_ms(10);
  cancelled.cancel();
  EXPECT_FALSE(cancelled.armed());
  {
    Timer destroyed(loop, [&] { destroyed_fired = true; });
    destroyed.arm_after_ms(10);
  }
  Timer end(loop, [&] { loop.stop(); });
  end.arm_after_ms(50);
  loop.run();
  EXPECT_FALSE(cancelled_fired);
  EXPECT_FALSE(destroyed_fired);
}

TEST(EventLoop, ManyTimersAllFireOnce) {
  EventLoop loop;
  std::vector<std::unique_ptr<Timer>> timers;
  int fired = 0;
  for (int i = 0; i < 1000; ++i) {
    timers.push_back(std::make_unique<Timer>(loop, [&] {
      if (++fired == 1000) loop.stop();
    }));
    timers.back()->arm_after_ms(1 + (i * 7919) % 50);
    if (i % 3 == 0) timers.back()->arm_after_ms(60);  // some re-armed later
  }
  loop.run();
  EXPECT_EQ(fired, 1000);
}

TEST(EventLoop, PostFromAnotherThreadRunsOnTheLoop) {
  EventLoop loop;
  std::thread::id ran_on;
  std::thread poster([&] { loop.post([&] { ran_on = std::this_thread::get_id(); loop.stop(); }); });
  loop.run();
  poster.join();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

// post() wakes the loop only for the first task waiting; tasks posted by several
// threads at once, while the loop drains earlier ones, must all run, and current()
// names the loop only on its own thread.
TEST(EventLoop, EveryPostRunsWhenOnlyTheFirstWakesTheLoop) {
  EventLoop loop;
  constexpr int kThreads = 4, kPerThread = 20'000;
  std::atomic<int> ran{0};
  std::atomic<bool> on_loop{true};
  EXPECT_EQ(EventLoop::current(), nullptr);
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        loop.post([&] {
          if (EventLoop::current() != &loop) on_loop = false;
          if (ran.fetch_add(1) + 1 == kThreads * kPerThread) loop.stop();
        });
        if (i % 1000 == 0) std::this_thread::yield();
      }
    });
  }
  Timer give_up(loop, [&] { loop.stop(); });
  give_up.arm_after_ms(20'000);
  loop.run();
  for (auto& p : posters) p.join();
  EXPECT_EQ(ran.load(), kThreads * kPerThread);
  EXPECT_TRUE(on_loop);
  EXPECT_EQ(EventLoop::current(), nullptr);
}

TEST(EventLoop, DeferRunsAfterTheCurrentTaskAndFlushesAfterThat) {
  EventLoop loop;
  std::vector<std::string> order;
  struct F : Flushable {
    std::vector<std::string>* order;
    void flush() override { order->push_back("flush"); }
  } f;
  f.order = &order;
  loop.post([&] {
    loop.request_flush(&f);
    loop.request_flush(&f);  // once per iteration
    loop.defer([&] { order.push_back("deferred"); loop.defer([&] { order.push_back("nested"); }); });
    order.push_back("task");
  });
  Timer end(loop, [&] { loop.stop(); });
  end.arm_after_ms(30);
  loop.run();
  EXPECT_EQ(order, (std::vector<std::string>{"task", "deferred", "nested", "flush"}));
}

}  // namespace
}  // namespace portico::net
