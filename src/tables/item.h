// An item (a row): attribute names to values, as PutItem's Item and GetItem's Key carry
// them, with DynamoDB's rules for items — 400 KB at most, counted as DynamoDB counts
// (each name's bytes plus its value's size) — and for the key attributes a table's key
// schema names (present, of the declared type, not empty, within 2048 bytes for the
// partition key and 1024 for the sort key).
#pragma once

#include <simdjson.h>

#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "tables/attribute_value.h"

namespace portico::tables {

inline constexpr size_t kMaxItemBytes = 400 * 1024;

// A key attribute of a table or index: its name and scalar type (S, N or B).
struct KeyElement {
  std::string name;
  AttributeValue::Type type = AttributeValue::Type::kS;
};

struct KeySchema {
  KeyElement partition;            // HASH
  std::optional<KeyElement> sort;  // RANGE
};

class Item {
 public:
  // A JSON object of name → AttributeValue. Names must not be empty; the item must fit
  // in kMaxItemBytes.
  static Result<Item, ValueError> from_json(const simdjson::dom::element& e);
  void to_json(std::string& out) const;  // {"name": {"S": ...}, ...}, names sorted

  const AttributeValue* get(std::string_view name) const { return map_.member(name); }
  size_t attribute_count() const { return map_.names().size(); }
  // The item's size as DynamoDB counts it (names and values; no map overhead).
  size_t size() const;

 private:
  AttributeValue map_;  // of type M
};

// PutItem's item against the table's key schema.
Result<void, ValueError> check_item_key(const Item& item, const KeySchema& schema);
// A Key parameter (GetItem, UpdateItem, DeleteItem): the key attributes and no others.
Result<void, ValueError> check_key(const Item& key, const KeySchema& schema);

}  // namespace portico::tables
