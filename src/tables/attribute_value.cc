#include "tables/attribute_value.h"

#include <algorithm>
#include <numeric>

#include "core/base64.h"
#include "core/strings.h"

namespace portico::tables {
namespace dom = simdjson::dom;
namespace {

ValueError validation(std::string message) {
  return ValueError{ValueError::Kind::kValidation, std::move(message)};
}
ValueError serialization(std::string message) {
  return ValueError{ValueError::Kind::kSerialization, std::move(message)};
}

constexpr std::string_view kInvalid = "One or more parameter values were invalid: ";

// A set's elements as DynamoDB lists them in its duplicate message: [a, b].
std::string listed(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += items[i];
  }
  return out + "]";
}

Result<std::string, ValueError> read_string(const dom::element& e, std::string_view type) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS)
    return serialization(std::string(type) + " must be a JSON string");
  return std::string(s);
}

Result<std::string, ValueError> read_binary(const dom::element& e, std::string_view type) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS)
    return serialization("only base-64-encoded strings are convertible to bytes (" +
                         std::string(type) + ")");
  if (s.size() % 4 != 0)
    return serialization("Base64 encoded length is expected a multiple of 4 bytes but found: " +
                         std::to_string(s.size()));
  auto bytes = base64_decode(s);
  if (!bytes) return serialization("Invalid Base64 in " + std::string(type));
  return std::move(*bytes);
}

Result<std::vector<dom::element>, ValueError> read_array(const dom::element& e,
                                                         std::string_view type) {
  dom::array a;
  if (e.get_array().get(a) != simdjson::SUCCESS)
    return serialization(std::string(type) + " must be a JSON array");
  return std::vector<dom::element>(a.begin(), a.end());
}

}  // namespace

AttributeValue AttributeValue::with_text(Type type, std::string text) {
  AttributeValue v;
  v.type_ = type;
  v.text_ = std::move(text);
  return v;
}
AttributeValue AttributeValue::string(std::string s) { return with_text(Type::kS, std::move(s)); }
AttributeValue AttributeValue::binary(std::string bytes) {
  return with_text(Type::kB, std::move(bytes));
}
AttributeValue AttributeValue::number(Number n) {
  AttributeValue v;
  v.type_ = Type::kN;
  v.number_ = std::move(n);
  return v;
}
AttributeValue AttributeValue::boolean(bool b) {
  AttributeValue v;
  v.type_ = Type::kBool;
  v.flag_ = b;
  return v;
}

Result<AttributeValue, ValueError> AttributeValue::from_json(const dom::element& e) {
  dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS)
    return serialization("an AttributeValue must be a JSON object ({\"S\": \"...\"} and the like)");
  AttributeValue v;
  size_t types = 0;
  // Each member is checked as it comes, as DynamoDB does; one that names no type is
  // ignored (the JSON protocol ignores unknown members).
  for (auto field : o) {
    std::string_view key = field.key;
    const dom::element& value = field.value;
    if (key == "S") {
      auto s = read_string(value, key);
      if (!s) return s.error();
      v = string(std::move(*s));
    } else if (key == "N") {
      auto s = read_string(value, key);
      if (!s) return s.error();
      auto n = Number::parse(*s);
      if (!n) return validation(n.error().message);
      v = number(std::move(*n));
    } else if (key == "B") {
      auto b = read_binary(value, key);
      if (!b) return b.error();
      v = binary(std::move(*b));
    } else if (key == "BOOL") {
      bool b;
      if (value.get_bool().get(b) != simdjson::SUCCESS)
        return serialization("BOOL must be true or false");
      v = boolean(b);
    } else if (key == "NULL") {
      bool b;
      if (value.get_bool().get(b) != simdjson::SUCCESS) return serialization("NULL must be true");
      if (!b)
        return validation(std::string(kInvalid) +
                          "Null attribute value types must have the value of true");
      v = AttributeValue();
    } else if (key == "L") {
      auto items = read_array(value, key);
      if (!items) return items.error();
      AttributeValue list;
      list.type_ = Type::kL;
      for (const auto& item : *items) {
        auto element = from_json(item);
        if (!element) return element.error();
        list.items_.push_back(std::move(*element));
      }
      v = std::move(list);
    } else if (key == "M") {
      dom::object members;
      if (value.get_object().get(members) != simdjson::SUCCESS)
        return serialization("M must be a JSON object");
      auto map = map_from_json(members);
      if (!map) return map.error();
      v = std::move(*map);
    } else if (key == "SS" || key == "BS") {
      auto items = read_array(value, key);
      if (!items) return items.error();
      bool binary_set = key == "BS";
      if (items->empty()) {
        return validation(std::string(kInvalid) + (binary_set ? "Binary sets should not be empty"
                                                              : "An string set  may not be empty"));
      }
      AttributeValue set;
      set.type_ = binary_set ? Type::kBS : Type::kSS;
      for (const auto& item : *items) {
        auto s = binary_set ? read_binary(item, key) : read_string(item, key);
        if (!s) return s.error();
        set.names_.push_back(std::move(*s));
      }
      std::vector<std::string> sorted = set.names_;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end()) {
        std::vector<std::string> shown;
        for (const auto& item : *items) shown.emplace_back(std::string_view(item));
        return validation(
            std::string(kInvalid) + "Input collection " + listed(shown) +
            (binary_set ? "of type BS contains duplicates." : " contains duplicates."));
      }
      v = std::move(set);
    } else if (key == "NS") {
      auto items = read_array(value, key);
      if (!items) return items.error();
      if (items->empty())
        return validation(std::string(kInvalid) + "An number set  may not be empty");
      AttributeValue set;
      set.type_ = Type::kNS;
      for (const auto& item : *items) {
        auto s = read_string(item, key);
        if (!s) return s.error();
        auto n = Number::parse(*s);
        if (!n) return validation(n.error().message);
        set.numbers_.push_back(std::move(*n));
      }
      std::vector<Number> sorted = set.numbers_;
      std::sort(sorted.begin(), sorted.end(),
                [](const Number& a, const Number& b) { return a.compare(b) < 0; });
      if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
        return validation("Input collection contains duplicates");
      v = std::move(set);
    } else {
      continue;
    }
    ++types;
  }
  if (types == 0) {
    return validation(
        "Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  }
  if (types > 1) {
    return validation(
        "Supplied AttributeValue has more than one datatypes set, must contain exactly one of the "
        "supported datatypes");
  }
  return v;
}

Result<AttributeValue, ValueError> AttributeValue::map_from_json(const dom::object& members) {
  std::vector<std::pair<std::string, AttributeValue>> sorted;
  for (auto member : members) {
    auto element = from_json(member.value);
    if (!element) return element.error();
    sorted.emplace_back(std::string(member.key), std::move(*element));
  }
  // A name sent twice: the last one counts (as a JSON object's reader keeps it).
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  AttributeValue map;
  map.type_ = Type::kM;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i + 1 < sorted.size() && sorted[i + 1].first == sorted[i].first) continue;
    map.names_.push_back(std::move(sorted[i].first));
    map.items_.push_back(std::move(sorted[i].second));
  }
  return map;
}

std::string_view AttributeValue::type_name() const {
  switch (type_) {
    case Type::kS:
      return "S";
    case Type::kN:
      return "N";
    case Type::kB:
      return "B";
    case Type::kBool:
      return "BOOL";
    case Type::kNull:
      return "NULL";
    case Type::kL:
      return "L";
    case Type::kM:
      return "M";
    case Type::kSS:
      return "SS";
    case Type::kNS:
      return "NS";
    case Type::kBS:
      return "BS";
  }
  return "NULL";
}

void AttributeValue::to_json(std::string& out) const {
  out += "{\"";
  out += type_name();
  out += "\":";
  auto quoted = [&out](std::string_view s) {
    out += '"';
    json_escape(out, s);
    out += '"';
  };
  switch (type_) {
    case Type::kS:
      quoted(text_);
      break;
    case Type::kN:
      quoted(number_.to_string());
      break;
    case Type::kB:
      quoted(base64_encode(text_));
      break;
    case Type::kBool:
      out += flag_ ? "true" : "false";
      break;
    case Type::kNull:
      out += "true";
      break;
    case Type::kL:
      out += '[';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out += ',';
        items_[i].to_json(out);
      }
      out += ']';
      break;
    case Type::kM:
      out += '{';
      for (size_t i = 0; i < items_.size(); ++i) {
        if (i > 0) out += ',';
        quoted(names_[i]);
        out += ':';
        items_[i].to_json(out);
      }
      out += '}';
      break;
    case Type::kSS:
    case Type::kBS:
      out += '[';
      for (size_t i = 0; i < names_.size(); ++i) {
        if (i > 0) out += ',';
        quoted(type_ == Type::kBS ? base64_encode(names_[i]) : names_[i]);
      }
      out += ']';
      break;
    case Type::kNS:
      out += '[';
      for (size_t i = 0; i < numbers_.size(); ++i) {
        if (i > 0) out += ',';
        quoted(numbers_[i].to_string());
      }
      out += ']';
      break;
  }
  out += '}';
}

const AttributeValue* AttributeValue::member(std::string_view name) const {
  if (type_ != Type::kM) return nullptr;
  auto it = std::lower_bound(names_.begin(), names_.end(), name,
                             [](const std::string& a, std::string_view b) { return a < b; });
  if (it == names_.end() || *it != name) return nullptr;
  return &items_[static_cast<size_t>(it - names_.begin())];
}

size_t AttributeValue::size() const {
  auto number_size = [](const Number& n) { return n.stored_size(); };
  switch (type_) {
    case Type::kS:
    case Type::kB:
      return text_.size();
    case Type::kN:
      return number_size(number_);
    case Type::kBool:
    case Type::kNull:
      return 1;
    case Type::kL:
    case Type::kM: {
      size_t total = 3 + items_.size();
      for (const auto& item : items_) total += item.size();
      if (type_ == Type::kM) {
        for (const auto& name : names_) total += name.size();
      }
      return total;
    }
    case Type::kSS:
    case Type::kBS:
      return std::accumulate(names_.begin(), names_.end(), size_t{0},
                             [](size_t t, const std::string& s) { return t + s.size(); });
    case Type::kNS:
      return std::accumulate(numbers_.begin(), numbers_.end(), size_t{0},
                             [&](size_t t, const Number& n) { return t + number_size(n); });
  }
  return 0;
}

bool AttributeValue::operator==(const AttributeValue& other) const {
  if (type_ != other.type_) return false;
  switch (type_) {
    case Type::kS:
    case Type::kB:
      return text_ == other.text_;
    case Type::kN:
      return number_ == other.number_;
    case Type::kBool:
      return flag_ == other.flag_;
    case Type::kNull:
      return true;
    case Type::kL:
      return items_ == other.items_;
    case Type::kM:
      return names_ == other.names_ && items_ == other.items_;
    case Type::kSS:
    case Type::kBS: {  // sets: the same elements in any order
      auto a = names_, b = other.names_;
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      return a == b;
    }
    case Type::kNS: {
      if (numbers_.size() != other.numbers_.size()) return false;
      auto less = [](const Number& x, const Number& y) { return x.compare(y) < 0; };
      auto a = numbers_, b = other.numbers_;
      std::sort(a.begin(), a.end(), less);
      std::sort(b.begin(), b.end(), less);
      return a == b;
    }
  }
  return false;
}

}  // namespace portico::tables
