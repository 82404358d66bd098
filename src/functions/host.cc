#include "functions/host.h"

#include <algorithm>
#include <functional>

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

void FunctionHost::add_home(net::EventLoop& loop) {
  auto home = std::make_unique<Home>();
  home->loop = &loop;
  homes_.push_back(std::move(home));
}

void FunctionHost::start() {
  if (homes_.empty()) add_home(loop_);
  started_ = true;
  cgroup_sweep_.arm_after_ms(1000);
  thread_ = std::thread([this] { loop_.run(); });
}

// The same home for a name for the life of the process: a reload keeps a function's
// warm instances where they are.
size_t FunctionHost::home_index(const std::string& function) const {
  return std::hash<std::string>{}(function) % homes_.size();
}

void FunctionHost::stop(Home& home) {
  if (home.stopped.exchange(true)) return;
  for (auto& [name, pool] : home.pools) pool->stop_all();
  for (auto& pool : home.retired) pool->stop_all();
  home.pools.clear();
  home.retired.clear();
}

void FunctionHost::stop_home(net::EventLoop& loop) {
  for (auto& h : homes_) {
    if (h->loop == &loop) stop(*h);
  }
}

void FunctionHost::shutdown() {
  if (!thread_.joinable()) return;
  loop_.post([this] {
    stop_home(loop_);
    loop_.stop();
  });
  thread_.join();
  loop_.run_pending();
}

void FunctionHost::announce_cgroups(const config::Config& config) {
  if (config.functions.empty()) return;
  if (!cgroups_->available() && !warned_no_cgroups_) {
    warned_no_cgroups_ = true;
    log::warn("functions run without memory limits: {}", cgroups_->why_unavailable());
  } else if (cgroups_->available() && !announced_cgroups_) {
    announced_cgroups_ = true;
    log::debug("function memory limits: cgroup v{}", cgroups_->version());
  }
}

// Called on one thread (start-up, then the main loop's reloads).
void FunctionHost::configure(const config::Config& config) {
  if (homes_.empty()) add_home(loop_);
  announce_cgroups(config);
  std::vector<std::vector<config::Function>> split(homes_.size());
  for (const auto& f : config.functions) split[home_index(f.name)].push_back(f);
  for (size_t k = 0; k < homes_.size(); ++k) {
    Home& home = *homes_[k];
    // Before the loops run nothing else touches them: the pools are in place before
    // the first request (as the workers' own config is).
    if (!started_) {
      apply(home, std::move(split[k]));
    } else {
      home.loop->post(
          [this, &home, fs = std::move(split[k])]() mutable { apply(home, std::move(fs)); });
    }
  }
}

void FunctionHost::apply(Home& home, std::vector<config::Function> functions) {
  if (home.stopped) return;
  std::unordered_map<std::string, std::unique_ptr<FunctionPool>> next;
  auto retire = [&home](std::unique_ptr<FunctionPool> pool, FunctionPool* successor) {
    FunctionPool* raw = pool.get();
    home.retired.push_back(std::move(pool));
    raw->drain(successor, [&home, raw] {
      std::erase_if(home.retired, [raw](const auto& p) { return p.get() == raw; });
    });
  };
  for (auto& f : functions) {
    std::string name = f.name;
    auto it = home.pools.find(name);
    if (it != home.pools.end() && it->second->function().signature() == f.signature()) {
      it->second->update(std::move(f));
      next[name] = std::move(it->second);
      home.pools.erase(it);
      continue;
    }
    auto pool = std::make_unique<FunctionPool>(*home.loop, settings_, std::move(f));
    if (it != home.pools.end()) {
      log::info(
          "function {} changed: new instances start on demand, the old ones finish what they run",
          name);
      retire(std::move(it->second), pool.get());
      home.pools.erase(it);
    }
    next[name] = std::move(pool);
  }
  for (auto& [name, pool] : home.pools) retire(std::move(pool), nullptr);
  home.pools = std::move(next);
}

void FunctionHost::invoke_at_home(Home& home, const std::string& function, Invocation&& inv) {
  auto it = home.pools.find(function);
  if (home.stopped || it == home.pools.end()) {
    FunctionPool::deliver(
        std::move(inv),
        home.stopped ? refusal(InvocationResult::Status::kNotFound, "ServiceException",
                               "Portico is shutting down")
                     : refusal(InvocationResult::Status::kNotFound, "ResourceNotFoundException",
                               "Function not found: " +
                                   function_arn(settings_.region, settings_.account_id, function)));
    return;
  }
  it->second->invoke(std::move(inv));
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
  Home& home = *homes_[home_index(function)];
  if (home.loop == net::EventLoop::current()) {
    invoke_at_home(home, function, std::move(inv));
  } else {
    home.loop->post([this, &home, function, inv = std::move(inv)]() mutable {
      invoke_at_home(home, function, std::move(inv));
    });
  }
  return ticket;
}

}  // namespace portico::functions
