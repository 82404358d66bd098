#include "aggregate/combine.h"

#include <boost/json.hpp>

namespace portico::aggregate {

namespace json = boost::json;

json::value shape(const CallPlan& call, json::value answer) {
  if (call.target) {
    const json::value* found = format::find(answer, *call.target);
    json::value taken = found != nullptr ? *found : json::value();
    answer = std::move(taken);
  }
  if (!call.select.empty()) answer = format::select(answer, call.select);
  for (const format::Pointer& p : call.drop) format::erase(answer, p);
  for (const auto& [from, to] : call.rename) {
    const json::value* found = format::find(answer, from);
    if (found == nullptr) continue;
    json::value moved = *found;
    format::erase(answer, from);
    format::put(answer, to, std::move(moved));
  }
  return answer;
}

json::value combine(const config::Aggregate& aggregate, const std::vector<Outcome>& outcomes) {
  using Combine = config::Aggregate::Combine;
  if (aggregate.combine == Combine::kArray) {
    json::array out;
    for (const Outcome& o : outcomes) out.push_back(o.ok ? o.value : json::value());
    return out;
  }
  json::object out;
  json::array failed;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    const Outcome& o = outcomes[i];
    const std::string& name = aggregate.backends[i].name;
    if (!o.ok) {
      failed.emplace_back(name);
      continue;
    }
    if (aggregate.combine == Combine::kMerge && o.value.is_object()) {
      for (const auto& member : o.value.get_object()) out[member.key()] = member.value();
    } else {
      out[name] = o.value;
    }
  }
  if (!failed.empty() && !aggregate.partial_field.empty()) {
    out[aggregate.partial_field] = std::move(failed);
  }
  return out;
}

}  // namespace portico::aggregate
