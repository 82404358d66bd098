#include "discovery/endpoint_list.h"

#include <yaml-cpp/yaml.h>

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::discovery {
namespace {

Result<DiscoveredEndpoint> make_endpoint(std::string text, uint64_t weight) {
  // "localhost" is the one name accepted: it needs no lookup.
  if (text.rfind("localhost:", 0) == 0) text = "127.0.0.1" + text.substr(9);
  auto a = net::parse_address(text, false);
  if (!a) return Error{fmt::format("\"{}\": {} (host names need dns discovery)", text, a.error().message)};
  if (a->port() == 0) return Error{fmt::format("\"{}\": the port must not be 0", text)};
  if (weight < 1 || weight > 10'000) return Error{fmt::format("\"{}\": weight must be from 1 to 10000", text)};
  return DiscoveredEndpoint{*a, a->to_string(), static_cast<uint32_t>(weight)};
}

uint64_t weight_of(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return 1;
  if (!n.IsScalar()) return 0;
  return parse_u64(n.Scalar()).value_or(0);
}

Result<DiscoveredEndpoint> item(const YAML::Node& n) {
  if (n.IsScalar()) return make_endpoint(n.Scalar(), 1);
  if (!n.IsMap()) return Error{"expected an address or {address, weight}"};
  if (auto a = n["address"]; a.IsDefined() && a.IsScalar()) return make_endpoint(a.Scalar(), weight_of(n["weight"]));
  auto host = n["host"];
  auto port = n["port"];
  if (host.IsDefined() && host.IsScalar() && port.IsDefined() && port.IsScalar()) {
    std::string h = host.Scalar();
    if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";
    return make_endpoint(h + ":" + port.Scalar(), weight_of(n["weight"]));
  }
  return Error{"expected {address: host:port} or {host, port}"};
}

Result<std::vector<DiscoveredEndpoint>> list(const YAML::Node& n) {
  std::vector<DiscoveredEndpoint> out;
  auto add = [&](Result<DiscoveredEndpoint> e) -> bool {
    if (!e) return false;
    out.push_back(std::move(*e));
    return true;
  };
  if (n.IsNull()) return out;
  if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) {
      auto e = item(n[i]);
      if (!e) return Error{fmt::format("item {}: {}", i, e.error().message)};
      add(std::move(e));
    }
    return out;
  }
  if (n.IsMap()) {
    if (auto eps = n["endpoints"]; eps.IsDefined()) return list(eps);
    if (auto nodes = n["nodes"]; nodes.IsDefined()) {
      if (!nodes.IsMap()) return list(nodes);
      for (auto it = nodes.begin(); it != nodes.end(); ++it) {
        auto e = make_endpoint(it->first.Scalar(), weight_of(it->second));
        if (!e) return Error{fmt::format("nodes: {}", e.error().message)};
        add(std::move(e));
      }
      return out;
    }
  }
  auto e = item(n);
  if (!e) return e.error();
  add(std::move(e));
  return out;
}

}  // namespace

Result<std::vector<DiscoveredEndpoint>> parse_endpoint_list(std::string_view text) {
  try {
    return list(YAML::Load(std::string(text)));
  } catch (const YAML::Exception& e) {
    return Error{fmt::format("line {}: {}", e.mark.line + 1, e.msg)};
  }
}

}  // namespace portico::discovery
