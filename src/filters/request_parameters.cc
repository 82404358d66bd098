#include "filters/request_parameters.h"

#include <algorithm>

#include "core/strings.h"
#include "http/request_values.h"

namespace portico::filters {
namespace {

using schema::DeclaredProperty;

// A named value and every value it came with, in the request's order.
struct Group {
  std::string name;
  std::vector<std::string> values;
};

void add(std::vector<Group>& groups, std::string name, std::string value) {
  for (Group& g : groups) {
    if (g.name == name) {
      g.values.push_back(std::move(value));
      return;
    }
  }
  groups.push_back(Group{std::move(name), {std::move(value)}});
}

const DeclaredProperty* find(const Declared& declared, std::string_view name) {
  auto it =
      std::lower_bound(declared.begin(), declared.end(), name,
                       [](const DeclaredProperty& d, std::string_view n) { return d.name < n; });
  return it != declared.end() && it->name == name ? &*it : nullptr;
}

void put_string(std::string& out, std::string_view s) {
  out += '"';
  json_escape(out, s);
  out += '"';
}

// One string as the type its schema declares (types: a schema::TypeBit set).
void append_scalar(std::string& out, std::string_view value, uint8_t types) {
  if (types != 0 && (types & schema::kTypeString) == 0) {
    if ((types & (schema::kTypeInteger | schema::kTypeNumber)) != 0 && is_json_number(value)) {
      out += value;
      return;
    }
    if ((types & schema::kTypeBoolean) != 0 && (value == "true" || value == "false")) {
      out += value;
      return;
    }
    if ((types & schema::kTypeNull) != 0 && (value.empty() || value == "null")) {
      out += "null";
      return;
    }
  }
  put_string(out, value);
}

void append_member(std::string& out, const Group& g, const DeclaredProperty* d) {
  uint8_t types = d != nullptr ? d->types : 0;
  if (!out.empty() && out.back() != '{') out += ',';
  put_string(out, g.name);
  out += ':';
  bool as_array = (types & schema::kTypeArray) != 0 &&
                  !(g.values.size() == 1 && (types & schema::kTypeString) != 0);
  if (!as_array && g.values.size() == 1) {
    append_scalar(out, g.values[0], types);
    return;
  }
  uint8_t item_types = as_array && d != nullptr ? d->item_types : 0;
  out += '[';
  for (size_t i = 0; i < g.values.size(); ++i) {
    if (i > 0) out += ',';
    append_scalar(out, g.values[i], as_array ? item_types : types);
  }
  out += ']';
}

std::string object_of(const std::vector<Group>& groups, const Declared& declared) {
  std::string out = "{";
  for (const Group& g : groups) append_member(out, g, find(declared, g.name));
  out += '}';
  return out;
}

}  // namespace

std::string query_object(std::string_view raw_query, const Declared& declared) {
  std::vector<Group> groups;
  http::for_each_decoded_query_param(raw_query, [&](std::string name, std::string value) {
    add(groups, std::move(name), std::move(value));
  });
  return object_of(groups, declared);
}

std::string path_object(const std::vector<std::string>& names, const std::string_view* values,
                        size_t count, const Declared& declared) {
  std::vector<Group> groups;
  for (size_t i = 0; i < names.size() && i < count; ++i) {
    add(groups, names[i], percent_decode(values[i]));
  }
  return object_of(groups, declared);
}

std::string header_object(const http::HeaderList& headers, const Declared& declared) {
  std::vector<Group> groups;
  for (const http::Header& h : headers) {
    // The schema's spelling of the name, when it names this header.
    std::string name;
    for (const DeclaredProperty& d : declared) {
      if (iequals(d.name, h.name)) {
        name = d.name;
        break;
      }
    }
    if (name.empty()) name = to_lower(h.name);
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.name == name; });
    if (it == groups.end()) {
      groups.push_back(Group{std::move(name), {std::string(h.value)}});
    } else {
      it->values[0] += ", ";
      it->values[0] += h.value;
    }
  }
  // A list-valued field ("Accept: a, b") is an array to a schema that says array.
  for (Group& g : groups) {
    const DeclaredProperty* d = find(declared, g.name);
    if (d == nullptr || (d->types & schema::kTypeArray) == 0) continue;
    std::vector<std::string> items;
    for (std::string_view item : split(g.values[0], ',')) {
      if (!trim(item).empty()) items.emplace_back(trim(item));
    }
    g.values = std::move(items);
  }
  std::string out = "{";
  for (const Group& g : groups) {
    const DeclaredProperty* d = find(declared, g.name);
    if (g.values.empty()) {  // an empty list
      if (out.back() != '{') out += ',';
      put_string(out, g.name);
      out += ":[]";
      continue;
    }
    append_member(out, g, d);
  }
  out += '}';
  return out;
}

}  // namespace portico::filters
