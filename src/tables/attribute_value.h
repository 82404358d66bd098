// DynamoDB's AttributeValue: one of S (string), N (Number), B (bytes), BOOL, NULL, L
// (list), M (map), SS / NS / BS (sets), read from and written as the JSON protocol's
// form ({"S": "x"}, {"N": "1.5"}, {"B": "<base64>"}, {"M": {"a": {...}}}), with
// DynamoDB's checks and messages: exactly one type, NULL only true, sets non-empty and
// without duplicates (numbers compared by value), numbers within DynamoDB's range.
//
// A value is a tree; maps keep their members sorted by name (DynamoDB's maps have no
// order, and a sorted one answers lookups and equality without more work).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "tables/number.h"

namespace portico::tables {

// A value DynamoDB would refuse: ValidationException (a rule), or
// SerializationException (the JSON does not have the shape of an AttributeValue).
struct ValueError {
  enum class Kind : uint8_t { kValidation, kSerialization };
  Kind kind = Kind::kValidation;
  std::string message;
  std::string_view code() const {
    return kind == Kind::kValidation ? "ValidationException" : "SerializationException";
  }
};

class AttributeValue {
 public:
  enum class Type : uint8_t { kS, kN, kB, kBool, kNull, kL, kM, kSS, kNS, kBS };

  AttributeValue() = default;  // NULL
  static AttributeValue string(std::string s);
  static AttributeValue number(Number n);
  static AttributeValue binary(std::string bytes);
  static AttributeValue boolean(bool b);

  // {"S": ...} and the rest, as a request carries it.
  static Result<AttributeValue, ValueError> from_json(const simdjson::dom::element& e);
  // An M from its members' object (an item is read this way too).
  static Result<AttributeValue, ValueError> map_from_json(const simdjson::dom::object& members);
  // The same form, appended to `out`.
  void to_json(std::string& out) const;

  Type type() const { return type_; }
  // "S", "N", ... as DynamoDB names the types.
  std::string_view type_name() const;
  const std::string& as_string() const { return text_; }  // S, and B's bytes
  const Number& as_number() const { return number_; }
  bool as_bool() const { return flag_; }
  const std::vector<AttributeValue>& elements() const { return items_; }  // L, and M's values
  const std::vector<std::string>& names() const { return names_; }        // M's names, sorted
  const std::vector<std::string>& strings() const { return names_; }      // SS, BS (as sent)
  const std::vector<Number>& numbers() const { return numbers_; }         // NS (as sent)
  // M's member, or null.
  const AttributeValue* member(std::string_view name) const;

  // Bytes this value counts for in an item's size (DynamoDB's rules: a string's UTF-8
  // bytes; a number's digit pairs + 1 (Number::stored_size); 1 for BOOL and NULL; 3 per
  // list or map plus 1 per element, and each member's name).
  size_t size() const;

  bool operator==(const AttributeValue& other) const;

 private:
  static AttributeValue with_text(Type type, std::string text);  // S or B

  Type type_ = Type::kNull;
  bool flag_ = true;                   // BOOL's value; NULL is always true
  std::string text_;                   // S, B
  Number number_;                      // N
  std::vector<AttributeValue> items_;  // L; M's values, in the order of names_
  std::vector<std::string> names_;     // M's names (sorted); SS and BS's elements
  std::vector<Number> numbers_;        // NS
};

}  // namespace portico::tables
