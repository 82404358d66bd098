// AttributeValue in DynamoDB's JSON form: each type read and written back, DynamoDB's
// checks with its messages and error codes, sizes as DynamoDB counts them, equality.
#include "tables/attribute_value.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::tables {
namespace {

// Reads `json` as an AttributeValue and writes it back (or "CODE: message").
std::string round_trip(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(json).get(e) != simdjson::SUCCESS) return "not JSON";
  auto v = AttributeValue::from_json(e);
  if (!v) return std::string(v.error().code()) + ": " + v.error().message;
  std::string out;
  v->to_json(out);
  return out;
}

AttributeValue value(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  EXPECT_EQ(parser.parse(json).get(e), simdjson::SUCCESS) << json;
  auto v = AttributeValue::from_json(e);
  EXPECT_TRUE(v.ok()) << json << ": " << (v ? "" : v.error().message);
  return v ? *v : AttributeValue();
}

TEST(TablesAttributeValue, EveryTypeRoundTrips) {
  EXPECT_EQ(round_trip(R"({"S":"hello \"you\""})"), R"({"S":"hello \"you\""})");
  EXPECT_EQ(round_trip(R"({"N":"012.50"})"), R"({"N":"12.5"})");
  EXPECT_EQ(round_trip(R"({"B":"aGVsbG8="})"), R"({"B":"aGVsbG8="})");
  EXPECT_EQ(round_trip(R"({"BOOL":false})"), R"({"BOOL":false})");
  EXPECT_EQ(round_trip(R"({"NULL":true})"), R"({"NULL":true})");
  EXPECT_EQ(round_trip(R"({"L":[{"S":"a"},{"N":"1"},{"L":[]}]})"),
            R"({"L":[{"S":"a"},{"N":"1"},{"L":[]}]})");
  EXPECT_EQ(round_trip(R"({"M":{"b":{"N":"2"},"a":{"M":{}}}})"),
            R"({"M":{"a":{"M":{}},"b":{"N":"2"}}})");
  EXPECT_EQ(round_trip(R"({"SS":["b","a"]})"), R"({"SS":["b","a"]})");
  EXPECT_EQ(round_trip(R"({"NS":["1.0","2"]})"), R"({"NS":["1","2"]})");
  EXPECT_EQ(round_trip(R"({"BS":["AQ==","Ag=="]})"), R"({"BS":["AQ==","Ag=="]})");
  EXPECT_EQ(round_trip(R"({"S":""})"), R"({"S":""})");  // empty strings are allowed (since 2020)
}

TEST(TablesAttributeValue, RefusesWhatDynamoDbRefuses) {
  EXPECT_EQ(round_trip("{}"),
            "ValidationException: Supplied AttributeValue is empty, must contain exactly one of "
            "the supported datatypes");
  EXPECT_EQ(round_trip(R"({"X":"y"})"),
            "ValidationException: Supplied AttributeValue is empty, must contain exactly one of "
            "the supported datatypes");
  EXPECT_EQ(round_trip(R"({"S":"a","N":"1"})"),
            "ValidationException: Supplied AttributeValue has more than one datatypes set, must "
            "contain exactly one of the supported datatypes");
  EXPECT_EQ(round_trip(R"({"NULL":false})"),
            "ValidationException: One or more parameter values were invalid: Null attribute value "
            "types must have the value of true");
  EXPECT_EQ(round_trip(R"({"SS":[]})"),
            "ValidationException: One or more parameter values were invalid: An string set  may "
            "not be empty");
  EXPECT_EQ(round_trip(R"({"NS":[]})"),
            "ValidationException: One or more parameter values were invalid: An number set  may "
            "not be empty");
  EXPECT_EQ(round_trip(R"({"BS":[]})"),
            "ValidationException: One or more parameter values were invalid: Binary sets should "
            "not be empty");
  EXPECT_EQ(round_trip(R"({"SS":["a","b","a"]})"),
            "ValidationException: One or more parameter values were invalid: Input collection "
            "[a, b, a] contains duplicates.");
  EXPECT_EQ(round_trip(R"({"NS":["1","1.0"]})"),
            "ValidationException: Input collection contains duplicates");
  EXPECT_EQ(round_trip(R"({"BS":["AQ==","AQ=="]})"),
            "ValidationException: One or more parameter values were invalid: Input collection "
            "[AQ==, AQ==]of type BS contains duplicates.");
  EXPECT_EQ(round_trip(R"({"N":"abc"})"),
            "ValidationException: The parameter cannot be converted to a numeric value: abc");
  EXPECT_EQ(round_trip(R"({"N":"1E+126"})"),
            "ValidationException: Number overflow. Attempting to store a number with magnitude "
            "larger than supported range");
  EXPECT_EQ(round_trip(R"({"L":[{"S":"a"},{"NULL":false}]})"),
            "ValidationException: One or more parameter values were invalid: Null attribute value "
            "types must have the value of true");
  EXPECT_EQ(round_trip(R"({"M":{"a":{"NS":["x"]}}})"),
            "ValidationException: The parameter cannot be converted to a numeric value: x");
  // The wrong JSON shapes are serialization errors.
  EXPECT_EQ(round_trip(R"({"S":5})").rfind("SerializationException: ", 0), 0u);
  EXPECT_EQ(round_trip(R"({"N":1})").rfind("SerializationException: ", 0), 0u);
  EXPECT_EQ(round_trip(R"({"B":"abc"})"),
            "SerializationException: Base64 encoded length is expected a multiple of 4 bytes but "
            "found: 3");
  EXPECT_EQ(round_trip(R"({"L":{}})").rfind("SerializationException: ", 0), 0u);
  EXPECT_EQ(round_trip(R"({"M":[]})").rfind("SerializationException: ", 0), 0u);
  EXPECT_EQ(round_trip(R"("S")").rfind("SerializationException: ", 0), 0u);
}

TEST(TablesAttributeValue, SizesAsDynamoDbCountsThem) {
  EXPECT_EQ(value(R"({"S":"héllo"})").size(), 6u);  // UTF-8 bytes
  EXPECT_EQ(value(R"({"N":"12345"})").size(), 4u);  // 3 digit pairs (1|23|45) + 1
  EXPECT_EQ(value(R"({"N":"1234"})").size(), 3u);   // 12|34 + 1
  EXPECT_EQ(value(R"({"N":"1.2"})").size(), 3u);    // 01.|20 + 1: pairs align on the point
  EXPECT_EQ(value(R"({"N":"-12"})").size(), 3u);    // 12 + 1 + 1 for the sign
  EXPECT_EQ(value(R"({"N":"1000"})").size(), 2u);   // trailing zeros trimmed: 1 digit
  EXPECT_EQ(value(R"({"N":"0"})").size(), 1u);
  EXPECT_EQ(value(R"({"B":"aGVsbG8="})").size(), 5u);
  EXPECT_EQ(value(R"({"BOOL":true})").size(), 1u);
  EXPECT_EQ(value(R"({"NULL":true})").size(), 1u);
  EXPECT_EQ(value(R"({"L":[{"S":"ab"},{"BOOL":true}]})").size(), 3u + 2 + 2 + 1);
  EXPECT_EQ(value(R"({"M":{"k":{"S":"ab"}}})").size(), 3u + 1 + 1 + 2);
  EXPECT_EQ(value(R"({"SS":["a","bc"]})").size(), 3u);
}

TEST(TablesAttributeValue, EqualityIsByValueAndSetsHaveNoOrder) {
  EXPECT_EQ(value(R"({"N":"1.0"})"), value(R"({"N":"1"})"));
  EXPECT_EQ(value(R"({"SS":["a","b"]})"), value(R"({"SS":["b","a"]})"));
  EXPECT_EQ(value(R"({"NS":["2","1"]})"), value(R"({"NS":["1.00","2"]})"));
  EXPECT_EQ(value(R"({"M":{"a":{"S":"x"},"b":{"N":"1"}}})"),
            value(R"({"M":{"b":{"N":"1"},"a":{"S":"x"}}})"));
  EXPECT_FALSE(value(R"({"L":[{"S":"a"},{"S":"b"}]})") == value(R"({"L":[{"S":"b"},{"S":"a"}]})"));
  EXPECT_FALSE(value(R"({"S":"1"})") == value(R"({"N":"1"})"));
  EXPECT_FALSE(value(R"({"B":"AQ=="})") == value(R"({"S":"\u0001"})"));
  ASSERT_NE(value(R"({"M":{"a":{"S":"x"}}})").member("a"), nullptr);
  EXPECT_EQ(value(R"({"M":{"a":{"S":"x"}}})").member("a")->as_string(), "x");
  EXPECT_EQ(value(R"({"M":{"a":{"S":"x"}}})").member("b"), nullptr);
}

}  // namespace
}  // namespace portico::tables
