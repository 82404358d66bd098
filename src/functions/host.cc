#include "functions/host.h"

#include <algorithm>

#include <fmt/format.h>

#include "core/log.h"
#include "core/random.h"

namespace portico::functions {

FunctionHost::FunctionHost(HostSettings settings)
    : settings_(std::move(settings)), cgroup_sweep_(loop_, [this] {
        cgroups_->retry_removals();
        cgroup_sweep_.arm_after_ms(1000);
      }) {
  cgroups_ = MemoryCgroups::create();
  settings_.cgroups = cgroups_.get();
  settings_.credentials = &credentials_;
}

FunctionHost::~FunctionHost() { shutdown(); }

void FunctionHost::start() {
  cgroup_sweep_.arm_after_ms(1000);
  thread_ = std::thread([this] { loop_.run(); });
}

void FunctionHost::shutdown() {
  if (!thread_.joinable()) return;
  loop_.post([this] {
    for (auto& [name, pool] : pools_) pool->stop_all();
    for (auto& pool : retired_) pool->stop_all();
    pools_.clear();
    retired_.clear();
    loop_.stop();
  });
  thread_.join();
  loop_.run_pending();
}

void FunctionHost::configure(const config::Config& config) {
  loop_.post([this, functions = config.functions]() mutable { apply(std::move(functions)); });
}

void FunctionHost::apply(std::vector<config::Function> functions) {
  if (!functions.empty() && !cgroups_->available() && !warned_no_cgroups_) {
    warned_no_cgroups_ = true;
    log::warn("functions run without memory limits: {}", cgroups_->why_unavailable());
  } else if (!functions.empty() && !announced_cgroups_) {
    announced_cgroups_ = true;
    log::debug("function memory limits: cgroup v{}", cgroups_->version());
  }
  std::unordered_map<std::string, std::unique_ptr<FunctionPool>> next;
  auto retire = [this](std::unique_ptr<FunctionPool> pool, FunctionPool* successor) {
    FunctionPool* raw = pool.get();
    retired_.push_back(std::move(pool));
    raw->drain(successor, [this, raw] {
      std::erase_if(retired_, [raw](const auto& p) { return p.get() == raw; });
    });
  };
  for (auto& f : functions) {
    std::string name = f.name;
    auto it = pools_.find(name);
    if (it != pools_.end() && it->second->function().signature() == f.signature()) {
      it->second->update(std::move(f));
      next[name] = std::move(it->second);
      pools_.erase(it);
      continue;
    }
    auto pool = std::make_unique<FunctionPool>(loop_, settings_, std::move(f));
    if (it != pools_.end()) {
      log::info(
          "function {} changed: new instances start on demand, the old ones finish what they run",
          name);
      retire(std::move(it->second), pool.get());
      pools_.erase(it);
    }
    next[name] = std::move(pool);
  }
  for (auto& [name, pool] : pools_) retire(std::move(pool), nullptr);
  pools_ = std::move(next);
}

std::shared_ptr<Ticket> FunctionHost::invoke(const std::string& function, std::string payload,
                                             net::EventLoop& loop, Reply reply,
                                             InvokeOptions options) {
  auto ticket = std::make_shared<Ticket>();
  Invocation inv;
  inv.request_id = options.request_id.empty() ? random_uuid() : std::move(options.request_id);
  inv.payload = std::move(payload);
  inv.ticket = ticket;
  inv.reply_loop = &loop;
  inv.reply = std::move(reply);
  inv.client_context = std::move(options.client_context);
  inv.tail_log = options.tail_log;
  inv.stream = std::move(options.stream);
  loop_.post([this, function, inv = std::move(inv)]() mutable {
    auto it = pools_.find(function);
    if (it == pools_.end()) {
      FunctionPool::deliver(
          std::move(inv),
          refusal(InvocationResult::Status::kNotFound, "ResourceNotFoundException",
                  "Function not found: " +
                      function_arn(settings_.region, settings_.account_id, function)));
      return;
    }
    it->second->invoke(std::move(inv));
  });
  return ticket;
}

}  // namespace portico::functions
