#include "core/stats.h"

namespace portico {
namespace {
thread_local int g_slot = 0;
std::atomic<int> g_slot_count{1};
}  // namespace

void set_stats_slot(int slot) { g_slot = slot; }
int stats_slot() { return g_slot; }
int stats_slot_count() { return g_slot_count.load(std::memory_order_relaxed); }
void set_stats_slot_count(int count) { g_slot_count.store(count, std::memory_order_relaxed); }

}  // namespace portico
