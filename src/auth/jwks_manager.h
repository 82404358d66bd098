// Remote JWKS on the main thread: each URL is fetched at start, refreshed on its
// interval, and fetched again when a worker meets an unknown kid (at most once per
// min_refetch). A failed fetch keeps the keys from before (and says it failed); the keys
// outlive config reloads that keep the URL. Every outcome is published to the workers.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "auth/remote_keys.h"
#include "client/http_client.h"
#include "client/resolver.h"
#include "config/config.h"
#include "net/event_loop.h"

namespace portico::auth {

class JwksManager final : public JwksFetcher {
 public:
  using Publish = std::function<void(const std::string& url, std::shared_ptr<const RemoteKeys> keys)>;

  JwksManager(net::EventLoop& loop, Publish publish);
  ~JwksManager() override;

  // A config was loaded: fetch new URLs, keep known ones, forget unused ones. Publishes
  // every URL's current keys before returning (new ones as "loading").
  void configure(const config::Config& config);

  // JwksFetcher: any thread.
  void refetch(const std::string& url) override;

 private:
  struct Source;
  void fetch(Source& s);
  void connect(Source& s, const net::Address& address);
  void fetched(Source& s, bool ok, const client::Response& response, const std::string& error);
  void on_refetch(const std::string& url);

  net::EventLoop& loop_;
  Publish publish_;
  client::Resolver resolver_;  // the system's resolvers
  std::map<std::string, std::unique_ptr<Source>> sources_;
  std::shared_ptr<bool> alive_;
};

}  // namespace portico::auth
