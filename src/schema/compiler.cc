// Schema documents to a CompiledSchema: documents are scanned once for their resources
// ($id) and anchors; compile() then walks from the requested schema through every
// subschema and reference it reaches, one Node per schema location (memoised by its
// canonical URI, so recursive references end).
#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/strings.h"
#include "schema/program.h"
#include "schema/schema.h"

namespace portico::schema {
namespace dom = simdjson::dom;

namespace {

// Where a schema lives: the resource it belongs to (its base URI), its JSON Pointer
// within that resource, and the draft its resource speaks.
struct Location {
  dom::element element;
  std::string resource;
  std::string pointer;
  Draft draft = Draft::k2020_12;
};

std::pair<std::string, std::string> split_fragment(std::string_view uri) {
  size_t hash = uri.find('#');
  if (hash == std::string_view::npos) return {std::string(uri), ""};
  return {std::string(uri.substr(0, hash)), std::string(uri.substr(hash + 1))};
}

Draft draft_named(std::string_view uri, Draft fallback) {
  if (uri.find("draft-07/schema") != std::string_view::npos) return Draft::k7;
  if (uri.find("draft/2020-12/schema") != std::string_view::npos) return Draft::k2020_12;
  return fallback;
}

bool is_object(const dom::element& e) { return e.type() == dom::element_type::OBJECT; }

std::optional<std::string_view> string_member(const dom::element& e, std::string_view key) {
  if (!is_object(e)) return std::nullopt;
  std::string_view s;
  if (e[key].get(s) != simdjson::SUCCESS) return std::nullopt;
  return s;
}

bool has_member(const dom::element& e, std::string_view key) {
  dom::element v;
  return is_object(e) && e[key].get(v) == simdjson::SUCCESS;
}

// The base-changing $id of a schema object, if it has one (draft-07: an $id beside a
// $ref is ignored, and "#name" is an anchor, not a base).
std::optional<std::string_view> base_id(const dom::element& e, Draft draft) {
  auto id = string_member(e, "$id");
  if (!id) return std::nullopt;
  if (draft == Draft::k7 && (has_member(e, "$ref") || (!id->empty() && (*id)[0] == '#')))
    return std::nullopt;
  return id;
}

// The keywords whose values are subschemas, by shape.
bool keyword_single(std::string_view k) {
  return k == "additionalItems" || k == "additionalProperties" || k == "contains" ||
         k == "propertyNames" || k == "not" || k == "if" || k == "then" || k == "else" ||
         k == "unevaluatedItems" || k == "unevaluatedProperties" || k == "items";
}
bool keyword_array(std::string_view k) {
  return k == "allOf" || k == "anyOf" || k == "oneOf" || k == "prefixItems" || k == "items";
}
bool keyword_map(std::string_view k) {
  return k == "properties" || k == "patternProperties" || k == "definitions" || k == "$defs" ||
         k == "dependentSchemas" || k == "dependencies";
}

bool is_number(const dom::element& e) { return is_number_type(e.type()); }

// ECMA-262 (the dialect of `pattern`) spells Unicode property classes by their long
// General_Category names (\p{Letter}); RE2 knows the short ones (\p{L}).
std::string ecma_to_re2(std::string_view pattern) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {{"Letter", "L"},
                                                                         {"Lowercase_Letter", "Ll"},
                                                                         {"Uppercase_Letter", "Lu"},
                                                                         {"Titlecase_Letter", "Lt"},
                                                                         {"Modifier_Letter", "Lm"},
                                                                         {"Other_Letter", "Lo"},
                                                                         {"Mark", "M"},
                                                                         {"Number", "N"},
                                                                         {"Decimal_Number", "Nd"},
                                                                         {"Letter_Number", "Nl"},
                                                                         {"Other_Number", "No"},
                                                                         {"Punctuation", "P"},
                                                                         {"Symbol", "S"},
                                                                         {"Math_Symbol", "Sm"},
                                                                         {"Currency_Symbol", "Sc"},
                                                                         {"Separator", "Z"},
                                                                         {"Space_Separator", "Zs"},
                                                                         {"Other", "C"},
                                                                         {"Control", "Cc"},
                                                                         {"digit", "Nd"}};
  std::string out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == '\\' && i + 2 < pattern.size() &&
        (pattern[i + 1] == 'p' || pattern[i + 1] == 'P') && pattern[i + 2] == '{') {
      size_t close = pattern.find('}', i + 3);
      if (close != std::string_view::npos) {
        std::string_view name = pattern.substr(i + 3, close - i - 3);
        if (name.rfind("General_Category=", 0) == 0) name.remove_prefix(17);
        if (name.rfind("gc=", 0) == 0) name.remove_prefix(3);
        for (auto [long_name, short_name] : kNames) {
          if (name == long_name) name = short_name;
        }
        out += pattern.substr(i, 3);
        out += name;
        out += '}';
        i = close;
        continue;
      }
    }
    if (pattern[i] == '\\' && i + 1 < pattern.size()) {
      out += pattern.substr(i, 2);
      ++i;
      continue;
    }
    out += pattern[i];
  }
  return out;
}

}  // namespace

struct SchemaSet::Documents {
  std::vector<std::unique_ptr<dom::document>> owned;
  std::map<std::string, Location> resources;        // by absolute URI
  std::map<std::string, Location> anchors;          // "URI#name"
  std::map<std::string, Location> dynamic_anchors;  // "URI#name"

  // Registers the resources and anchors under a schema (draft: its resource's).
  void scan(const dom::element& e, const std::string& resource_in, const std::string& pointer_in,
            Draft draft_in) {
    if (!is_object(e)) return;
    std::string resource = resource_in, pointer = pointer_in;
    Draft draft = draft_in;
    if (auto id = base_id(e, draft)) {
      resource = split_fragment(resolve_uri(resource, *id)).first;
      pointer.clear();
      if (auto s = string_member(e, "$schema")) draft = draft_named(*s, draft);
      resources.emplace(resource, Location{e, resource, "", draft});
    }
    if (draft == Draft::k7) {
      if (auto id = string_member(e, "$id");
          id && !id->empty() && (*id)[0] == '#' && !has_member(e, "$ref")) {
        anchors.emplace(resource + std::string(*id), Location{e, resource, pointer, draft});
      }
      if (has_member(e, "$ref")) return;  // draft-07: nothing beside $ref counts
    } else {
      if (auto a = string_member(e, "$anchor"))
        anchors.emplace(resource + "#" + std::string(*a), Location{e, resource, pointer, draft});
      if (auto a = string_member(e, "$dynamicAnchor")) {
        Location loc{e, resource, pointer, draft};
        anchors.emplace(resource + "#" + std::string(*a), loc);
        dynamic_anchors.emplace(resource + "#" + std::string(*a), loc);
      }
    }
    for (auto field : dom::object(e)) {
      std::string_view k = field.key;
      std::string here = pointer + "/" + escape_token(k);
      if (field.value.type() == dom::element_type::ARRAY && keyword_array(k)) {
        size_t i = 0;
        for (dom::element item : dom::array(field.value))
          scan(item, resource, here + "/" + std::to_string(i++), draft);
      } else if (is_object(field.value) && keyword_map(k)) {
        for (auto sub : dom::object(field.value))
          scan(sub.value, resource, here + "/" + escape_token(sub.key), draft);
      } else if (keyword_single(k)) {
        scan(field.value, resource, here, draft);
      }
    }
  }
};

namespace {

class Compiler {
 public:
  using Loader = std::function<Result<void>(const std::string& uri)>;
  Compiler(SchemaSet::Documents& docs, CompiledSchema& out, Loader load)
      : docs_(docs), out_(out), load_(std::move(load)) {}

  Result<NodeId> compile(Location loc) {
    // A subschema with its own $id starts a resource: its canonical location is there.
    bool root = loc.pointer.empty();
    if (!root && is_object(loc.element)) {
      if (auto id = base_id(loc.element, loc.draft)) {
        std::string key = loc.resource + "#" + loc.pointer;
        loc.resource = split_fragment(resolve_uri(loc.resource, *id)).first;
        loc.pointer.clear();
        root = true;
        if (auto s = string_member(loc.element, "$schema")) loc.draft = draft_named(*s, loc.draft);
        auto r = compile(loc);
        if (r) memo_[key] = *r;
        return r;
      }
    }
    std::string key = loc.resource + "#" + loc.pointer;
    if (auto it = memo_.find(key); it != memo_.end()) return it->second;
    NodeId id = static_cast<NodeId>(out_.nodes.size());
    out_.nodes.emplace_back();
    memo_[key] = id;
    Node node;
    node.resource = resource_id(loc.resource);
    node.resource_root = root;
    if (root) {
      auto r = compile_dynamic_anchors(loc.resource, node.resource);
      if (!r) return r.error();
    }
    auto r = fill(node, loc);
    if (!r) return r.error();
    summarize(node);
    out_.nodes[id] = std::move(node);
    return id;
  }

  Result<NodeId> compile_uri(std::string_view uri, const std::string& from) {
    auto loc = locate(uri);
    if (!loc) return Error{fmt::format("{}: {}", from, loc.error().message)};
    return compile(*loc);
  }

 private:
  Error error(const Location& loc, std::string_view keyword, std::string_view message) {
    return Error{
        fmt::format("{}#{}/{}: {}", loc.resource, loc.pointer, escape_token(keyword), message)};
  }

  uint32_t resource_id(const std::string& uri) {
    auto [it, added] = resource_ids_.emplace(uri, static_cast<uint32_t>(resource_ids_.size()));
    if (added) out_.dynamic_anchors.emplace_back();
    return it->second;
  }

  Result<void> compile_dynamic_anchors(const std::string& resource, uint32_t rid) {
    if (!dynamic_done_.insert(rid).second) return {};
    std::string prefix = resource + "#";
    for (auto it = docs_.dynamic_anchors.lower_bound(prefix);
         it != docs_.dynamic_anchors.end() && it->first.compare(0, prefix.size(), prefix) == 0;
         ++it) {
      auto n = compile(it->second);
      if (!n) return n.error();
      out_.dynamic_anchors[rid].emplace_back(it->first.substr(prefix.size()), *n);
    }
    return {};
  }

  // A URI (with its fragment) to the schema it names.
  Result<Location> locate(std::string_view uri) {
    auto [doc, fragment] = split_fragment(uri);
    auto it = docs_.resources.find(doc);
    if (it == docs_.resources.end() && load_) {
      auto loaded = load_(doc);
      if (!loaded) return loaded.error();
      it = docs_.resources.find(doc);
    }
    if (it == docs_.resources.end()) return Error{fmt::format("no schema is known as \"{}\"", doc)};
    if (fragment.empty()) return it->second;
    std::string decoded = percent_decode(fragment);
    if (decoded[0] != '/') {
      auto a = docs_.anchors.find(doc + "#" + decoded);
      if (a == docs_.anchors.end())
        return Error{fmt::format("no anchor \"{}\" in \"{}\"", decoded, doc)};
      return a->second;
    }
    Location loc = it->second;
    size_t pos = 1;
    while (pos <= decoded.size()) {
      size_t slash = decoded.find('/', pos);
      if (slash == std::string::npos) slash = decoded.size();
      std::string token;
      for (size_t i = pos; i < slash; ++i) {
        if (decoded[i] == '~' && i + 1 < slash &&
            (decoded[i + 1] == '0' || decoded[i + 1] == '1')) {
          token += decoded[i + 1] == '0' ? '~' : '/';
          ++i;
        } else {
          token += decoded[i];
        }
      }
      dom::element next;
      bool found = false;
      if (is_object(loc.element)) {
        found = loc.element[token].get(next) == simdjson::SUCCESS;
      } else if (loc.element.type() == dom::element_type::ARRAY) {
        char* end = nullptr;
        unsigned long index = std::strtoul(token.c_str(), &end, 10);
        found =
            !token.empty() && *end == '\0' && loc.element.at(index).get(next) == simdjson::SUCCESS;
      }
      if (!found) return Error{fmt::format("\"{}\" does not exist", uri)};
      loc.element = next;
      loc.pointer += "/" + escape_token(token);
      if (auto id = base_id(loc.element, loc.draft)) {
        loc.resource = split_fragment(resolve_uri(loc.resource, *id)).first;
        loc.pointer.clear();
      }
      pos = slash + 1;
    }
    return loc;
  }

  Location child(const Location& parent, dom::element e, std::string_view keyword) {
    return Location{e, parent.resource, parent.pointer + "/" + escape_token(keyword), parent.draft};
  }
  Location child(const Location& parent, dom::element e, std::string_view keyword,
                 std::string_view sub) {
    return Location{e, parent.resource,
                    parent.pointer + "/" + escape_token(keyword) + "/" + escape_token(sub),
                    parent.draft};
  }

  Result<NodeId> sub(const Location& loc) {
    if (loc.element.type() != dom::element_type::BOOL && !is_object(loc.element)) {
      return Error{
          fmt::format("{}#{}: a schema must be an object or a boolean", loc.resource, loc.pointer)};
    }
    return compile(loc);
  }

  Result<std::vector<NodeId>> sub_list(const Location& loc, dom::element value,
                                       std::string_view keyword) {
    if (value.type() != dom::element_type::ARRAY)
      return error(loc, keyword, "must be an array of schemas");
    std::vector<NodeId> ids;
    size_t i = 0;
    for (dom::element item : dom::array(value)) {
      auto n = sub(child(loc, item, keyword, std::to_string(i++)));
      if (!n) return n.error();
      ids.push_back(*n);
    }
    return ids;
  }

  Result<uint64_t> count(const Location& loc, dom::element value, std::string_view keyword) {
    if (!is_number(value)) return error(loc, keyword, "must be a non-negative integer");
    double d = number_value(value);
    if (d < 0 || d != std::floor(d)) return error(loc, keyword, "must be a non-negative integer");
    return static_cast<uint64_t>(d);
  }

  Result<int32_t> regex(const Location& loc, std::string_view keyword,
                        std::string_view source_text) {
    std::string source = ecma_to_re2(source_text);
    RE2::Options options;
    options.set_log_errors(false);
    options.set_never_capture(true);
    auto re = std::make_unique<RE2>(re2::StringPiece(source.data(), source.size()), options);
    if (!re->ok())
      return error(loc, keyword,
                   fmt::format("pattern \"{}\" does not compile: {}", source_text, re->error()));
    out_.regexes.push_back(std::move(re));
    out_.simple_patterns.push_back(SimplePattern::compile(source_text));
    out_.regex_sources.emplace_back(source_text);
    return static_cast<int32_t>(out_.regexes.size() - 1);
  }

  Result<void> fill(Node& node, const Location& loc) {
    if (loc.element.type() == dom::element_type::BOOL) {
      node.boolean = bool(loc.element) ? 1 : 0;
      return {};
    }
    if (!is_object(loc.element))
      return Error{
          fmt::format("{}#{}: a schema must be an object or a boolean", loc.resource, loc.pointer)};
    dom::object obj(loc.element);
    bool draft7 = loc.draft == Draft::k7;
    dom::element items_value;
    bool has_items = false;
    dom::element additional_items;
    bool has_additional_items = false;
    for (auto field : obj) {
      std::string_view k = field.key;
      dom::element v = field.value;
      if (draft7 && k != "$ref" && has_member(loc.element, "$ref"))
        continue;  // draft-07: $ref alone counts
      if (k == "$ref") {
        auto target = string_member(loc.element, "$ref");
        if (!target) return error(loc, k, "must be a string");
        auto n = compile_uri(resolve_uri(loc.resource, *target),
                             fmt::format("{}#{}/$ref", loc.resource, loc.pointer));
        if (!n) return n.error();
        node.ref = *n;
      } else if (k == "$dynamicRef" && !draft7) {
        std::string_view target;
        if (v.get(target) != simdjson::SUCCESS) return error(loc, k, "must be a string");
        std::string absolute = resolve_uri(loc.resource, target);
        auto n = compile_uri(absolute, fmt::format("{}#{}/$dynamicRef", loc.resource, loc.pointer));
        if (!n) return n.error();
        node.dynamic_ref = *n;
        auto [doc, fragment] = split_fragment(absolute);
        if (!fragment.empty() && fragment[0] != '/' &&
            docs_.dynamic_anchors.count(doc + "#" + fragment) != 0) {
          node.dynamic_anchor = fragment;
        }
      } else if (k == "type") {
        auto bit = [](std::string_view t) -> uint8_t {
          if (t == "null") return kTypeNull;
          if (t == "boolean") return kTypeBoolean;
          if (t == "object") return kTypeObject;
          if (t == "array") return kTypeArray;
          if (t == "number") return kTypeNumber;
          if (t == "string") return kTypeString;
          if (t == "integer") return kTypeInteger;
          return 0;
        };
        std::string_view t;
        if (v.get(t) == simdjson::SUCCESS) {
          node.types = bit(t);
          if (node.types == 0) return error(loc, k, fmt::format("unknown type \"{}\"", t));
        } else if (v.type() == dom::element_type::ARRAY) {
          for (dom::element e : dom::array(v)) {
            if (e.get(t) != simdjson::SUCCESS || bit(t) == 0)
              return error(loc, k, "must name JSON types");
            node.types |= bit(t);
          }
        } else {
          return error(loc, k, "must be a type name or an array of them");
        }
      } else if (k == "enum") {
        if (v.type() != dom::element_type::ARRAY) return error(loc, k, "must be an array");
        node.has_enum = true;
        for (dom::element e : dom::array(v)) node.enum_values.push_back(e);
      } else if (k == "const") {
        node.has_const = true;
        node.const_value = v;
      } else if (k == "minimum" || k == "maximum" || k == "exclusiveMinimum" ||
                 k == "exclusiveMaximum" || k == "multipleOf") {
        if (!is_number(v)) {
          // draft-04's boolean exclusiveMinimum/Maximum: not in these drafts
          return error(loc, k, "must be a number");
        }
        double d = number_value(v);
        if (k == "minimum") node.minimum = d;
        if (k == "maximum") node.maximum = d;
        if (k == "exclusiveMinimum") node.exclusive_minimum = d;
        if (k == "exclusiveMaximum") node.exclusive_maximum = d;
        if (k == "multipleOf") {
          if (d <= 0) return error(loc, k, "must be greater than 0");
          node.multiple_of = d;
        }
      } else if (k == "minLength" || k == "maxLength" || k == "minItems" || k == "maxItems" ||
                 k == "minProperties" || k == "maxProperties" ||
                 (!draft7 && (k == "minContains" || k == "maxContains"))) {
        auto n = count(loc, v, k);
        if (!n) return n.error();
        if (k == "minLength") node.min_length = *n;
        if (k == "maxLength") node.max_length = *n;
        if (k == "minItems") node.min_items = *n;
        if (k == "maxItems") node.max_items = *n;
        if (k == "minProperties") node.min_properties = *n;
        if (k == "maxProperties") node.max_properties = *n;
        if (k == "minContains") node.min_contains = *n;
        if (k == "maxContains") node.max_contains = *n;
      } else if (k == "pattern") {
        std::string_view p;
        if (v.get(p) != simdjson::SUCCESS) return error(loc, k, "must be a string");
        auto r = regex(loc, k, p);
        if (!r) return r.error();
        node.pattern = *r;
      } else if (k == "format") {
        std::string_view f;
        if (v.get(f) != simdjson::SUCCESS) return error(loc, k, "must be a string");
        if (out_.assert_formats) node.format = format_named(f);
      } else if (k == "uniqueItems") {
        bool b = false;
        if (v.get(b) != simdjson::SUCCESS) return error(loc, k, "must be a boolean");
        node.unique_items = b;
      } else if (k == "required") {
        if (v.type() != dom::element_type::ARRAY)
          return error(loc, k, "must be an array of property names");
        for (dom::element e : dom::array(v)) {
          std::string_view name;
          if (e.get(name) != simdjson::SUCCESS)
            return error(loc, k, "must be an array of property names");
          node.required.emplace_back(name);
        }
      } else if (k == "properties" || k == "patternProperties" || k == "dependentSchemas" ||
                 (draft7 && k == "dependencies") || (!draft7 && k == "dependentRequired")) {
        if (!is_object(v)) return error(loc, k, "must be an object");
        for (auto sub_field : dom::object(v)) {
          std::string_view name = sub_field.key;
          if (k == "dependentRequired" ||
              (k == "dependencies" && sub_field.value.type() == dom::element_type::ARRAY)) {
            std::vector<std::string> names;
            if (sub_field.value.type() != dom::element_type::ARRAY)
              return error(loc, k, "must map names to arrays");
            for (dom::element e : dom::array(sub_field.value)) {
              std::string_view dep;
              if (e.get(dep) != simdjson::SUCCESS) return error(loc, k, "must list property names");
              names.emplace_back(dep);
            }
            node.dependent_required.emplace_back(std::string(name), std::move(names));
            continue;
          }
          auto n = sub(child(loc, sub_field.value, k, name));
          if (!n) return n.error();
          if (k == "properties") node.properties.emplace_back(std::string(name), *n);
          if (k == "dependentSchemas" || k == "dependencies")
            node.dependent_schemas.emplace_back(std::string(name), *n);
          if (k == "patternProperties") {
            auto r = regex(child(loc, sub_field.value, k), name, name);
            if (!r) return r.error();
            node.pattern_properties.emplace_back(*r, *n);
          }
        }
      } else if (k == "allOf" || k == "anyOf" || k == "oneOf" || (!draft7 && k == "prefixItems")) {
        auto list = sub_list(loc, v, k);
        if (!list) return list.error();
        if (k == "allOf") node.all_of = std::move(*list);
        if (k == "anyOf") node.any_of = std::move(*list);
        if (k == "oneOf") node.one_of = std::move(*list);
        if (k == "prefixItems") node.prefix_items = std::move(*list);
      } else if (k == "items") {
        items_value = v;
        has_items = true;
      } else if (k == "additionalItems" && draft7) {
        additional_items = v;
        has_additional_items = true;
      } else if (k == "additionalProperties" || k == "propertyNames" || k == "not" || k == "if" ||
                 k == "then" || k == "else" || k == "contains" ||
                 (!draft7 && (k == "unevaluatedProperties" || k == "unevaluatedItems"))) {
        auto n = sub(child(loc, v, k));
        if (!n) return n.error();
        if (k == "additionalProperties") node.additional_properties = *n;
        if (k == "propertyNames") node.property_names = *n;
        if (k == "not") node.not_schema = *n;
        if (k == "if") node.if_schema = *n;
        if (k == "then") node.then_schema = *n;
        if (k == "else") node.else_schema = *n;
        if (k == "contains") node.contains = *n;
        if (k == "unevaluatedProperties") node.unevaluated_properties = *n;
        if (k == "unevaluatedItems") node.unevaluated_items = *n;
      }
      // Anything else is an annotation or unknown: ignored, as the specifications say.
    }
    if (has_items) {
      if (draft7 && items_value.type() == dom::element_type::ARRAY) {
        auto list = sub_list(loc, items_value, "items");
        if (!list) return list.error();
        node.prefix_items = std::move(*list);
        if (has_additional_items) {
          auto n = sub(child(loc, additional_items, "additionalItems"));
          if (!n) return n.error();
          node.items = *n;
        }
      } else {
        auto n = sub(child(loc, items_value, "items"));
        if (!n) return n.error();
        node.items = *n;
      }
    }
    std::sort(node.properties.begin(), node.properties.end(),
              [](const auto& a, const auto& b) { return property_less(a.first, b.first); });
    index_properties(node);
    if (!node.required.empty() && node.properties.size() <= 64) {
      node.required_in_properties = true;
      for (const std::string& name : node.required) {
        int index = find_property(node, name);
        if (index < 0) {
          node.required_in_properties = false;
          break;
        }
        node.required_mask |= uint64_t{1} << index;
      }
    }
    return {};
  }

  SchemaSet::Documents& docs_;
  CompiledSchema& out_;
  Loader load_;  // for a URI no document was added for (null: none)
  std::map<std::string, NodeId> memo_;
  std::map<std::string, uint32_t> resource_ids_;
  std::set<uint32_t> dynamic_done_;
};

std::optional<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A metaschema's text from `dir` (python3-jsonschema's data files: one file per draft's
// root, 2020-12's vocabularies in one object keyed by their URIs); nullopt when `uri`
// names no metaschema; an error when it does and the file cannot be read.
Result<std::optional<std::string>> metaschema(const std::string& dir, std::string uri) {
  if (!uri.empty() && uri.back() == '#') uri.pop_back();
  constexpr std::string_view kVocabularies = "https://json-schema.org/draft/2020-12/meta/";
  std::string file;
  if (uri == "http://json-schema.org/draft-07/schema") {
    file = "draft7.json";
  } else if (uri == "https://json-schema.org/draft/2020-12/schema") {
    file = "draft2020-12.json";
  } else if (uri.rfind(kVocabularies, 0) == 0) {
    file = "vocabularies.json";
  } else {
    return std::optional<std::string>();
  }
  std::string path = dir + "/" + file;
  auto text = read_whole(path);
  if (!text) {
    return Error{
        fmt::format("{} is a metaschema, read from {}: {} (install Debian's "
                    "python3-jsonschema)",
                    uri, path, std::strerror(errno))};
  }
  if (file != "vocabularies.json") return text;
  dom::parser parser;
  dom::element all;
  if (parser.parse(*text).get(all) != simdjson::SUCCESS) {
    return Error{fmt::format("{}: not JSON", path)};
  }
  dom::element one;
  if (all.at_key(uri).get(one) != simdjson::SUCCESS) {
    return Error{fmt::format("no metaschema is known as \"{}\" (not in {})", uri, path)};
  }
  return std::optional<std::string>(simdjson::minify(one));
}

}  // namespace

SchemaSet::SchemaSet(Options options) : options_(options), docs_(std::make_shared<Documents>()) {}
SchemaSet::~SchemaSet() = default;

Result<void> SchemaSet::add(std::string uri, std::string_view json) {
  auto doc = std::make_unique<dom::document>();
  dom::parser parser;
  dom::element root;
  simdjson::padded_string padded(json);
  if (auto err = parser.parse_into_document(*doc, padded).get(root); err != simdjson::SUCCESS) {
    return Error{fmt::format("{}: not JSON: {}", uri, simdjson::error_message(err))};
  }
  Draft draft = options_.default_draft;
  if (auto s = string_member(root, "$schema")) draft = draft_named(*s, draft);
  std::string base = split_fragment(uri).first;
  std::string resource = base;
  if (auto id = base_id(root, draft)) resource = split_fragment(resolve_uri(base, *id)).first;
  docs_->resources.emplace(base, Location{root, resource, "", draft});
  // The root's own $id names the document too.
  docs_->scan(root, base, "", draft);
  docs_->owned.push_back(std::move(doc));
  return {};
}

Result<std::shared_ptr<const Schema>> SchemaSet::compile(std::string_view uri) {
  auto program = std::make_shared<CompiledSchema>();
  program->assert_formats = options_.assert_formats;
  program->documents = docs_;
  Compiler::Loader load = [this, &program](const std::string& uri) -> Result<void> {
    if (!options_.metaschema_dir.empty()) {
      auto meta = metaschema(options_.metaschema_dir, uri);
      if (!meta) return meta.error();
      if (*meta) return add(uri, **meta);
    }
    if (!options_.load_files || uri.rfind("file://", 0) != 0)
      return Error{fmt::format("no schema is known as \"{}\"", uri)};
    std::string path = percent_decode(uri.substr(7));
    auto text = read_whole(path);
    if (!text)
      return Error{fmt::format("cannot read schema file {}: {}", path, std::strerror(errno))};
    program->files.push_back(path);
    return add(uri, *text);
  };
  Compiler compiler(*docs_, *program, std::move(load));
  auto root = compiler.compile_uri(uri, std::string(uri));
  if (!root) return root.error();
  program->root = *root;
  program->dynamic_scope = std::any_of(program->nodes.begin(), program->nodes.end(),
                                       [](const Node& n) { return (n.has & kHasDynamicRef) != 0; });
  return std::make_shared<const Schema>(std::move(program));
}

}  // namespace portico::schema
