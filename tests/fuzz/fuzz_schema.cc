// The JSON Schema validator on arbitrary input: a schema and an instance separated by a
// NUL byte (or, without one, the input as an instance of a fixed order schema). Any
// schema either compiles or is refused with a message; any instance validates in both
// modes, and the modes agree.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "schema/schema.h"

namespace {

const char* kOrderSchema = R"({"type":"object","required":["id"],"additionalProperties":false,
  "properties":{"id":{"type":"string","pattern":"^ord_[0-9a-z]+$"},"email":{"format":"email"},
  "items":{"type":"array","items":{"$ref":"#/$defs/item"},"uniqueItems":true},"when":{"format":"date-time"},
  "any":{"anyOf":[{"type":"integer"},{"enum":["a",null]}]}},
  "$defs":{"item":{"type":"object","properties":{"qty":{"type":"integer","minimum":1,"multipleOf":2}},
  "unevaluatedProperties":false}}})";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string schema_text =
      nul == std::string_view::npos ? kOrderSchema : std::string(input.substr(0, nul));
  std::string instance_text(nul == std::string_view::npos ? input : input.substr(nul + 1));
  portico::schema::SchemaSet set;
  if (!set.add("file:///fuzz/schema.json", schema_text)) return 0;
  auto schema = set.compile("file:///fuzz/schema.json");
  if (!schema) return 0;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(instance_text).get(root) != simdjson::SUCCESS) return 0;
  std::vector<portico::schema::Violation> violations;
  bool fast = (*schema)->validate(root, nullptr);
  bool full = (*schema)->validate(root, &violations);
  if (fast != full || full != violations.empty()) std::abort();
  return 0;
}
