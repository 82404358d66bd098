// The compiled form of a schema: one Node per schema object reached from the root
// (through subschemas and references), keywords already parsed, references already
// resolved to node ids, patterns compiled. Written by compiler.cc, run by validator.cc.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <re2/re2.h>

#include "schema/schema.h"
#include "schema/simple_pattern.h"

namespace portico::schema {

using NodeId = uint32_t;
inline constexpr NodeId kNoNode = UINT32_MAX;

enum class Format : uint8_t {
  kNone,
  kEmail,
  kDateTime,
  kDate,
  kTime,
  kUuid,
  kUri,
  kHostname,
  kIpv4,
  kIpv6
};

// Checks a string against a format (formats.cc).
bool format_matches(Format format, std::string_view s);
Format format_named(std::string_view name);  // kNone for a format not asserted

inline bool is_number_type(simdjson::dom::element_type t) {
  return t == simdjson::dom::element_type::INT64 || t == simdjson::dom::element_type::UINT64 ||
         t == simdjson::dom::element_type::DOUBLE;
}

// A JSON number's value as a double, whichever way simdjson stored it.
inline double number_value(const simdjson::dom::element& e) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64:
      return static_cast<double>(int64_t(e));
    case simdjson::dom::element_type::UINT64:
      return static_cast<double>(uint64_t(e));
    default:
      return double(e);
  }
}

// A member name or index as an RFC 6901 reference token (~ as ~0, / as ~1).
inline std::string escape_token(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

// Which groups of keywords a Node has (Node::has, set by summarize() once the node is
// filled): the validator tests these bits, in the node's first cache line, rather than
// the fields themselves, spread over ten.
enum NodeHas : uint32_t {
  kHasConst = 1 << 0,
  kHasEnum = 1 << 1,
  kHasDynamicRef = 1 << 2,
  kHasApplicators = 1 << 3,   // allOf, anyOf, oneOf, not, if
  kHasUnevaluated = 1 << 4,   // unevaluatedProperties or unevaluatedItems
  kHasNumberChecks = 1 << 5,  // minimum, maximum, exclusive*, multipleOf
  kHasLength = 1 << 6,        // minLength, maxLength
  kHasArrayChecks = 1 << 7,   // minItems, maxItems, prefixItems, items, contains, uniqueItems
  kHasObjectChecks = 1 << 8,  // min/maxProperties, required (outside the member pass), dependent*
  kHasMemberChecks = 1 << 9,  // properties, patternProperties, additionalProperties, propertyNames
  kHasPatternProperties = 1 << 10,
};

struct Node {
  // The fields every instance's walk reads come first (one cache line): a schema of
  // 40 nodes is then 2.5 KiB of hot data rather than 24 KiB, which matters on a worker
  // whose caches also hold connections and routes.
  int8_t boolean = -1;  // a boolean schema: 1 true, 0 false; -1 an object schema
  uint8_t types = 0;    // TypeBit set; 0: no `type`
  Format format = Format::kNone;
  // All of `required` are among `properties` (and there are at most 64 of those): the
  // fast mode then checks them in the member pass, by property index, with no lookups.
  bool required_in_properties = false;
  uint32_t has = 0;      // NodeHas bits
  int32_t pattern = -1;  // index into CompiledSchema::regexes
  uint32_t resource = 0;  // the schema resource this node belongs to
  NodeId ref = kNoNode;
  NodeId items = kNoNode;  // after the prefix (draft-07: additionalItems, or items as one schema)
  NodeId additional_properties = kNoNode;
  uint64_t required_mask = 0;  // bit i: properties[i] is required
  std::vector<std::pair<std::string, NodeId>> properties;  // sorted by property_less
  // An open-addressing table over `properties` (see find_property): index + 1 per
  // slot, 0 for none; a power of two at least twice their number.
  std::vector<uint16_t> property_slots;

  bool unique_items = false;
  bool resource_root = false;  // entering it enters its resource (the dynamic scope)
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  std::optional<uint64_t> min_length, max_length, min_items, max_items, min_properties,
      max_properties;
  std::optional<uint64_t> min_contains, max_contains;

  std::vector<NodeId> prefix_items;  // draft-07: items as an array
  NodeId contains = kNoNode;
  std::vector<std::pair<int32_t, NodeId>> pattern_properties;
  NodeId property_names = kNoNode;
  std::vector<std::string> required;
  std::vector<std::pair<std::string, std::vector<std::string>>> dependent_required;
  std::vector<std::pair<std::string, NodeId>> dependent_schemas;

  std::vector<NodeId> all_of, any_of, one_of;
  NodeId not_schema = kNoNode, if_schema = kNoNode, then_schema = kNoNode, else_schema = kNoNode;
  NodeId dynamic_ref = kNoNode;  // the statically resolved target of $dynamicRef
  std::string dynamic_anchor;    // the anchor name when the $dynamicRef is dynamic
  NodeId unevaluated_properties = kNoNode, unevaluated_items = kNoNode;

  bool has_const = false;
  simdjson::dom::element const_value;
  bool has_enum = false;
  std::vector<simdjson::dom::element> enum_values;
};

// Sets n.has from the keywords filled in.
inline void summarize(Node& n) {
  uint32_t h = 0;
  if (n.has_const) h |= kHasConst;
  if (n.has_enum) h |= kHasEnum;
  if (n.dynamic_ref != kNoNode) h |= kHasDynamicRef;
  if (!n.all_of.empty() || !n.any_of.empty() || !n.one_of.empty() || n.not_schema != kNoNode ||
      n.if_schema != kNoNode)
    h |= kHasApplicators;
  if (n.unevaluated_properties != kNoNode || n.unevaluated_items != kNoNode) h |= kHasUnevaluated;
  if (n.minimum || n.maximum || n.exclusive_minimum || n.exclusive_maximum || n.multiple_of)
    h |= kHasNumberChecks;
  if (n.min_length || n.max_length) h |= kHasLength;
  if (n.min_items || n.max_items || !n.prefix_items.empty() || n.items != kNoNode ||
      n.contains != kNoNode || n.unique_items)
    h |= kHasArrayChecks;
  if (n.min_properties || n.max_properties || !n.required.empty() || !n.dependent_required.empty() ||
      !n.dependent_schemas.empty())
    h |= kHasObjectChecks;
  if (!n.properties.empty() || !n.pattern_properties.empty() ||
      n.additional_properties != kNoNode || n.property_names != kNoNode)
    h |= kHasMemberChecks;
  if (!n.pattern_properties.empty()) h |= kHasPatternProperties;
  n.has = h;
}

// The order of Node::properties: by length, then bytes (the order they are reported in
// is the document's, not this one).
inline bool property_less(std::string_view a, std::string_view b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

// A member name's slot in Node::property_slots: its length and three of its bytes,
// mixed. Names in one schema object differ in those far more often than not, and a
// collision costs one more comparison.
inline uint32_t property_hash(std::string_view k) {
  uint32_t h = static_cast<uint32_t>(k.size()) * 0x9E3779B1u;
  if (!k.empty()) {
    h ^= static_cast<unsigned char>(k[0]) * 0x85EBCA77u;
    h ^= static_cast<unsigned char>(k[k.size() - 1]) * 0xC2B2AE3Du;
    h ^= static_cast<unsigned char>(k[k.size() / 2]) * 0x27D4EB2Fu;
  }
  return h ^ (h >> 15);
}

// Equal bytes, for the short names of JSON members: two overlapping word loads rather
// than a call to memcmp.
inline bool same_name(std::string_view a, std::string_view b) {
  size_t n = a.size();
  if (n != b.size()) return false;
  auto load8 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return v;
  };
  auto load4 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  if (n >= 8 && n <= 16)
    return load8(a.data()) == load8(b.data()) && load8(a.data() + n - 8) == load8(b.data() + n - 8);
  if (n >= 4 && n < 8)
    return load4(a.data()) == load4(b.data()) && load4(a.data() + n - 4) == load4(b.data() + n - 4);
  return n == 0 || std::memcmp(a.data(), b.data(), n) == 0;
}

// Fills n.property_slots from n.properties.
inline void index_properties(Node& n) {
  n.property_slots.clear();
  if (n.properties.empty() || n.properties.size() >= UINT16_MAX) return;
  size_t size = 4;
  while (size < 2 * n.properties.size()) size *= 2;
  n.property_slots.assign(size, 0);
  for (size_t i = 0; i < n.properties.size(); ++i) {
    size_t slot = property_hash(n.properties[i].first) & (size - 1);
    while (n.property_slots[slot] != 0) slot = (slot + 1) & (size - 1);
    n.property_slots[slot] = static_cast<uint16_t>(i + 1);
  }
}

// The index of `name` in n.properties, or -1.
inline int find_property(const Node& n, std::string_view name) {
  if (n.property_slots.empty()) {
    for (size_t i = 0; i < n.properties.size(); ++i) {
      if (n.properties[i].first == name) return static_cast<int>(i);
    }
    return -1;
  }
  size_t mask = n.property_slots.size() - 1;
  for (size_t slot = property_hash(name) & mask;; slot = (slot + 1) & mask) {
    uint16_t s = n.property_slots[slot];
    if (s == 0) return -1;
    if (same_name(n.properties[s - 1].first, name)) return s - 1;
  }
}

struct CompiledSchema {
  std::vector<Node> nodes;
  NodeId root = kNoNode;
  std::vector<std::unique_ptr<RE2>> regexes;
  // Beside each regex: its greedy matcher, when the pattern is simple enough for one.
  std::vector<std::optional<SimplePattern>> simple_patterns;
  // RE2::PartialMatch of regexes[index], through the simple matcher when there is one.
  bool pattern_matches(int32_t index, std::string_view s) const {
    const auto& simple = simple_patterns[static_cast<size_t>(index)];
    if (simple) return simple->matches(s);
    return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()),
                             *regexes[static_cast<size_t>(index)]);
  }
  std::vector<std::string> regex_sources;
  // Per resource: its $dynamicAnchor names and the nodes they name.
  std::vector<std::vector<std::pair<std::string, NodeId>>> dynamic_anchors;
  bool assert_formats = true;
  bool dynamic_scope = false;  // some node has a $dynamicRef: the validator tracks the scope
  std::shared_ptr<const void> documents;  // keeps the schema documents (enum, const) alive
  std::vector<std::string> files;         // the files read for it (to watch for changes)
};

}  // namespace portico::schema
