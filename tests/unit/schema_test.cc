// The JSON Schema validator, keyword by keyword, in both drafts: what passes, what
// fails, and where each violation is reported (every location, no parent noise).
#include <gtest/gtest.h>
#include <simdjson.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "schema/schema.h"

namespace portico::schema {
namespace {

struct Outcome {
  bool valid = false;
  std::vector<std::string> where;  // "pointer keyword", in report order
};

class SchemaTest : public ::testing::Test {
 protected:
  // Compiles `schema` (as file:///s/main.json, with `others` beside it) and validates `json`.
  Outcome check(const std::string& schema, const std::string& json, Draft draft = Draft::k2020_12,
                const std::vector<std::pair<std::string, std::string>>& others = {}) {
    Options options;
    options.default_draft = draft;
    SchemaSet set(options);
    for (const auto& [uri, text] : others) EXPECT_TRUE(set.add(uri, text));
    EXPECT_TRUE(set.add("file:///s/main.json", schema));
    auto compiled = set.compile("file:///s/main.json");
    EXPECT_TRUE(compiled) << (compiled ? "" : compiled.error().message);
    Outcome out;
    if (!compiled) return out;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    EXPECT_EQ(parser.parse(json).get(doc), simdjson::SUCCESS);
    std::vector<Violation> violations;
    out.valid = (*compiled)->validate(doc, &violations);
    EXPECT_EQ((*compiled)->validate(doc, nullptr), out.valid) << "the fast mode disagrees";
    EXPECT_EQ(out.valid, violations.empty());
    for (const auto& v : violations) out.where.push_back(v.pointer + " " + v.keyword);
    return out;
  }
  std::string compile_error(const std::string& schema) {
    SchemaSet set;
    EXPECT_TRUE(set.add("file:///s/bad.json", schema));
    auto compiled = set.compile("file:///s/bad.json");
    return compiled ? "" : compiled.error().message;
  }
};

using Where = std::vector<std::string>;

TEST_F(SchemaTest, Type) {
  EXPECT_TRUE(check(R"({"type":"integer"})", "3").valid);
  EXPECT_TRUE(
      check(R"({"type":"integer"})", "3.0").valid);  // a number with no fraction is an integer
  EXPECT_EQ(check(R"({"type":"integer"})", "3.5").where, Where{" type"});
  EXPECT_TRUE(check(R"({"type":["string","null"]})", "null").valid);
  EXPECT_FALSE(check(R"({"type":["string","null"]})", "true").valid);
  EXPECT_TRUE(check(R"({"type":"number"})", "-1e3").valid);
  EXPECT_TRUE(check("true", R"({"any":1})").valid);
  EXPECT_EQ(check("false", "1").where, Where{" false"});
}

TEST_F(SchemaTest, EnumAndConstCompareJsonValues) {
  EXPECT_TRUE(check(R"({"enum":[1,"a",{"b":[1,2]}]})", R"({"b":[1.0,2]})").valid);
  EXPECT_EQ(check(R"({"enum":[1,"a"]})", R"("b")").where, Where{" enum"});
  EXPECT_TRUE(check(R"({"const":{"a":1,"b":2}})", R"({"b":2,"a":1})").valid);
  EXPECT_FALSE(check(R"({"const":false})", "0").valid);  // false is not 0
}

TEST_F(SchemaTest, Numbers) {
  std::string s = R"({"minimum":1,"maximum":10,"exclusiveMaximum":10,"multipleOf":0.5})";
  EXPECT_TRUE(check(s, "9.5").valid);
  EXPECT_EQ(check(s, "10").where, Where{" exclusiveMaximum"});
  EXPECT_EQ(check(s, "0.75").where, (Where{" minimum", " multipleOf"}));
  EXPECT_TRUE(check(R"({"multipleOf":0.0001})", "0.0075").valid);
  EXPECT_FALSE(check(R"({"multipleOf":0.123456789})", "1e308").valid);  // the quotient overflows
  EXPECT_TRUE(check(R"({"exclusiveMinimum":0})", "0.001").valid);
  EXPECT_TRUE(check(R"({"minimum":5})", R"("strings are not numbers")").valid);
}

TEST_F(SchemaTest, StringsCountCharactersAndPatternsSearch) {
  EXPECT_TRUE(check(R"({"maxLength":2})", R"("ÿé")").valid);  // two characters, four bytes
  EXPECT_EQ(check(R"({"minLength":3})", R"("ab")").where, Where{" minLength"});
  EXPECT_TRUE(
      check(R"({"pattern":"b+"})", R"("abbbc")").valid);  // unanchored, as ECMA-262 searches
  EXPECT_FALSE(check(R"({"pattern":"^b+$"})", R"("abbbc")").valid);
  EXPECT_TRUE(check(R"({"pattern":"^\\p{Letter}+$"})", R"("héllo")").valid);
  EXPECT_NE(compile_error(R"({"properties":{"a":{"pattern":"(?<=x)y"}}})")
                .find("file:///s/bad.json#/properties/a/pattern"),
            std::string::npos);
}

TEST_F(SchemaTest, FormatsAreAsserted) {
  struct Case {
    const char* format;
    const char* good;
    const char* bad;
  } cases[] = {
      {"email", "ada@example.com", "ada@@example.com"},
      {"date-time", "2026-12-03T10:20:30.5+01:00", "2026-13-03T10:20:30Z"},
      {"date", "2024-02-29", "2023-02-29"},
      {"time", "23:59:60Z", "24:00:00Z"},
      {"uuid", "123e4567-e89b-12d3-a456-426614174000", "123e4567e89b12d3a456426614174000"},
      {"uri", "https://example.com/a?b#c", "//example.com/relative"},
      {"hostname", "api.example.com", "-bad-.example.com"},
      {"ipv4", "192.168.0.1", "192.168.0.01"},
      {"ipv6", "2001:db8::1", "2001:db8:::1"},
  };
  for (const auto& c : cases) {
    std::string schema = std::string(R"({"format":")") + c.format + "\"}";
    EXPECT_TRUE(check(schema, std::string("\"") + c.good + "\"").valid)
        << c.format << " " << c.good;
    EXPECT_EQ(check(schema, std::string("\"") + c.bad + "\"").where, Where{" format"})
        << c.format << " " << c.bad;
  }
  EXPECT_TRUE(check(R"({"format":"email"})", "12").valid);  // only strings have formats
}

TEST_F(SchemaTest, ObjectsReportEveryLocation) {
  std::string s = R"({
    "type":"object",
    "required":["id","customer"],
    "properties":{
      "id":{"type":"string","pattern":"^ord_"},
      "customer":{"type":"object","required":["email"],"properties":{"email":{"format":"email"}}},
      "items":{"type":"array","items":{"type":"object","properties":{"qty":{"type":"integer","minimum":1}}}}
    },
    "additionalProperties":false
  })";
  Outcome o = check(
      s,
      R"({"id":"x1","customer":{"name":"Ada"},"items":[{"qty":1},{"qty":0},{"qty":"2"}],"extra":1})");
  EXPECT_FALSE(o.valid);
  EXPECT_EQ(o.where, (Where{"/id pattern", "/customer/email required", "/items/1/qty minimum",
                            "/items/2/qty type", "/extra additionalProperties"}));
  EXPECT_TRUE(check(s, R"({"id":"ord_1","customer":{"email":"a@b.co"},"items":[]})").valid);
}

TEST_F(SchemaTest, ObjectKeywords) {
  EXPECT_EQ(check(R"({"minProperties":2})", R"({"a":1})").where, Where{" minProperties"});
  EXPECT_EQ(check(R"({"maxProperties":1})", R"({"a":1,"b":2})").where, Where{" maxProperties"});
  EXPECT_EQ(
      check(
          R"({"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":{"type":"integer"}})",
          R"({"x-a":"s","x-b":1,"n":"no"})")
          .where,
      (Where{"/x-b type", "/n type"}));
  EXPECT_EQ(check(R"({"propertyNames":{"maxLength":3}})", R"({"abc":1,"abcd":2})").where,
            Where{"/abcd propertyNames"});
  EXPECT_EQ(check(R"({"dependentRequired":{"card":["cvc"]}})", R"({"card":"4111"})").where,
            Where{"/cvc dependentRequired"});
  EXPECT_FALSE(
      check(R"({"dependentSchemas":{"card":{"required":["cvc"]}}})", R"({"card":"4111"})").valid);
  EXPECT_TRUE(
      check(R"({"dependentSchemas":{"card":{"required":["cvc"]}}})", R"({"cash":1})").valid);
  // draft-07 spells both as dependencies
  EXPECT_FALSE(check(R"({"dependencies":{"card":["cvc"]}})", R"({"card":1})", Draft::k7).valid);
  EXPECT_FALSE(
      check(R"({"dependencies":{"card":{"required":["cvc"]}}})", R"({"card":1})", Draft::k7).valid);
}

TEST_F(SchemaTest, Arrays) {
  EXPECT_EQ(check(R"({"minItems":2,"uniqueItems":true})", "[1]").where, Where{" minItems"});
  EXPECT_EQ(check(R"({"uniqueItems":true})", R"([{"a":1},{"a":1.0}])").where,
            Where{" uniqueItems"});
  EXPECT_EQ(
      check(R"({"prefixItems":[{"type":"string"}],"items":{"type":"integer"}})", R"(["a",1,"b"])")
          .where,
      Where{"/2 type"});
  EXPECT_EQ(
      check(R"({"items":[{"type":"string"}],"additionalItems":false})", R"(["a",1])", Draft::k7)
          .where,
      Where{"/1 false"});
  EXPECT_EQ(check(R"({"contains":{"type":"integer"}})", R"(["a"])").where, Where{" contains"});
  EXPECT_EQ(
      check(R"({"contains":{"type":"integer"},"minContains":2,"maxContains":3})", R"([1,"a"])")
          .where,
      Where{" minContains"});
  EXPECT_FALSE(check(R"({"contains":{"type":"integer"},"maxContains":1})", "[1,2]").valid);
  EXPECT_TRUE(check(R"({"contains":{"type":"integer"},"minContains":0})", R"(["a"])").valid);
}

TEST_F(SchemaTest, CombinatorsReportThemselves) {
  EXPECT_EQ(check(R"({"anyOf":[{"type":"string"},{"minimum":3}]})", "1").where, Where{" anyOf"});
  EXPECT_TRUE(check(R"({"anyOf":[{"type":"string"},{"minimum":3}]})", "4").valid);
  EXPECT_EQ(check(R"({"oneOf":[{"minimum":1},{"maximum":5}]})", "3").where, Where{" oneOf"});
  EXPECT_TRUE(check(R"({"oneOf":[{"minimum":1},{"maximum":5}]})", "7").valid);
  EXPECT_EQ(check(R"({"not":{"type":"null"}})", "null").where, Where{" not"});
  EXPECT_EQ(check(R"({"allOf":[{"minimum":1},{"multipleOf":2}]})", "-1").where,
            (Where{" minimum", " multipleOf"}));
  std::string conditional =
      R"({"if":{"properties":{"kind":{"const":"card"}}},"then":{"required":["cvc"]},"else":{"required":["iban"]}})";
  EXPECT_EQ(check(conditional, R"({"kind":"card"})").where, Where{"/cvc required"});
  EXPECT_EQ(check(conditional, R"({"kind":"bank"})").where, Where{"/iban required"});
}

TEST_F(SchemaTest, ReferencesAcrossDefinitionsFilesIdsAndAnchors) {
  std::string s = R"({
    "$defs":{"qty":{"type":"integer","minimum":1},"named":{"$anchor":"money","type":"number"}},
    "properties":{"q":{"$ref":"#/$defs/qty"},"price":{"$ref":"#money"},"addr":{"$ref":"address.json"}}
  })";
  // recursion through $ref ends
  std::string recursive =
      R"({"$defs":{"node":{"properties":{"child":{"$ref":"#/$defs/node"},"v":{"type":"integer"}}}},
                              "$ref":"#/$defs/node"})";
  std::vector<std::pair<std::string, std::string>> others = {
      {"file:///s/address.json", R"({"type":"object","required":["city"]})"}};
  EXPECT_EQ(
      check(s, R"({"q":0,"price":"1","addr":{}})", Draft::k2020_12, others).where,
      (Where{"/q minimum", "/price type", "/addr/city required"}));  // in the instance's order
  EXPECT_EQ(check(recursive, R"({"child":{"child":{"v":"x"}}})").where,
            Where{"/child/child/v type"});
  // an embedded resource's $id is a base for the references inside it
  std::string embedded =
      R"({"properties":{"a":{"$id":"http://example.com/inner/","$defs":{"x":{"type":"string"}},
                            "$ref":"#/$defs/x"}}})";
  EXPECT_FALSE(check(embedded, R"({"a":1})").valid);
  EXPECT_NE(compile_error(R"({"$ref":"missing.json"})")
                .find("no schema is known as \"file:///s/missing.json\""),
            std::string::npos);
}

TEST_F(SchemaTest, Draft07RefIgnoresItsSiblings) {
  std::string s =
      R"({"definitions":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/s","maxLength":1}}})";
  EXPECT_TRUE(check(s, R"({"a":"long"})", Draft::k7).valid);
  EXPECT_FALSE(check(s, R"({"a":"long"})", Draft::k2020_12).valid);  // 2020-12 applies both
  // $schema picks the draft whatever the default
  std::string declared = R"({"$schema":"http://json-schema.org/draft-07/schema#",
                             "definitions":{"s":{"type":"string"}},"properties":{"a":{"$ref":"#/definitions/s","maxLength":1}}})";
  EXPECT_TRUE(check(declared, R"({"a":"long"})", Draft::k2020_12).valid);
}

TEST_F(SchemaTest, UnevaluatedPropertiesAndItemsSeeThroughApplicators) {
  std::string s =
      R"({"allOf":[{"properties":{"a":true}}],"anyOf":[{"properties":{"b":true}},{"required":["zzz"]}],
                      "unevaluatedProperties":false})";
  EXPECT_TRUE(check(s, R"({"a":1,"b":2})").valid);
  EXPECT_EQ(check(s, R"({"a":1,"c":3})").where, Where{"/c unevaluatedProperties"});
  std::string items =
      R"({"prefixItems":[true],"contains":{"type":"string"},"unevaluatedItems":{"type":"integer"}})";
  EXPECT_TRUE(check(items, R"([null,"s",4])").valid);
  EXPECT_EQ(check(items, R"([null,"s",4.5])").where, Where{"/2 type"});
}

TEST_F(SchemaTest, DynamicRefResolvesInTheDynamicScope) {
  std::string list =
      R"({"$id":"http://example.com/list","$dynamicAnchor":"item","$defs":{"item":{"$dynamicAnchor":"item"}},
                         "type":"array","items":{"$dynamicRef":"#item"}})";
  std::string strings =
      R"({"$id":"http://example.com/strings","$ref":"list","$defs":{"s":{"$dynamicAnchor":"item","type":"string"}}})";
  std::vector<std::pair<std::string, std::string>> others = {{"http://example.com/list", list}};
  EXPECT_TRUE(check(strings, R"(["a","b"])", Draft::k2020_12, others).valid);
  EXPECT_EQ(check(strings, R"(["a",2])", Draft::k2020_12, others).where, Where{"/1 type"});
}

TEST(SchemaFiles, ReferencedFilesAreReadWhenAsked) {
  char dir_template[] = "/tmp/portico-schema-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string dir = dir_template;
  { std::ofstream(dir + "/money.json") << R"({"type":"number","minimum":0})"; }
  std::string main_uri = "file://" + dir + "/order.json";
  std::string main =
      R"({"properties":{"total":{"$ref":"money.json"},"other":{"$ref":"absent.json"}}})";
  Options options;
  options.load_files = true;
  SchemaSet set(options);
  ASSERT_TRUE(set.add(main_uri, main));
  auto compiled = set.compile(main_uri);
  ASSERT_FALSE(compiled);  // absent.json is not there: the error says which file
  EXPECT_NE(compiled.error().message.find("cannot read schema file " + dir + "/absent.json"),
            std::string::npos)
      << compiled.error().message;
  SchemaSet set2(options);
  ASSERT_TRUE(set2.add(main_uri, R"({"properties":{"total":{"$ref":"money.json"}}})"));
  auto ok = set2.compile(main_uri);
  ASSERT_TRUE(ok) << ok.error().message;
  simdjson::dom::parser parser;
  EXPECT_FALSE((*ok)->validate(parser.parse(std::string(R"({"total":-1})")).value(), nullptr));
  EXPECT_TRUE((*ok)->validate(parser.parse(std::string(R"({"total":1})")).value(), nullptr));
  SchemaSet closed;  // without load_files nothing is read
  ASSERT_TRUE(closed.add(main_uri, R"({"$ref":"money.json"})"));
  EXPECT_FALSE(closed.compile(main_uri));
  std::remove((dir + "/money.json").c_str());
  rmdir(dir.c_str());
}

// The drafts' metaschemas come from Debian's python3-jsonschema (scripts/install-deps):
// a schema may $ref them, e.g. to accept only schemas in a "schema" member.
TEST_F(SchemaTest, MetaschemasAreKnownByTheirUris) {
  std::string seven = R"({"$schema":"http://json-schema.org/draft-07/schema#",
      "properties":{"schema":{"$ref":"http://json-schema.org/draft-07/schema#"}}})";
  EXPECT_TRUE(check(seven, R"({"schema":{"type":"string","minLength":1}})", Draft::k7).valid);
  Outcome bad = check(seven, R"({"schema":{"type":"strin","minLength":-1}})", Draft::k7);
  EXPECT_FALSE(bad.valid);
  EXPECT_EQ(bad.where.size(), 2U);  // type's enum, minLength's minimum
  std::string twenty =
      R"({"properties":{"schema":{"$ref":"https://json-schema.org/draft/2020-12/schema"}}})";
  EXPECT_TRUE(
      check(twenty, R"({"schema":{"$defs":{"a":{"type":"integer"}},"$ref":"#/$defs/a"}})").valid);
  EXPECT_FALSE(check(twenty, R"({"schema":{"properties":{"a":{"minItems":"three"}}}})").valid);
  EXPECT_FALSE(check(twenty, R"({"schema":{"required":"a"}})").valid);

  Options options;  // without them, a metaschema is an unknown schema with a clear error
  options.metaschema_dir = "/nonexistent";
  SchemaSet set(options);
  ASSERT_TRUE(set.add("file:///s/m.json", twenty));
  auto compiled = set.compile("file:///s/m.json");
  ASSERT_FALSE(compiled);
  EXPECT_NE(compiled.error().message.find("install Debian's python3-jsonschema"), std::string::npos)
      << compiled.error().message;
}

TEST_F(SchemaTest, AReferenceCycleThatConsumesNothingEndsWithAViolation) {
  Outcome o = check(R"({"$defs":{"a":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"})", "{}");
  EXPECT_FALSE(o.valid);
  ASSERT_EQ(o.where.size(), 1U);
  EXPECT_EQ(o.where[0], " $ref");
}

TEST(SchemaUri, ResolvesReferencesAsRfc3986Says) {
  // RFC 3986 section 5.4's examples
  const char* base = "http://a/b/c/d;p?q";
  EXPECT_EQ(resolve_uri(base, "g"), "http://a/b/c/g");
  EXPECT_EQ(resolve_uri(base, "./g"), "http://a/b/c/g");
  EXPECT_EQ(resolve_uri(base, "/g"), "http://a/g");
  EXPECT_EQ(resolve_uri(base, "//g"), "http://g");
  EXPECT_EQ(resolve_uri(base, "?y"), "http://a/b/c/d;p?y");
  EXPECT_EQ(resolve_uri(base, "#s"), "http://a/b/c/d;p?q#s");
  EXPECT_EQ(resolve_uri(base, "../g"), "http://a/b/g");
  EXPECT_EQ(resolve_uri(base, "../../../g"), "http://a/g");
  EXPECT_EQ(resolve_uri(base, "g;x=1/../y"), "http://a/b/c/y");
  EXPECT_EQ(resolve_uri("urn:uuid:deadbeef", "#foo"), "urn:uuid:deadbeef#foo");
  EXPECT_EQ(resolve_uri("file:///etc/portico/schemas/order.json", "common/money.json"),
            "file:///etc/portico/schemas/common/money.json");
}

}  // namespace
}  // namespace portico::schema
