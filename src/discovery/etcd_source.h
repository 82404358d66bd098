// etcd discovery through the v3 JSON gateway (what etcd 3.4+ serves on its client
// port): every key under the prefix holds one endpoint or a list (endpoint_list.h). A
// range read gives the current list and its revision; a watch from the next revision
// streams changes. A cancelled or compacted watch starts over with a range read; a lost
// connection is retried with back-off, through the configured etcd endpoints in turn.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "client/http_client.h"
#include "discovery/source.h"

namespace portico::discovery {

class EtcdSource final : public Source {
 public:
  EtcdSource(net::EventLoop& loop, config::EtcdDiscovery config, Callbacks callbacks);
  ~EtcdSource() override;
  void start() override;
  std::string describe() const override { return "etcd " + config_.prefix; }

 private:
  void list();
  void on_list(bool ok, const client::Response& r, const std::string& error);
  void watch();
  void on_watch_data(std::string_view piece);
  bool on_watch_message(std::string_view json);  // false: start over
  void failed(std::string error);
  void publish();
  client::Request post(std::string path, std::string body) const;
  void cancel_request();

  net::EventLoop& loop_;
  config::EtcdDiscovery config_;
  Callbacks callbacks_;
  client::HttpClient* request_ = nullptr;
  net::Timer retry_;
  size_t endpoint_ = 0;  // which etcd endpoint to use
  int64_t backoff_ms_ = 0;
  int64_t revision_ = 0;
  std::string watch_buffer_;  // partial JSON lines from the watch stream
  std::map<std::string, std::vector<DiscoveredEndpoint>> keys_;  // key -> its endpoints
};

}  // namespace portico::discovery
