// Running a CompiledSchema over an instance (simdjson DOM). Two modes share the code:
// without a violation list the first failure ends the walk (no strings are built);
// with one, every failing keyword is reported at its instance location, and the
// subschemas of combinators are run silently so that only the combinator reports.
// Annotations (which properties and items were evaluated) are tracked only below a
// schema that has unevaluatedProperties or unevaluatedItems.
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>

#include "schema/program.h"
#include "schema/schema.h"

namespace portico::schema {
namespace dom = simdjson::dom;

namespace {

uint8_t type_bits(const dom::element& e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      return kTypeNull;
    case dom::element_type::BOOL:
      return kTypeBoolean;
    case dom::element_type::OBJECT:
      return kTypeObject;
    case dom::element_type::ARRAY:
      return kTypeArray;
    case dom::element_type::STRING:
      return kTypeString;
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
      return kTypeNumber | kTypeInteger;
    case dom::element_type::DOUBLE: {
      double d = double(e);
      return std::isfinite(d) && d == std::floor(d) ? kTypeNumber | kTypeInteger : kTypeNumber;
    }
  }
  return 0;
}

std::string type_names(uint8_t bits) {
  static const std::pair<uint8_t, const char*> kNames[] = {
      {kTypeNull, "null"},      {kTypeBoolean, "boolean"}, {kTypeObject, "object"},
      {kTypeArray, "array"},    {kTypeNumber, "number"},   {kTypeString, "string"},
      {kTypeInteger, "integer"}};
  std::string out;
  for (auto [bit, name] : kNames) {
    if ((bits & bit) == 0) continue;
    if (!out.empty()) out += " or ";
    out += name;
  }
  return out;
}

// JSON equality: numbers by value (1 == 1.0), objects regardless of member order.
bool json_equal(const dom::element& a, const dom::element& b) {
  auto ta = a.type(), tb = b.type();
  if (is_number_type(ta) && is_number_type(tb)) {
    if (ta == dom::element_type::INT64 && tb == dom::element_type::INT64)
      return int64_t(a) == int64_t(b);
    if (ta == dom::element_type::UINT64 && tb == dom::element_type::UINT64)
      return uint64_t(a) == uint64_t(b);
    return number_value(a) == number_value(b);
  }
  if (ta != tb) return false;
  switch (ta) {
    case dom::element_type::NULL_VALUE:
      return true;
    case dom::element_type::BOOL:
      return bool(a) == bool(b);
    case dom::element_type::STRING:
      return std::string_view(a) == std::string_view(b);
    case dom::element_type::ARRAY: {
      dom::array x(a), y(b);
      if (x.size() != y.size()) return false;
      auto i = x.begin(), j = y.begin();
      for (; i != x.end(); ++i, ++j) {
        if (!json_equal(*i, *j)) return false;
      }
      return true;
    }
    case dom::element_type::OBJECT: {
      dom::object x(a), y(b);
      if (x.size() != y.size()) return false;
      for (auto field : x) {
        dom::element other;
        if (y.at_key(field.key).get(other) != simdjson::SUCCESS || !json_equal(field.value, other))
          return false;
      }
      return true;
    }
    default:
      return false;
  }
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string pointer_token(std::string_view token) { return "/" + escape_token(token); }

std::string quoted(const dom::element& e) { return simdjson::minify(e); }

// What a schema evaluated of the instance it ran on (for unevaluated*).
struct Evaluated {
  std::vector<bool> props;  // by member index
  std::vector<bool> items;  // by index
  static Evaluated like(const Evaluated& other) {
    Evaluated e;
    e.props.assign(other.props.size(), false);
    e.items.assign(other.items.size(), false);
    return e;
  }
  void merge(const Evaluated& o) {
    for (size_t i = 0; i < props.size() && i < o.props.size(); ++i)
      props[i] = props[i] || o.props[i];
    for (size_t i = 0; i < items.size() && i < o.items.size(); ++i)
      items[i] = items[i] || o.items[i];
  }
};

class Evaluator {
 public:
  Evaluator(const CompiledSchema& program, std::vector<Violation>* out) : p_(program), out_(out) {}

  bool eval(NodeId id, const dom::element& v, Evaluated* ev) {
    const Node& n = p_.nodes[id];
    if (n.boolean == 1) return true;
    if (n.boolean == 0) {
      fail("false", "no value is allowed here");
      return false;
    }
    // A reference cycle that consumes nothing of the instance ({"$ref": "#"}) would
    // recurse for ever; a real document nests far less deep than this.
    if (depth_ >= kMaxDepth) {
      fail("$ref", "the schema recurses deeper than " + std::to_string(kMaxDepth) + " levels here");
      return false;
    }
    struct Depth {
      int& d;
      explicit Depth(int& depth) : d(depth) { ++d; }
      ~Depth() { --d; }
    } depth(depth_);
    // The dynamic scope matters only to $dynamicRef (most schemas have none).
    bool pushed = p_.dynamic_scope && (scope_.empty() || scope_.back() != n.resource);
    if (pushed) scope_.push_back(n.resource);
    Evaluated local;
    Evaluated* ann = ev;
    bool own = (n.has & kHasUnevaluated) != 0;
    if (own) {
      if (v.type() == dom::element_type::OBJECT) local.props.assign(dom::object(v).size(), false);
      if (v.type() == dom::element_type::ARRAY) local.items.assign(dom::array(v).size(), false);
      ann = &local;
    }
    bool ok = keywords(n, v, ann);
    if (own && (ok || out_ != nullptr)) ok = unevaluated(n, v, ann) && ok;
    if (own && ev != nullptr && ok) ev->merge(local);
    if (pushed) scope_.pop_back();
    return ok;
  }

 private:
  void fail(std::string_view keyword, std::string message) {
    if (out_ != nullptr)
      out_->push_back(Violation{pointer_, std::string(keyword), std::move(message)});
  }

  // A subschema applied to the same instance: its annotations count only if it passed.
  bool in_place(NodeId id, const dom::element& v, Evaluated* ann) {
    if (ann == nullptr) return eval(id, v, nullptr);
    Evaluated tmp = Evaluated::like(*ann);
    bool ok = eval(id, v, &tmp);
    if (ok) ann->merge(tmp);
    return ok;
  }

  // The same, without reporting (combinators report for their subschemas).
  bool test(NodeId id, const dom::element& v, Evaluated* ann) {
    std::vector<Violation>* saved = out_;
    out_ = nullptr;
    bool ok = in_place(id, v, ann);
    out_ = saved;
    return ok;
  }

  // A subschema applied to a member or item (a new instance location).
  bool at(NodeId id, const dom::element& v, std::string_view token) {
    if (out_ == nullptr) return eval(id, v, nullptr);
    size_t len = pointer_.size();
    pointer_ += pointer_token(token);
    bool ok = eval(id, v, nullptr);
    pointer_.resize(len);
    return ok;
  }
  bool at(NodeId id, const dom::element& v, size_t index) {
    if (out_ == nullptr) return eval(id, v, nullptr);
    return at(id, v, std::to_string(index));
  }

// A subschema's result: in the fast mode the first failure ends the walk.
#define PORTICO_SCHEMA_SUB(passed)       \
  do {                                   \
    if (!(passed)) {                     \
      if (out_ == nullptr) return false; \
      ok = false;                        \
    }                                    \
  } while (0)

// A failure located at a member of the current instance (its name as the last token).
#define PORTICO_SCHEMA_FAIL_AT(token, keyword, message)                            \
  do {                                                                             \
    if (out_ == nullptr) return false;                                             \
    ok = false;                                                                    \
    out_->push_back(Violation{pointer_ + pointer_token(token), keyword, message}); \
  } while (0)

#define PORTICO_SCHEMA_CHECK(cond, keyword, message) \
  do {                                               \
    if (!(cond)) {                                   \
      if (out_ == nullptr) return false;             \
      ok = false;                                    \
      fail(keyword, message);                        \
    }                                                \
  } while (0)

  bool keywords(const Node& n, const dom::element& v, Evaluated* ann) {
    bool ok = true;
    if (n.types != 0)
      PORTICO_SCHEMA_CHECK((type_bits(v) & n.types) != 0, "type", "must be " + type_names(n.types));
    if ((n.has & kHasConst) != 0)
      PORTICO_SCHEMA_CHECK(json_equal(v, n.const_value), "const",
                           "must be " + quoted(n.const_value));
    if ((n.has & kHasEnum) != 0) {
      bool found = std::any_of(n.enum_values.begin(), n.enum_values.end(),
                               [&](const dom::element& e) { return json_equal(v, e); });
      PORTICO_SCHEMA_CHECK(found, "enum", "must be one of the allowed values");
    }
    if (n.ref != kNoNode) PORTICO_SCHEMA_SUB(in_place(n.ref, v, ann));
    if ((n.has & kHasDynamicRef) != 0) {
      NodeId target = n.dynamic_ref;
      if (!n.dynamic_anchor.empty()) {
        for (uint32_t r : scope_) {  // outermost first
          const auto& anchors = p_.dynamic_anchors[r];
          auto it = std::find_if(anchors.begin(), anchors.end(),
                                 [&](const auto& a) { return a.first == n.dynamic_anchor; });
          if (it != anchors.end()) {
            target = it->second;
            break;
          }
        }
      }
      PORTICO_SCHEMA_SUB(in_place(target, v, ann));
    }
    switch (v.type()) {
      case dom::element_type::INT64:
      case dom::element_type::UINT64:
      case dom::element_type::DOUBLE:
        if ((n.has & kHasNumberChecks) != 0) ok = number(n, v) && ok;
        break;
      case dom::element_type::STRING:
        if ((n.has & kHasLength) != 0 || n.pattern >= 0 || n.format != Format::kNone)
          ok = string(n, std::string_view(v)) && ok;
        break;
      case dom::element_type::ARRAY:
        if ((n.has & kHasArrayChecks) != 0) ok = array(n, v, ann) && ok;
        break;
      case dom::element_type::OBJECT:
        if ((n.has & (kHasObjectChecks | kHasMemberChecks)) != 0) ok = object(n, v, ann) && ok;
        break;
      default:
        break;
    }
    if (!ok && out_ == nullptr) return false;
    if ((n.has & kHasApplicators) == 0) return ok;
    for (NodeId s : n.all_of) {
      PORTICO_SCHEMA_SUB(in_place(s, v, ann));
    }
    if (!n.any_of.empty()) {
      bool any = false;
      for (NodeId s : n.any_of) {
        if (test(s, v, ann)) {
          any = true;
          if (ann == nullptr) break;  // the rest only matter for annotations
        }
      }
      PORTICO_SCHEMA_CHECK(any, "anyOf", "must match at least one of the schemas in anyOf");
    }
    if (!n.one_of.empty()) {
      size_t matched = 0;
      Evaluated first;
      for (NodeId s : n.one_of) {
        Evaluated tmp = ann != nullptr ? Evaluated::like(*ann) : Evaluated();
        if (test(s, v, ann != nullptr ? &tmp : nullptr)) {
          if (++matched == 1) first = std::move(tmp);
        }
      }
      if (matched == 1 && ann != nullptr) ann->merge(first);
      PORTICO_SCHEMA_CHECK(
          matched == 1, "oneOf",
          matched == 0
              ? "must match exactly one of the schemas in oneOf (it matches none)"
              : fmt::format("must match exactly one of the schemas in oneOf (it matches {})",
                            matched));
    }
    if (n.not_schema != kNoNode)
      PORTICO_SCHEMA_CHECK(!test(n.not_schema, v, nullptr), "not",
                           "must not match the schema in not");
    if (n.if_schema != kNoNode) {
      NodeId branch = test(n.if_schema, v, ann) ? n.then_schema : n.else_schema;
      if (branch != kNoNode) PORTICO_SCHEMA_SUB(in_place(branch, v, ann));
    }
    return ok;
  }

  bool number(const Node& n, const dom::element& v) {
    bool ok = true;
    double x = number_value(v);
    if (n.minimum)
      PORTICO_SCHEMA_CHECK(x >= *n.minimum, "minimum", fmt::format("must be >= {}", *n.minimum));
    if (n.maximum)
      PORTICO_SCHEMA_CHECK(x <= *n.maximum, "maximum", fmt::format("must be <= {}", *n.maximum));
    if (n.exclusive_minimum) {
      PORTICO_SCHEMA_CHECK(x > *n.exclusive_minimum, "exclusiveMinimum",
                           fmt::format("must be > {}", *n.exclusive_minimum));
    }
    if (n.exclusive_maximum) {
      PORTICO_SCHEMA_CHECK(x < *n.exclusive_maximum, "exclusiveMaximum",
                           fmt::format("must be < {}", *n.exclusive_maximum));
    }
    if (n.multiple_of) {
      double m = *n.multiple_of;
      bool multiple;
      if (v.type() == dom::element_type::INT64 && m == std::floor(m) && m < 9.0e15) {
        multiple = int64_t(v) % static_cast<int64_t>(m) == 0;
      } else {
        double q = x / m;
        multiple = std::isfinite(q) &&
                   std::fabs(q - std::nearbyint(q)) <= 1e-9 * std::max(1.0, std::fabs(q));
      }
      PORTICO_SCHEMA_CHECK(multiple, "multipleOf", fmt::format("must be a multiple of {}", m));
    }
    return ok;
  }

  // A string of `bytes` bytes has between bytes / 4 and `bytes` characters: when both
  // bounds pass both limits, its characters need not be counted.
  static bool length_settled(const Node& n, size_t bytes) {
    size_t fewest = (bytes + 3) / 4;
    return (!n.min_length || fewest >= *n.min_length) && (!n.max_length || bytes <= *n.max_length);
  }

  bool string(const Node& n, std::string_view s) {
    bool ok = true;
    if ((n.has & kHasLength) != 0 && !length_settled(n, s.size())) {
      size_t len = code_points(s);
      if (n.min_length) {
        PORTICO_SCHEMA_CHECK(len >= *n.min_length, "minLength",
                             fmt::format("must be at least {} characters long", *n.min_length));
      }
      if (n.max_length) {
        PORTICO_SCHEMA_CHECK(len <= *n.max_length, "maxLength",
                             fmt::format("must be at most {} characters long", *n.max_length));
      }
    }
    if (n.pattern >= 0) {
      bool match = p_.pattern_matches(n.pattern, s);
      PORTICO_SCHEMA_CHECK(match, "pattern",
                           fmt::format("must match the pattern {}",
                                       p_.regex_sources[static_cast<size_t>(n.pattern)]));
    }
    if (n.format != Format::kNone)
      PORTICO_SCHEMA_CHECK(format_matches(n.format, s), "format",
                           "is not a valid " + format_label(n.format));
    return ok;
  }

  static std::string format_label(Format f) {
    switch (f) {
      case Format::kEmail:
        return "email address";
      case Format::kDateTime:
        return "date-time (RFC 3339)";
      case Format::kDate:
        return "date (RFC 3339 full-date)";
      case Format::kTime:
        return "time (RFC 3339 full-time)";
      case Format::kUuid:
        return "UUID";
      case Format::kUri:
        return "URI";
      case Format::kHostname:
        return "host name";
      case Format::kIpv4:
        return "IPv4 address";
      case Format::kIpv6:
        return "IPv6 address";
      case Format::kNone:
        break;
    }
    return "value";
  }

  bool array(const Node& n, const dom::element& v, Evaluated* ann) {
    dom::array a(v);
    bool ok = true;
    size_t size = a.size();
    if (n.min_items)
      PORTICO_SCHEMA_CHECK(size >= *n.min_items, "minItems",
                           fmt::format("must have at least {} items", *n.min_items));
    if (n.max_items)
      PORTICO_SCHEMA_CHECK(size <= *n.max_items, "maxItems",
                           fmt::format("must have at most {} items", *n.max_items));
    if (!n.prefix_items.empty() || n.items != kNoNode) {
      size_t i = 0;
      for (dom::element item : a) {
        NodeId s = i < n.prefix_items.size() ? n.prefix_items[i] : n.items;
        if (s != kNoNode) {
          PORTICO_SCHEMA_SUB(at(s, item, i));
          if (ann != nullptr) ann->items[i] = true;
        }
        ++i;
      }
    }
    if (n.contains != kNoNode) {
      uint64_t matches = 0, i = 0;
      for (dom::element item : a) {
        if (test(n.contains, item, nullptr)) {
          ++matches;
          if (ann != nullptr) ann->items[i] = true;
        }
        ++i;
      }
      uint64_t min = n.min_contains.value_or(1);
      PORTICO_SCHEMA_CHECK(
          matches >= min, n.min_contains ? "minContains" : "contains",
          min == 1 ? std::string("must contain an item that matches the schema in contains")
                   : fmt::format("must contain at least {} items that match the schema in contains",
                                 min));
      if (n.max_contains) {
        PORTICO_SCHEMA_CHECK(
            matches <= *n.max_contains, "maxContains",
            fmt::format("must contain at most {} items that match the schema in contains",
                        *n.max_contains));
      }
    }
    if (n.unique_items && size > 1) {
      std::vector<dom::element> items(a.begin(), a.end());
      bool unique = true;
      for (size_t i = 0; i < items.size() && unique; ++i) {
        for (size_t j = i + 1; j < items.size() && unique; ++j)
          unique = !json_equal(items[i], items[j]);
      }
      PORTICO_SCHEMA_CHECK(unique, "uniqueItems", "must not contain duplicate items");
    }
    return ok;
  }

  bool object(const Node& n, const dom::element& v, Evaluated* ann) {
    dom::object o(v);
    bool ok = true;
    bool required_in_pass = out_ == nullptr && n.required_in_properties;
    if ((n.has & kHasObjectChecks) != 0 && !(required_in_pass && (n.has & kHasMemberChecks) != 0 &&
                                             only_required(n))) {
      PORTICO_SCHEMA_SUB(object_counts(n, o, required_in_pass));
    }
    if ((n.has & kHasMemberChecks) != 0) PORTICO_SCHEMA_SUB(members(n, o, ann, required_in_pass));
    for (const auto& [name, s] : n.dependent_schemas) {
      dom::element ignored;
      if (o.at_key(name).get(ignored) != simdjson::SUCCESS) continue;
      PORTICO_SCHEMA_SUB(in_place(s, v, ann));
    }
    return ok;
  }

  // Of the object checks, the node has only `required`, all among its properties.
  static bool only_required(const Node& n) {
    return !n.min_properties && !n.max_properties && n.dependent_required.empty() &&
           n.dependent_schemas.empty();
  }

  // The object's size and the members it must have.
  bool object_counts(const Node& n, const dom::object& o, bool required_in_pass) {
    bool ok = true;
    size_t size = o.size();
    if (n.min_properties) {
      PORTICO_SCHEMA_CHECK(size >= *n.min_properties, "minProperties",
                           fmt::format("must have at least {} properties", *n.min_properties));
    }
    if (n.max_properties) {
      PORTICO_SCHEMA_CHECK(size <= *n.max_properties, "maxProperties",
                           fmt::format("must have at most {} properties", *n.max_properties));
    }
    // The fast mode checks these in the member pass (fewer lookups); the reporting
    // mode here, so that missing members are listed before the members' own failures.
    for (size_t r = 0; r < n.required.size() && !required_in_pass; ++r) {
      const std::string& name = n.required[r];
      dom::element ignored;
      if (o.at_key(name).get(ignored) == simdjson::SUCCESS) continue;
      PORTICO_SCHEMA_FAIL_AT(name, "required", "is required");
    }
    for (const auto& [name, deps] : n.dependent_required) {
      dom::element ignored;
      if (o.at_key(name).get(ignored) != simdjson::SUCCESS) continue;
      for (const std::string& dep : deps) {
        if (o.at_key(dep).get(ignored) == simdjson::SUCCESS) continue;
        PORTICO_SCHEMA_FAIL_AT(dep, "dependentRequired",
                               fmt::format("is required when {} is present", name));
      }
    }
    return ok;
  }

  // Each member against properties, patternProperties, additionalProperties and
  // propertyNames (and, in the fast mode, `required` by property index).
  bool members(const Node& n, const dom::object& o, Evaluated* ann, bool required_in_pass) {
    bool ok = true;
    uint64_t seen_required = 0;
    bool patterns = (n.has & kHasPatternProperties) != 0;
    {
      size_t i = 0;
      for (auto field : o) {
        std::string_view key = field.key;
        bool matched = false;
        if (int index = find_property(n, key); index >= 0) {
          matched = true;
          if (required_in_pass) seen_required |= uint64_t{1} << index;
          PORTICO_SCHEMA_SUB(at(n.properties[static_cast<size_t>(index)].second, field.value, key));
        }
        for (size_t k = 0; patterns && k < n.pattern_properties.size(); ++k) {
          const auto& [re, sub] = n.pattern_properties[k];
          if (!p_.pattern_matches(re, key)) continue;
          matched = true;
          PORTICO_SCHEMA_SUB(at(sub, field.value, key));
        }
        if (!matched && n.additional_properties != kNoNode) {
          matched = true;
          if (p_.nodes[n.additional_properties].boolean == 0) {
            PORTICO_SCHEMA_FAIL_AT(key, "additionalProperties", "is not allowed here");
          } else {
            PORTICO_SCHEMA_SUB(at(n.additional_properties, field.value, key));
          }
        }
        if (n.property_names != kNoNode) {
          // The name is the instance here; simdjson has no element for a key, so the
          // name is checked as a string through a one-string document.
          if (!name_valid(n.property_names, key)) {
            PORTICO_SCHEMA_FAIL_AT(key, "propertyNames", "is not an allowed property name");
          }
        }
        if (matched && ann != nullptr) ann->props[i] = true;
        ++i;
      }
    }
    if (required_in_pass && (seen_required & n.required_mask) != n.required_mask) return false;
    return ok;
  }

  bool name_valid(NodeId id, std::string_view key) {
    std::string json = "\"";
    for (char c : key) {
      if (c == '"' || c == '\\') json += '\\';
      if (static_cast<unsigned char>(c) < 0x20) {
        json += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        continue;
      }
      json += c;
    }
    json += '"';
    dom::parser parser;
    dom::element e;
    if (parser.parse(json).get(e) != simdjson::SUCCESS) return false;
    std::vector<Violation>* saved = out_;
    out_ = nullptr;
    bool ok = eval(id, e, nullptr);
    out_ = saved;
    return ok;
  }

  bool unevaluated(const Node& n, const dom::element& v, Evaluated* ann) {
    bool ok = true;
    if (n.unevaluated_properties != kNoNode && v.type() == dom::element_type::OBJECT) {
      size_t i = 0;
      for (auto field : dom::object(v)) {
        if (!ann->props[i]) {
          if (p_.nodes[n.unevaluated_properties].boolean == 0) {
            PORTICO_SCHEMA_FAIL_AT(field.key, "unevaluatedProperties", "is not allowed here");
          } else {
            bool passed = at(n.unevaluated_properties, field.value, field.key);
            if (passed) ann->props[i] = true;
            PORTICO_SCHEMA_SUB(passed);
          }
        }
        ++i;
      }
    }
    if (n.unevaluated_items != kNoNode && v.type() == dom::element_type::ARRAY) {
      size_t i = 0;
      for (dom::element item : dom::array(v)) {
        if (!ann->items[i]) {
          bool passed = at(n.unevaluated_items, item, i);
          if (passed) ann->items[i] = true;
          PORTICO_SCHEMA_SUB(passed);
        }
        ++i;
      }
    }
    return ok;
  }

#undef PORTICO_SCHEMA_CHECK
#undef PORTICO_SCHEMA_SUB
#undef PORTICO_SCHEMA_FAIL_AT

  const CompiledSchema& p_;
  std::vector<Violation>* out_;
  std::string pointer_;
  std::vector<uint32_t> scope_;  // the dynamic scope: resources entered, outermost first
  static constexpr int kMaxDepth = 1000;
  int depth_ = 0;
};

}  // namespace

const std::vector<std::string>& Schema::files() const { return program_->files; }

bool Schema::validate(const dom::element& instance, std::vector<Violation>* out) const {
  Evaluator e(*program_, out);
  return e.eval(program_->root, instance, nullptr);
}

}  // namespace portico::schema
