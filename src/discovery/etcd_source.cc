#include "discovery/etcd_source.h"

#include <boost/json.hpp>

#include <fmt/format.h>

#include "core/base64.h"
#include "core/log.h"
#include "discovery/endpoint_list.h"

namespace portico::discovery {
namespace {

namespace json = boost::json;

constexpr int64_t kBackoffMinMs = 500;
constexpr int64_t kBackoffMaxMs = 10'000;
constexpr size_t kMaxWatchLine = 4 * 1024 * 1024;

// The end of a prefix range: the prefix with its last byte incremented (etcd's rule).
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char c = static_cast<unsigned char>(prefix.back());
    if (c < 0xff) {
      prefix.back() = static_cast<char>(c + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

int64_t as_int(const json::value* v) {
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_string()) {
    try {
      return std::stoll(std::string(v->as_string()));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::string b64_field(const json::object& o, const char* name) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr || !v->is_string()) return {};
  return base64_decode(std::string_view(v->as_string())).value_or("");
}

}  // namespace

EtcdSource::EtcdSource(net::EventLoop& loop, config::EtcdDiscovery config, Callbacks callbacks)
    : loop_(loop), config_(std::move(config)), callbacks_(std::move(callbacks)), retry_(loop, [this] { list(); }) {}

EtcdSource::~EtcdSource() { cancel_request(); }

void EtcdSource::cancel_request() {
  if (request_ != nullptr) {
    request_->cancel();
    request_ = nullptr;
  }
}

void EtcdSource::start() { list(); }

client::Request EtcdSource::post(std::string path, std::string body) const {
  client::Request r;
  r.address = config_.addresses[endpoint_];
  r.host = config_.hosts[endpoint_];
  r.method = "POST";
  r.target = std::move(path);
  r.body = std::move(body);
  r.content_type = "application/json";
  r.timeout_ms = config_.timeout_ms;
  r.max_body = 64 << 20;
  return r;
}

void EtcdSource::list() {
  cancel_request();
  json::object body{{"key", base64_encode(config_.prefix)}, {"range_end", base64_encode(prefix_end(config_.prefix))}};
  request_ = client::HttpClient::start(
      loop_, post("/v3/kv/range", json::serialize(body)),
      {nullptr, nullptr, [this](bool ok, client::Response r, std::string error) {
         request_ = nullptr;
         on_list(ok, r, error);
       }});
}

void EtcdSource::on_list(bool ok, const client::Response& r, const std::string& error) {
  if (!ok) return failed(error);
  if (r.status != 200) return failed(fmt::format("range read: HTTP {}: {}", r.status, r.body.substr(0, 200)));
  json::error_code ec;
  json::value doc = json::parse(r.body, ec);
  if (ec || !doc.is_object()) return failed("range read: the answer is not JSON");
  const json::object& o = doc.as_object();
  const json::value* header = o.if_contains("header");
  revision_ = header && header->is_object() ? as_int(header->as_object().if_contains("revision")) : 0;
  keys_.clear();
  if (const json::value* kvs = o.if_contains("kvs"); kvs && kvs->is_array()) {
    for (const json::value& kv : kvs->as_array()) {
      if (!kv.is_object()) continue;
      std::string key = b64_field(kv.as_object(), "key");
      auto eps = parse_endpoint_list(b64_field(kv.as_object(), "value"));
      if (!eps) {
        log::warn("etcd {}: key {}: {} (ignored)", config_.prefix, key, eps.error().message);
        continue;
      }
      keys_[key] = std::move(*eps);
    }
  }
  backoff_ms_ = 0;
  publish();
  watch();
}

void EtcdSource::watch() {
  json::object create{{"key", base64_encode(config_.prefix)},
                      {"range_end", base64_encode(prefix_end(config_.prefix))},
                      {"start_revision", std::to_string(revision_ + 1)}};
  json::object body{{"create_request", create}};
  client::Request req = post("/v3/watch", json::serialize(body));
  req.stream = true;
  watch_buffer_.clear();
  request_ = client::HttpClient::start(
      loop_, std::move(req),
      {[this](int status) {
         if (status != 200) failed(fmt::format("watch: HTTP {}", status));
       },
       [this](std::string_view piece) { on_watch_data(piece); },
       [this](bool ok, client::Response, std::string error) {
         request_ = nullptr;
         failed(ok ? "the watch stream ended" : "watch: " + error);
       }});
}

void EtcdSource::on_watch_data(std::string_view piece) {
  watch_buffer_.append(piece);
  // The gateway writes one JSON message per line.
  size_t start = 0;
  while (true) {
    size_t nl = watch_buffer_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(watch_buffer_.data() + start, nl - start);
    start = nl + 1;
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) continue;
    if (!on_watch_message(line)) {
      // Start over with a fresh range read (the client is cancelled from inside its
      // own callback: it stops delivering and is freed after this event).
      cancel_request();
      list();
      return;
    }
  }
  watch_buffer_.erase(0, start);
  if (watch_buffer_.size() > kMaxWatchLine) failed("watch: message too large");
}

bool EtcdSource::on_watch_message(std::string_view text) {
  json::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) return false;
  const json::value* result = doc.as_object().if_contains("result");
  if (result == nullptr || !result->is_object()) return false;  // {"error": ...}
  const json::object& r = result->as_object();
  if (const json::value* c = r.if_contains("canceled"); c && c->is_bool() && c->as_bool()) return false;
  if (as_int(r.if_contains("compact_revision")) > 0) return false;
  const json::value* events = r.if_contains("events");
  if (events == nullptr || !events->is_array()) return true;  // created, progress
  for (const json::value& ev : events->as_array()) {
    if (!ev.is_object()) continue;
    const json::value* kv = ev.as_object().if_contains("kv");
    if (kv == nullptr || !kv->is_object()) continue;
    std::string key = b64_field(kv->as_object(), "key");
    revision_ = std::max(revision_, as_int(kv->as_object().if_contains("mod_revision")));
    const json::value* type = ev.as_object().if_contains("type");
    if (type && type->is_string() && type->as_string() == "DELETE") {
      keys_.erase(key);
      continue;
    }
    auto eps = parse_endpoint_list(b64_field(kv->as_object(), "value"));
    if (!eps) {
      log::warn("etcd {}: key {}: {} (ignored)", config_.prefix, key, eps.error().message);
      keys_.erase(key);
      continue;
    }
    keys_[key] = std::move(*eps);
  }
  publish();
  return true;
}

void EtcdSource::publish() {
  std::vector<DiscoveredEndpoint> all;
  for (const auto& [key, eps] : keys_) {
    for (const auto& e : eps) {
      bool dup = std::any_of(all.begin(), all.end(), [&](const DiscoveredEndpoint& x) { return x.text == e.text; });
      if (!dup) all.push_back(e);
    }
  }
  callbacks_.on_update(std::move(all));
}

void EtcdSource::failed(std::string error) {
  cancel_request();
  callbacks_.on_error(fmt::format("etcd {} ({}): {}", config_.prefix, config_.endpoints[endpoint_], error));
  endpoint_ = (endpoint_ + 1) % config_.addresses.size();
  backoff_ms_ = backoff_ms_ == 0 ? kBackoffMinMs : std::min(backoff_ms_ * 2, kBackoffMaxMs);
  retry_.arm_after_ms(backoff_ms_);
}

}  // namespace portico::discovery
