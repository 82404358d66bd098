// Helpers for writing the Prometheus text format from per-thread stats (internal to
// gateway/).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/stats.h"

namespace portico::gateway {

// Prometheus label values escape backslash, double quote and newline.
inline std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

template <typename T, typename F>
uint64_t sum(const PerThread<T>& p, F f) {
  uint64_t total = 0;
  for (int i = 0; i < p.size(); ++i) total += f(p.at(i));
  return total;
}

template <typename T, typename F>
int64_t sum_signed(const PerThread<T>& p, F f) {
  int64_t total = 0;
  for (int i = 0; i < p.size(); ++i) total += f(p.at(i));
  return total;
}

// One histogram series from per-bucket counts (not cumulative) and the sum.
inline void render_buckets(std::string& out, std::string_view name, std::string_view labels,
                           const uint64_t (&buckets)[kLatencyBuckets], uint64_t sum_us) {
  uint64_t cumulative = 0;
  std::string_view comma = labels.empty() ? "" : ",";
  for (int b = 0; b < kLatencyBuckets; ++b) {
    cumulative += buckets[b];
    std::string le = b < kLatencyBuckets - 1 ? fmt::format("{}", kLatencyBounds[b]) : "+Inf";
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, comma, le, cumulative);
  }
  std::string braces = labels.empty() ? "" : fmt::format("{{{}}}", labels);
  out += fmt::format("{}_sum{} {:.6f}\n", name, braces, static_cast<double>(sum_us) / 1e6);
  out += fmt::format("{}_count{} {}\n", name, braces, cumulative);
}

// One histogram series (buckets, sum, count) summed over the worker slots; `labels` is
// the label list without braces ("route=\"x\"").
template <typename T, typename F>
void render_histogram(std::string& out, std::string_view name, std::string_view labels, const PerThread<T>& p,
                      F histogram_of) {
  uint64_t buckets[kLatencyBuckets] = {};
  uint64_t sum_us = 0;
  for (int t = 0; t < p.size(); ++t) {
    const LatencyHistogram& h = histogram_of(p.at(t));
    for (int b = 0; b < kLatencyBuckets; ++b) buckets[b] += h.bucket(b);
    sum_us += h.sum_us();
  }
  render_buckets(out, name, labels, buckets, sum_us);
}

// One single-writer histogram series.
inline void render_histogram(std::string& out, std::string_view name, std::string_view labels,
                             const LatencyHistogram& h) {
  uint64_t buckets[kLatencyBuckets];
  for (int b = 0; b < kLatencyBuckets; ++b) buckets[b] = h.bucket(b);
  render_buckets(out, name, labels, buckets, h.sum_us());
}

// A metric family: HELP/TYPE, then one sample per item.
template <typename Item>
struct Family {
  const char* name;
  const char* help;
  const char* type;
  int64_t (*value)(const Item&);
};

template <typename Item, typename Items, typename Labels>
void render_families(std::string& out, std::initializer_list<Family<Item>> families, const Items& items,
                     Labels labels_of) {
  for (const auto& f : families) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", f.name, f.help, f.name, f.type);
    for (const auto& item : items) out += fmt::format("{}{{{}}} {}\n", f.name, labels_of(*item), f.value(*item));
  }
}

}  // namespace portico::gateway
