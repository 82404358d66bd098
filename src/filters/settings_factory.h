// The factory of a filter whose per-route state is one immutable Settings value
// (compiled schemas, templates, a jq program): it holds the settings for the config's
// lifetime and makes a filter per request that refers to them.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/filter.h"

namespace portico::filters {

struct FactoryTraits {
  bool response_head = false;      // FilterFactory::wants_response
  bool response_body = false;      // FilterFactory::wants_response_body
  std::vector<std::string> files;  // FilterFactory::watched_files
};

// F: a Filter with `using Settings = ...;` and a constructor from const Settings&.
template <typename F>
class SettingsFactory final : public FilterFactory {
 public:
  SettingsFactory(std::string_view name, typename F::Settings settings, FactoryTraits traits)
      : name_(name), settings_(std::move(settings)), traits_(std::move(traits)) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<Filter> make(const WorkerServices&, gateway::RequestContext&) const override {
    return std::make_unique<F>(settings_);
  }
  bool wants_response() const override { return traits_.response_head; }
  bool wants_response_body() const override { return traits_.response_body; }
  void watched_files(std::vector<std::string>& out) const override {
    out.insert(out.end(), traits_.files.begin(), traits_.files.end());
  }

 private:
  std::string_view name_;  // a literal
  typename F::Settings settings_;
  FactoryTraits traits_;
};

}  // namespace portico::filters
