// Lock-free metrics. Every counter has exactly one writer thread (its worker), so an
// increment is a relaxed load + store: no lock prefix, no cache-line ping-pong. The
// admin thread sums the per-thread slots when /metrics is scraped.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <new>

namespace portico {

class Counter {
 public:
  void add(uint64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class Gauge {
 public:
  void add(int64_t n) { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  void inc() { add(1); }
  void dec() { add(-1); }
  void set(int64_t n) { v_.store(n, std::memory_order_relaxed); }
  int64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Request latency histogram with Prometheus-style upper bounds in seconds.
inline constexpr double kLatencyBounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                            0.1,    0.25,  0.5,    1,     2.5,   5,     10};
inline constexpr int kLatencyBuckets = sizeof(kLatencyBounds) / sizeof(double) + 1;  // + Inf

class LatencyHistogram {
 public:
  void observe_ns(int64_t ns) {
    double s = static_cast<double>(ns) * 1e-9;
    int i = 0;
    while (i < kLatencyBuckets - 1 && s > kLatencyBounds[i]) ++i;
    buckets_[i].add();
    sum_us_.add(static_cast<uint64_t>(ns / 1000));
  }
  uint64_t bucket(int i) const { return buckets_[i].get(); }
  uint64_t sum_us() const { return sum_us_.get(); }
  // For rendering sums of several histograms (each with its own writer).
  void add_from(const LatencyHistogram& other) {
    for (int i = 0; i < kLatencyBuckets; ++i) buckets_[i].add(other.buckets_[i].get());
    sum_us_.add(other.sum_us_.get());
  }

 private:
  Counter buckets_[kLatencyBuckets];
  Counter sum_us_;
};

// The calling thread's slot: workers are 0..N-1, the main (admin) thread is N.
void set_stats_slot(int slot);
int stats_slot();
int stats_slot_count();
void set_stats_slot_count(int count);

// One T per thread, each on its own cache lines.
template <typename T>
class PerThread {
 public:
  PerThread() : count_(stats_slot_count()), slots_(new Slot[count_]) {}
  T& local() { return slots_[stats_slot()].value; }
  T& at(int slot) { return slots_[slot].value; }
  const T& at(int slot) const { return slots_[slot].value; }
  int size() const { return count_; }

 private:
  struct alignas(64) Slot {
    T value;
  };
  int count_;
  std::unique_ptr<Slot[]> slots_;
};

}  // namespace portico
