// What an object schema says about its named properties, read off the compiled
// program: the types each property's schema allows, following references and allOf
// (the places a schema's `properties` are commonly split into).
#include <algorithm>

#include "schema/program.h"

namespace portico::schema {
namespace {

constexpr int kMaxDepth = 32;  // references followed; cycles stop here

// The `type` a schema (or what it references) says, and its items' type.
void types_of(const CompiledSchema& p, NodeId id, int depth, DeclaredProperty& out) {
  if (id == kNoNode || depth > kMaxDepth) return;
  const Node& n = p.nodes[id];
  if (out.types == 0) out.types = n.types;
  if (out.item_types == 0 && n.items != kNoNode) {
    DeclaredProperty items;
    types_of(p, n.items, depth + 1, items);
    out.item_types = items.types;
  }
  types_of(p, n.ref, depth + 1, out);
  for (NodeId sub : n.all_of) types_of(p, sub, depth + 1, out);
}

void collect(const CompiledSchema& p, NodeId id, int depth, std::vector<DeclaredProperty>& out) {
  if (id == kNoNode || depth > kMaxDepth) return;
  const Node& n = p.nodes[id];
  for (const auto& property : n.properties) {
    const std::string& name = property.first;
    NodeId child = property.second;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const DeclaredProperty& d) { return d.name == name; });
    if (it == out.end()) {
      out.push_back(DeclaredProperty{name, 0, 0});
      it = out.end() - 1;
    }
    types_of(p, child, 0, *it);
  }
  collect(p, n.ref, depth + 1, out);
  for (NodeId sub : n.all_of) collect(p, sub, depth + 1, out);
}

}  // namespace

std::vector<DeclaredProperty> Schema::declared_properties() const {
  std::vector<DeclaredProperty> out;
  collect(*program_, program_->root, 0, out);
  std::sort(out.begin(), out.end(),
            [](const DeclaredProperty& a, const DeclaredProperty& b) { return a.name < b.name; });
  return out;
}

}  // namespace portico::schema
