#include "app/server.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "config/loader.h"
#include "core/log.h"
#include "aggregate/plan.h"
#include "filters/registry.h"
#include "net/socket.h"

namespace portico::app {
namespace {

bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = fmt::format("{}: cannot read file: {}", path, strerror(errno));
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

std::string describe(const config::Config& c) {
  auto count = [](size_t n, std::string_view what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); };
  std::string out = count(c.routes.size(), "route") + ", " + count(c.upstreams.size(), "upstream");
  if (!c.rate_limits.empty()) out += ", " + count(c.rate_limits.size(), "rate limit");
  if (!c.usage_plans.empty()) out += ", " + count(c.usage_plans.size(), "usage plan");
  if (!c.functions.empty()) out += ", " + count(c.functions.size(), "function");
  return out;
}

}  // namespace

// SIGHUP reloads; SIGTERM and SIGINT shut down gracefully. A second SIGINT (Ctrl-C
// twice) exits at once; a repeated SIGTERM is ignored, as orchestrators may resend it.
class Server::SignalHandler final : public net::IoHandler {
 public:
  SignalHandler(Server& server, int fd) : server_(server), fd_(fd) { server_.loop_.watch(fd_, this, 0x001); }
  ~SignalHandler() override {
    server_.loop_.unwatch(fd_);
    close(fd_);
  }
  void on_io(uint32_t) override {
    signalfd_siginfo info;
    while (read(fd_, &info, sizeof info) == sizeof info) {
      if (info.ssi_signo == SIGHUP) {
        server_.reload("SIGHUP");
      } else {
        server_.begin_shutdown(info.ssi_signo == SIGINT);
      }
    }
  }

 private:
  Server& server_;
  int fd_;
};

Server::Server(Options options) : options_(std::move(options)) {}

Server::~Server() {
  watcher_.reset();
  other_watchers_.clear();
  admin_.reset();
  services_.reset();
  workers_.clear();
  authorizers_.reset();
  if (async_) async_->stop();  // before the host it invokes; destroyed after it (the host posts to it)
  functions_.reset();
  async_.reset();
  logs_.reset();
  upstreams_.reset();
  jwks_.reset();
  signals_.reset();
  loop_.run_pending();
}

void Server::apply_log_level(const config::Config& c) {
  log::Level level;
  const std::string& name = options_.log_level.empty() ? c.server.log_level : options_.log_level;
  if (log::parse_level(name, level)) log::set_level(level);
}

bool Server::start() {
  // Signals are taken from a signalfd by the main loop. Blocked first, before any thread
  // starts (workers, the quota writer), since every thread inherits the mask and a
  // thread without it would take SIGTERM's default action: exit at once.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  std::string error;
  if (!read_file(options_.config_path, loaded_text_, error)) {
    log::error("{}", error);
    return false;
  }
  std::vector<config::Diagnostic> errors;
  auto cfg = config::load_config_text(loaded_text_, options_.config_path, errors);
  if (!cfg) {
    fmt::print(stderr, "{}", config::format_diagnostics(errors));
    log::error("{}: {} error{}; not starting", options_.config_path, errors.size(), errors.size() == 1 ? "" : "s");
    return false;
  }
  apply_log_level(*cfg);
  int workers = cfg->server.workers > 0 ? cfg->server.workers
                                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  set_stats_slot_count(workers + 1);
  set_stats_slot(workers);
  stats_ = std::make_unique<gateway::StatsRegistry>();

  // One listening socket per worker per address (SO_REUSEPORT). The first one resolves a
  // port 0 so all workers share the same, actual port.
  std::vector<std::vector<int>> fds(static_cast<size_t>(workers));
  std::vector<net::Address> bound;
  for (const auto& requested : cfg->server.listen) {
    net::Address addr = requested;
    for (int w = 0; w < workers; ++w) {
      auto fd = net::listen_tcp(addr, true);
      if (!fd) {
        log::error("{}", fd.error().message);
        return false;
      }
      if (w == 0) addr = net::local_address(*fd);
      fds[static_cast<size_t>(w)].push_back(*fd);
    }
    bound.push_back(addr);
  }
  std::optional<net::Address> admin_addr;
  int admin_fd = -1;
  if (cfg->server.admin) {
    auto fd = net::listen_tcp(*cfg->server.admin, false, 128);
    if (!fd) {
      log::error("admin listener: {}", fd.error().message);
      return false;
    }
    admin_fd = *fd;
    admin_addr = net::local_address(admin_fd);
  }

  std::optional<net::Address> services_addr;
  int services_fd = -1;
  if (cfg->services.enabled) {
    auto fd = net::listen_tcp(cfg->services.listen, false, 1024);
    if (!fd) {
      log::error("services listener: {}", fd.error().message);
      return false;
    }
    services_fd = *fd;
    services_addr = net::local_address(services_fd);
  }

  auto limits = limits_.bind(*cfg);
  if (!limits) {
    log::error("{}", limits.error().message);
    return false;
  }
  auto filters = filters::build_route_filters(*cfg);
  if (!filters) {
    log::error("{}", filters.error().message);
    return false;
  }
  auto aggregates = aggregate::build_plans(*cfg);
  if (!aggregates) {
    log::error("{}", aggregates.error().message);
    return false;
  }
  auto snap = gateway::Snapshot::build(cfg, *stats_, ++generation_, *limits, *filters, *aggregates);
  if (!snap) {
    log::error("{}", snap.error().message);
    return false;
  }
  current_ = *snap;
  stats_->config_generation.set(static_cast<int64_t>(generation_));
  stats_->last_reload_ok.set(1);

  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
  if (sfd < 0) {
    log::error("signalfd: {}", strerror(errno));
    return false;
  }
  signals_ = std::make_unique<SignalHandler>(*this, sfd);

  upstreams_ = std::make_unique<upstream::UpstreamManager>(
      loop_, *stats_, [this](const std::string& name, std::shared_ptr<const upstream::EndpointSet> set) {
        for (auto& w : workers_) w->update_endpoints(name, set);
      });
  jwks_ = std::make_unique<auth::JwksManager>(
      loop_, [this](const std::string& url, std::shared_ptr<const auth::RemoteKeys> keys) {
        for (auto& w : workers_) w->update_jwks(url, keys);
      });
  functions::HostSettings host_settings;
  host_settings.runtime_dir = config::runtime_dir();
  host_settings.stats = stats_.get();
  host_settings.region = cfg->services.region;
  host_settings.account_id = cfg->services.account_id;
  if (services_addr) host_settings.endpoint_url = "http://" + services_addr->to_string();
  logs_ = std::make_unique<logs::LogStore>(cfg->server.data_dir + "/function-logs.sqlite3");
  host_settings.logs = logs_.get();
  functions_ = std::make_unique<functions::FunctionHost>(host_settings);
  async_ = std::make_unique<async::AsyncInvoker>(*functions_, cfg->server.data_dir + "/async-events.sqlite3",
                                                 *stats_);
  async_->configure(*cfg);
  authorizers_ = std::make_unique<functions::Authorizers>(*functions_, host_settings.region, host_settings.account_id);
  for (int w = 0; w < workers; ++w) {
    workers_.push_back(std::make_unique<server::Worker>(w, *stats_, current_, fds[static_cast<size_t>(w)],
                                                        upstreams_.get(), jwks_.get(), functions_.get(),
                                                        authorizers_.get(),
                                                        [this](int) { loop_.post([this] { worker_drained(); }); },
                                                        [this](int) { loop_.post([this] { worker_exited(); }); }));
  }
  // The workers' loops are the functions' homes: registered above, configured now.
  functions_->configure(*cfg);
  functions_->start();
  async_->start();
  // Endpoint sets and key sets reach the workers before they serve: static ones now,
  // discovered and fetched ones as their sources answer.
  upstreams_->configure(*cfg);
  jwks_->configure(*cfg);
  for (auto& w : workers_) w->start();
  workers_running_ = workers;
  if (admin_fd >= 0) admin_ = std::make_unique<admin::AdminServer>(loop_, *this, admin_fd);
  if (services_fd >= 0) services_ = std::make_unique<services::ServicesServer>(loop_, current_, *functions_, async_.get(),
                                                                           services_fd);
  if (options_.watch) {
    watcher_ = std::make_unique<net::FileWatcher>(loop_, options_.config_path, [this] {
      std::string text, err;
      if (!read_file(options_.config_path, text, err)) {
        log::warn("config file changed but cannot be read: {}", err);
        return;
      }
      if (text != loaded_text_) reload("file change");
    });
    watch_other_files(*cfg);
  }

  for (const auto& a : bound) log::info("listening on http://{}", a.to_string());
  if (admin_addr) log::info("admin listening on http://{}", admin_addr->to_string());
  if (services_addr) log::info("services listening on http://{}", services_addr->to_string());
  log::info("portico started: {} worker{}, {} (config generation {})", workers, workers == 1 ? "" : "s",
            describe(*current_->config), generation_);
  return true;
}

admin::ReloadResult Server::reload(const char* trigger) {
  admin::ReloadResult result;
  result.generation = generation_;
  auto fail = [&](std::string errors) {
    stats_->reloads_failed.add();
    stats_->last_reload_ok.set(0);
    log::error("config reload ({}) failed; still serving generation {}:\n{}", trigger, generation_, errors);
    result.errors = std::move(errors);
    return result;
  };
  if (draining_) return fail("shutting down");
  std::string text, error;
  if (!read_file(options_.config_path, text, error)) return fail(error);
  std::vector<config::Diagnostic> errors;
  auto cfg = config::load_config_text(text, options_.config_path, errors);
  if (!cfg) return fail(config::format_diagnostics(errors));

  // Listeners, workers and admin are bound at start-up: keep the running values.
  const config::Server& running = current_->config->server;
  auto keep = [&](bool changed, const char* name) {
    if (changed) log::warn("config reload: {} changed; restart Portico to apply it (keeping the running value)", name);
  };
  keep(cfg->server.listen_text != running.listen_text, "server.listen");
  keep(cfg->server.workers != running.workers, "server.workers");
  keep(cfg->server.admin_text != running.admin_text, "server.admin");
  keep(cfg->server.data_dir != running.data_dir, "server.data_dir");
  const config::Services& rs = current_->config->services;
  keep(cfg->services.enabled != rs.enabled || cfg->services.listen_text != rs.listen_text, "services.listen");
  keep(cfg->services.region != rs.region || cfg->services.account_id != rs.account_id,
       "services.region/account_id");
  cfg->services.enabled = rs.enabled;
  cfg->services.listen = rs.listen;
  cfg->services.listen_text = rs.listen_text;
  cfg->services.region = rs.region;
  cfg->services.account_id = rs.account_id;
  cfg->server.listen = running.listen;
  cfg->server.listen_text = running.listen_text;
  cfg->server.workers = running.workers;
  cfg->server.admin = running.admin;
  cfg->server.admin_text = running.admin_text;
  cfg->server.data_dir = running.data_dir;

  auto limits = limits_.bind(*cfg);
  if (!limits) return fail(limits.error().message);
  auto filters = filters::build_route_filters(*cfg);
  if (!filters) return fail(filters.error().message);
  auto aggregates = aggregate::build_plans(*cfg);
  if (!aggregates) return fail(aggregates.error().message);
  auto snap = gateway::Snapshot::build(cfg, *stats_, generation_ + 1, *limits, *filters, *aggregates);
  if (!snap) return fail(snap.error().message);
  ++generation_;
  current_ = *snap;
  loaded_text_ = std::move(text);
  // New endpoint and key sets are posted before the config that needs them.
  upstreams_->configure(*cfg);
  jwks_->configure(*cfg);
  functions_->configure(*cfg);
  async_->configure(*cfg);
  // The files are watched before the workers can answer with what was read from them: a
  // test (or an operator) that sees the new schema in force and edits it again at once
  // must not edit it in a gap where nothing watches it.
  if (options_.watch) watch_other_files(*cfg);
  for (auto& w : workers_) w->install(current_);
  apply_log_level(*cfg);
  stats_->reloads_ok.add();
  stats_->config_generation.set(static_cast<int64_t>(generation_));
  stats_->last_reload_ok.set(1);
  log::info("config reloaded ({}): generation {}, {}", trigger, generation_, describe(*cfg));
  result.ok = true;
  result.generation = generation_;
  return result;
}

// Consumers, JWKS and schema files are part of the config: a change to one reloads it.
void Server::watch_other_files(const config::Config& c) {
  // A file still read keeps its watcher (a new one would miss what changes before it
  // exists). This may run inside one of the old watchers' callbacks (the reload it
  // triggered): those no longer needed are freed after the current event.
  std::vector<std::string> paths = c.other_files;
  if (current_ && current_->filters) {  // the routes' schema files
    const auto& files = static_cast<const filters::RouteFilters&>(*current_->filters).files;
    paths.insert(paths.end(), files.begin(), files.end());
  }
  std::map<std::string, std::unique_ptr<net::FileWatcher>> next;
  for (const auto& path : paths) {
    if (next.count(path) > 0) continue;
    if (auto it = other_watchers_.find(path); it != other_watchers_.end()) {
      next[path] = std::move(it->second);
      other_watchers_.erase(it);
      continue;
    }
    next[path] = std::make_unique<net::FileWatcher>(loop_, path, [this, path] {
      log::info("{} changed", path);
      reload("file change");
    });
  }
  auto old = std::make_shared<decltype(next)>(std::move(other_watchers_));
  loop_.defer([old] {});
  other_watchers_ = std::move(next);
}

void Server::begin_shutdown(bool interactive) {
  log::info("received {}", interactive ? "SIGINT" : "SIGTERM");
  if (draining_) {
    if (!interactive) return;
    log::warn("second interrupt: exiting now without waiting for requests in flight");
    std::_Exit(1);
  }
  draining_ = true;
  int64_t timeout = current_->config->server.timeouts.shutdown_ms;
  log::info("shutting down: no new connections; finishing requests in flight (up to {} ms)", timeout);
  watcher_.reset();
  other_watchers_.clear();
  for (auto& w : workers_) w->shutdown(timeout);
}

// Every worker has finished its connections: no request is waiting on a function any
// more. Events the async invoker still runs are kept and run after a restart, so it
// stops before the instances do (their end would count as failed attempts).
void Server::worker_drained() {
  if (++workers_drained_ < workers_.size()) return;
  if (async_) async_->stop();
  for (auto& w : workers_) w->finish();
}

void Server::worker_exited() {
  if (--workers_running_ == 0) loop_.stop();
}

int Server::run() {
  if (!start()) return 1;
  loop_.run();
  for (auto& w : workers_) w->join();
  // Events still running are not waited for: they are stored and run after a restart.
  if (async_) async_->stop();
  if (functions_) functions_->shutdown();
  if (admin_) admin_->close_all();
  if (services_) services_->close_all();
  log::info("portico stopped");
  return 0;
}

int check_config(const std::string& path) {
  std::vector<config::Diagnostic> errors;
  auto cfg = config::load_config_file(path, errors);
  if (!cfg) {
    fmt::print(stderr, "{}", config::format_diagnostics(errors));
    fmt::print(stderr, "{}: {} error{}\n", path, errors.size(), errors.size() == 1 ? "" : "s");
    return 1;
  }
  const auto& log = cfg->server.access_log;
  if (log.enabled && log.path != "stdout" && log.path != "stderr") {
    namespace fs = std::filesystem;
    fs::path p(log.path);
    fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
    bool writable = fs::exists(p) ? access(p.c_str(), W_OK) == 0 : access(dir.c_str(), W_OK) == 0;
    if (!writable) {
      fmt::print(stderr, "{}: server.access_log.path: cannot write \"{}\"\n{}: 1 error\n", path, log.path, path);
      return 1;
    }
  }
  // What a load also builds: the routes' filters (schemas compiled, with their errors).
  if (auto filters = filters::build_route_filters(*cfg); !filters) {
    fmt::print(stderr, "{}\n{}: 1 error\n", filters.error().message, path);
    return 1;
  }
  if (auto aggregates = aggregate::build_plans(*cfg); !aggregates) {
    fmt::print(stderr, "{}\n{}: 1 error\n", aggregates.error().message, path);
    return 1;
  }
  fmt::print("{}: ok ({})\n", path, describe(*cfg));
  return 0;
}

}  // namespace portico::app
