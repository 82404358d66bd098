// The compiled form of a schema: one Node per schema object reached from the root
// (through subschemas and references), keywords already parsed, references already
// resolved to node ids, patterns compiled. Written by compiler.cc, run by validator.cc.
#pragma once

#include <simdjson.h>

#include <algorithm>
#include <cstdint>
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

// The order of Node::properties: by length, then bytes. A lookup then settles most
// comparisons on the length alone (no memcmp), which matters in the member loop.
inline bool property_less(std::string_view a, std::string_view b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}
// The index of `name` in n.properties, or -1.
inline int find_property(const Node& n, std::string_view name) {
  auto it = std::lower_bound(n.properties.begin(), n.properties.end(), name,
                             [](const std::pair<std::string, NodeId>& p, std::string_view k) {
                               return property_less(p.first, k);
                             });
  if (it == n.properties.end() || it->first != name) return -1;
  return static_cast<int>(it - n.properties.begin());
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
  std::shared_ptr<const void> documents;  // keeps the schema documents (enum, const) alive
  std::vector<std::string> files;         // the files read for it (to watch for changes)
};

}  // namespace portico::schema
