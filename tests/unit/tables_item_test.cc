// Items and keys against a table's key schema, with DynamoDB's messages.
#include "tables/item.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::tables {
namespace {

using Type = AttributeValue::Type;

Result<Item, ValueError> parse(const std::string& json) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(json).get(e) != simdjson::SUCCESS)
    return ValueError{ValueError::Kind::kSerialization, "not JSON"};
  return Item::from_json(e);
}

std::string item_check(const std::string& json, const KeySchema& schema) {
  auto item = parse(json);
  if (!item) return item.error().message;
  auto r = check_item_key(*item, schema);
  return r ? "ok" : r.error().message;
}

std::string key_check(const std::string& json, const KeySchema& schema) {
  auto item = parse(json);
  if (!item) return item.error().message;
  auto r = check_key(*item, schema);
  return r ? "ok" : r.error().message;
}

const KeySchema kOrders{{"customer", Type::kS}, KeyElement{"created", Type::kN}};
const KeySchema kUsers{{"id", Type::kS}, std::nullopt};

TEST(TablesItem, ReadsAndWritesItems) {
  auto item = parse(R"({"id":{"S":"u1"},"age":{"N":"42.0"},"tags":{"SS":["a"]}})");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(item->attribute_count(), 3u);
  ASSERT_NE(item->get("age"), nullptr);
  EXPECT_EQ(item->get("age")->as_number().to_string(), "42");
  std::string out;
  item->to_json(out);
  EXPECT_EQ(out, R"({"age":{"N":"42"},"id":{"S":"u1"},"tags":{"SS":["a"]}})");
  // Names and values: "id" 2 + "u1" 2, "age" 3 + 42 (2), "tags" 4 + "a" 1.
  EXPECT_EQ(item->size(), 4u + 5 + 5);
  EXPECT_EQ(parse(R"({"":{"S":"x"}})").error().message,
            "One or more parameter values were invalid: An AttributeValue may not contain an "
            "empty attribute name");
  EXPECT_EQ(parse(R"({"a":{"NULL":false}})").error().message,
            "One or more parameter values were invalid: Null attribute value types must have the "
            "value of true");
  EXPECT_EQ(parse("[]").error().code(), "SerializationException");
}

TEST(TablesItem, ItemsAreAtMost400Kb) {
  std::string big(kMaxItemBytes - 2, 'x');
  EXPECT_TRUE(parse(R"({"id":{"S":")" + big + R"("}})").ok());  // "id" + the value: exactly 400 KB
  EXPECT_EQ(parse(R"({"id":{"S":")" + big + R"(x"}})").error().message,
            "Item size has exceeded the maximum allowed size");
}

TEST(TablesItem, ItemKeysMustMatchTheSchema) {
  EXPECT_EQ(item_check(R"({"customer":{"S":"c1"},"created":{"N":"1"},"x":{"BOOL":true}})", kOrders),
            "ok");
  EXPECT_EQ(item_check(R"({"customer":{"S":"c1"}})", kOrders),
            "One or more parameter values were invalid: Missing the key created in the item");
  EXPECT_EQ(item_check(R"({"customer":{"S":"c1"},"created":{"S":"1"}})", kOrders),
            "One or more parameter values were invalid: Type mismatch for key created expected: N "
            "actual: S");
  EXPECT_EQ(item_check(R"({"customer":{"S":""},"created":{"N":"1"}})", kOrders),
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            "cannot contain an empty string value. Key: customer");
  EXPECT_EQ(item_check(R"({"id":{"S":")" + std::string(2049, 'k') + R"("}})", kUsers),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
            "size limit of2048 bytes");
  EXPECT_EQ(item_check(R"({"id":{"S":")" + std::string(2048, 'k') + R"("}})", kUsers), "ok");
  KeySchema by_name{{"id", Type::kS}, KeyElement{"name", Type::kS}};
  EXPECT_EQ(
      item_check(R"({"id":{"S":"a"},"name":{"S":")" + std::string(1025, 'n') + R"("}})", by_name),
      "One or more parameter values were invalid: Aggregated size of all range keys has "
      "exceeded the size limit of 1024 bytes");
}

TEST(TablesItem, KeysHoldTheKeyAttributesAndNothingElse) {
  EXPECT_EQ(key_check(R"({"customer":{"S":"c1"},"created":{"N":"1"}})", kOrders), "ok");
  EXPECT_EQ(key_check(R"({"customer":{"S":"c1"}})", kOrders),
            "The provided key element does not match the schema");
  EXPECT_EQ(key_check(R"({"customer":{"S":"c1"},"created":{"N":"1"},"x":{"S":"y"}})", kOrders),
            "The provided key element does not match the schema");
  EXPECT_EQ(key_check(R"({"customer":{"S":"c1"},"created":{"S":"1"}})", kOrders),
            "The provided key element does not match the schema");
  EXPECT_EQ(key_check(R"({"id":{"S":""}})", kUsers),
            "One or more parameter values were invalid: The AttributeValue for a key attribute "
            "cannot contain an empty string value. Key: id");
  EXPECT_EQ(key_check(R"({"id":{"B":""}})", KeySchema{{"id", Type::kB}, std::nullopt}),
            "One or more parameter values were invalid: The AttributeValue for a key attribute "
            "cannot contain an empty binary value. Key: id");
}

}  // namespace
}  // namespace portico::tables
