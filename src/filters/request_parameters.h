// A request's query parameters, path parameters and headers as the JSON objects their
// route's schemas validate. Every value arrives as a string; a value is read as the
// type its schema declares for that property (docs/configuration.md, "Validation"):
//
//   declared type            "42"      "true"    "abc"    repeated (?a=1&a=2)
//   string, or none          "42"      "true"    "abc"    ["1","2"]
//   integer / number         42        "true"    "abc"    [1,2]
//   boolean                  "42"      true      "abc"    [...]
//   array (items: integer)   [42]      ["true"]  ["abc"]  [1,2]
//
// A value that does not read as the declared type stays a string, so the schema
// reports it ("expected integer, got string") instead of Portico guessing.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/headers.h"
#include "schema/schema.h"

namespace portico::filters {

// Properties sorted by name (schema::Schema::declared_properties).
using Declared = std::vector<schema::DeclaredProperty>;

// "?a=1&a=2&b" as {"a":[1,2],"b":""}: names and values percent-decoded ('+' is a
// space), a repeated name an array.
std::string query_object(std::string_view raw_query, const Declared& declared);

// The route's path parameters by name (values percent-decoded).
std::string path_object(const std::vector<std::string>& names, const std::string_view* values,
                        size_t count, const Declared& declared);

// Headers by name: the spelling the schema declares (matched without regard to case),
// else lower case; a repeated field joined with ", " (RFC 9110 section 5.3), and an
// array-typed one split on its commas.
std::string header_object(const http::HeaderList& headers, const Declared& declared);

}  // namespace portico::filters
