// DynamoDB attribute values from arbitrary JSON: any input is a value or a refusal with
// a message; a value written back reads as an equal value, and writes the same bytes.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "tables/attribute_value.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(reinterpret_cast<const char*>(data), size).get(e) != simdjson::SUCCESS) return 0;
  auto v = portico::tables::AttributeValue::from_json(e);
  if (!v) {
    if (v.error().message.empty()) std::abort();
    return 0;
  }
  std::string once;
  v->to_json(once);
  simdjson::dom::parser again_parser;
  simdjson::dom::element again;
  if (again_parser.parse(once).get(again) != simdjson::SUCCESS) std::abort();
  auto w = portico::tables::AttributeValue::from_json(again);
  if (!w || !(*w == *v)) std::abort();
  std::string twice;
  w->to_json(twice);
  if (twice != once) std::abort();
  (void)v->size();
  return 0;
}
