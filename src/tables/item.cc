#include "tables/item.h"

namespace portico::tables {
namespace dom = simdjson::dom;
namespace {

constexpr std::string_view kInvalid = "One or more parameter values were invalid: ";

ValueError validation(std::string message) {
  return ValueError{ValueError::Kind::kValidation, std::move(message)};
}

std::string_view scalar_name(AttributeValue::Type t) {
  return t == AttributeValue::Type::kN ? "N" : t == AttributeValue::Type::kB ? "B" : "S";
}

// A key attribute's value: not empty, within its size limit. `prefix` is how DynamoDB
// introduces the empty-value message, which differs between an item and a key.
Result<void, ValueError> check_key_value(const AttributeValue& v, const KeyElement& k,
                                         bool partition, std::string_view prefix) {
  if (v.type() == AttributeValue::Type::kN) return {};
  const std::string& bytes = v.as_string();
  if (bytes.empty()) {
    return validation(
        std::string(prefix) + "The AttributeValue for a key attribute cannot contain an empty " +
        (v.type() == AttributeValue::Type::kS ? "string" : "binary") + " value. Key: " + k.name);
  }
  if (partition && bytes.size() > 2048)
    return validation(std::string(kInvalid) +
                      "Size of hashkey has exceeded the maximum size limit of2048 bytes");
  if (!partition && bytes.size() > 1024) {
    return validation(
        std::string(kInvalid) +
        "Aggregated size of all range keys has exceeded the size limit of 1024 bytes");
  }
  return {};
}

}  // namespace

Result<Item, ValueError> Item::from_json(const dom::element& e) {
  dom::object o;
  if (e.get_object().get(o) != simdjson::SUCCESS)
    return ValueError{ValueError::Kind::kSerialization, "an item must be a JSON object"};
  for (auto field : o) {
    if (field.key.empty()) {
      return validation(std::string(kInvalid) +
                        "An AttributeValue may not contain an empty attribute name");
    }
  }
  // An item is read as the members of a map: the same checks, the same sorted names.
  auto m = AttributeValue::map_from_json(o);
  if (!m) return m.error();
  Item item;
  item.map_ = std::move(*m);
  if (item.size() > kMaxItemBytes)
    return validation("Item size has exceeded the maximum allowed size");
  return item;
}

void Item::to_json(std::string& out) const {
  // The map's own form without its {"M": ...} wrapper.
  std::string m;
  map_.to_json(m);
  out.append(m, 5, m.size() - 6);
}

size_t Item::size() const {
  size_t total = 0;
  for (size_t i = 0; i < map_.names().size(); ++i)
    total += map_.names()[i].size() + map_.elements()[i].size();
  return total;
}

Result<void, ValueError> check_item_key(const Item& item, const KeySchema& schema) {
  auto check = [&](const KeyElement& k, bool partition) -> Result<void, ValueError> {
    const AttributeValue* v = item.get(k.name);
    if (v == nullptr)
      return validation(std::string(kInvalid) + "Missing the key " + k.name + " in the item");
    if (v->type() != k.type) {
      return validation(std::string(kInvalid) + "Type mismatch for key " + k.name +
                        " expected: " + std::string(scalar_name(k.type)) +
                        " actual: " + std::string(v->type_name()));
    }
    return check_key_value(*v, k, partition, "One or more parameter values are not valid. ");
  };
  if (auto r = check(schema.partition, true); !r) return r;
  if (schema.sort) return check(*schema.sort, false);
  return {};
}

Result<void, ValueError> check_key(const Item& key, const KeySchema& schema) {
  size_t expected = schema.sort ? 2 : 1;
  auto mismatch = [] { return validation("The provided key element does not match the schema"); };
  if (key.attribute_count() != expected) return mismatch();
  auto check = [&](const KeyElement& k, bool partition) -> Result<void, ValueError> {
    const AttributeValue* v = key.get(k.name);
    if (v == nullptr || v->type() != k.type) return mismatch();
    return check_key_value(*v, k, partition, kInvalid);
  };
  if (auto r = check(schema.partition, true); !r) return r;
  if (schema.sort) return check(*schema.sort, false);
  return {};
}

}  // namespace portico::tables
