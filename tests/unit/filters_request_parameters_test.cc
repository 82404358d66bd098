// Query parameters, path parameters and headers as JSON objects for their schemas: which
// strings become numbers, booleans, null and arrays (by the types the schema declares),
// and which stay strings for the schema to refuse.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/strings.h"
#include "filters/request_parameters.h"
#include "schema/schema.h"

namespace portico::filters {
namespace {

// The declared properties of a schema given as JSON.
Declared declared_of(const std::string& schema_json) {
  schema::SchemaSet set;
  EXPECT_TRUE(set.add("file:///p.json", schema_json));
  auto compiled = set.compile("file:///p.json");
  EXPECT_TRUE(compiled) << (compiled ? "" : compiled.error().message);
  return compiled ? (*compiled)->declared_properties() : Declared{};
}

const char* kQuerySchema = R"({
  "properties": {
    "limit": {"type": "integer"},
    "ratio": {"type": ["number", "null"]},
    "flag": {"type": "boolean"},
    "ids": {"type": "array", "items": {"type": "integer"}},
    "names": {"type": "array"},
    "either": {"type": ["string", "array"]},
    "code": {"type": "string"},
    "anything": {}
  }
})";

TEST(DeclaredProperties, TypesThroughRefAndAllOf) {
  Declared d = declared_of(R"({
    "$defs": {"n": {"type": "integer"}, "base": {"properties": {"b": {"type": "boolean"}}}},
    "allOf": [{"$ref": "#/$defs/base"}],
    "properties": {"a": {"$ref": "#/$defs/n"}, "c": {"type": "array", "items": {"$ref": "#/$defs/n"}}}
  })");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].name, "a");
  EXPECT_EQ(d[0].types, schema::kTypeInteger);
  EXPECT_EQ(d[1].name, "b");
  EXPECT_EQ(d[1].types, schema::kTypeBoolean);
  EXPECT_EQ(d[2].name, "c");
  EXPECT_EQ(d[2].types, schema::kTypeArray);
  EXPECT_EQ(d[2].item_types, schema::kTypeInteger);
}

TEST(DeclaredProperties, RecursiveReferencesEnd) {
  Declared d = declared_of(R"({"$ref": "#", "properties": {"x": {"$ref": "#/properties/x"}}})");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].types, 0);
}

TEST(QueryObject, ReadsDeclaredTypes) {
  Declared d = declared_of(kQuerySchema);
  EXPECT_EQ(query_object("limit=10&ratio=0.5&flag=true&code=007&anything=42", d),
            R"({"limit":10,"ratio":0.5,"flag":true,"code":"007","anything":"42"})");
  EXPECT_EQ(query_object("ratio=&flag=false", d), R"({"ratio":null,"flag":false})");
}

TEST(QueryObject, WhatDoesNotReadStaysAString) {
  Declared d = declared_of(kQuerySchema);
  // Not JSON numbers: a sign, a leading zero, hex, a bare dot, an exponent without digits.
  EXPECT_EQ(query_object("limit=%2B1", d), R"({"limit":"+1"})");
  EXPECT_EQ(query_object("limit=01", d), R"({"limit":"01"})");
  EXPECT_EQ(query_object("limit=0x10", d), R"({"limit":"0x10"})");
  EXPECT_EQ(query_object("limit=.5", d), R"({"limit":".5"})");
  EXPECT_EQ(query_object("limit=1e", d), R"({"limit":"1e"})");
  EXPECT_EQ(query_object("flag=yes&flag2=true", d), R"({"flag":"yes","flag2":"true"})");
  EXPECT_EQ(query_object("limit=", d), R"({"limit":""})");
}

TEST(QueryObject, ArraysAndRepeats) {
  Declared d = declared_of(kQuerySchema);
  EXPECT_EQ(query_object("ids=1&ids=2&ids=x", d), R"({"ids":[1,2,"x"]})");
  EXPECT_EQ(query_object("ids=7", d), R"({"ids":[7]})");
  EXPECT_EQ(query_object("names=a", d), R"({"names":["a"]})");
  // A string is allowed: one value stays one string, repeats make an array.
  EXPECT_EQ(query_object("either=a", d), R"({"either":"a"})");
  EXPECT_EQ(query_object("either=a&either=b", d), R"({"either":["a","b"]})");
  // Not an array in the schema, yet repeated: an array, for the schema to refuse.
  EXPECT_EQ(query_object("limit=1&limit=2&x=a&x=b", d), R"({"limit":[1,2],"x":["a","b"]})");
}

TEST(QueryObject, DecodingAndEscaping) {
  Declared d = declared_of(kQuerySchema);
  EXPECT_EQ(query_object("code=a+b%26c%3D&na%20me=%22q%22&flagonly&&", d),
            R"({"code":"a b&c=","na me":"\"q\"","flagonly":""})");
  EXPECT_EQ(query_object("", d), "{}");
}

TEST(PathObject, ByParameterName) {
  Declared d = declared_of(R"({"properties": {"id": {"type": "integer"}}})");
  std::vector<std::string> names = {"shop", "id"};
  std::string_view values[] = {"a%2Fb", "42"};
  EXPECT_EQ(path_object(names, values, 2, d), R"({"shop":"a/b","id":42})");
  EXPECT_EQ(path_object(names, values, 1, d), R"({"shop":"a/b"})");
}

TEST(HeaderObject, NamesJoinedValuesAndLists) {
  Declared d = declared_of(R"({"properties": {
    "X-Api-Version": {"type": "integer"},
    "accept": {"type": "array", "items": {"type": "string"}},
    "x-empty": {"type": "array"}
  }})");
  http::HeaderList headers = {
      {"x-api-version", "2"},          {"Accept", "text/html, application/json"},
      {"X-Trace", "a"},                {"x-trace", "b"},
      {"ACCEPT", "image/png"},         {"X-Empty", " , "},
  };
  EXPECT_EQ(header_object(headers, d),
            R"({"X-Api-Version":2,"accept":["text/html","application/json","image/png"],)"
            R"("x-trace":"a, b","x-empty":[]})");
}

TEST(JsonNumber, Grammar) {
  for (const char* yes : {"0", "-0", "12", "1.5", "-1.5e10", "2E-3", "1e+2"}) {
    EXPECT_TRUE(is_json_number(yes)) << yes;
  }
  for (const char* no : {"", "-", "+1", "01", "1.", ".1", "1e", "0x1", "inf", "NaN", "1 "}) {
    EXPECT_FALSE(is_json_number(no)) << no;
  }
}

}  // namespace
}  // namespace portico::filters
