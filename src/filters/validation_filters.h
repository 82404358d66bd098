// JSON Schema validation of the request body (before the terminal: a 400 listing every
// failing location, 415 for a body that is not JSON, 400 with the byte offset for
// malformed JSON) and of the response body (after it: a 2xx answer outside the route's
// contract becomes a 502, with the details in Portico's log).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filters/edge_filters.h"
#include "schema/schema.h"

namespace portico::filters {

// A schema setting compiled with the files it references; an error names the setting's
// file and line.
Result<std::shared_ptr<const schema::Schema>> compile_schema(const config::SchemaSource& source,
                                                             std::string_view setting);

// "application/json", "application/problem+json; charset=utf-8": JSON media types.
bool is_json_media_type(std::string_view value);

// What is wrong with a JSON document against a schema (nothing, when ok()).
struct JsonCheck {
  std::string malformed;  // not JSON: "at byte 12: ..." (then no violations)
  std::vector<schema::Violation> violations;
  bool ok() const { return malformed.empty() && violations.empty(); }
  // One line for the log: "not JSON (at byte 12: ...)", "2 violations: /id ... (pattern); ...".
  std::string summary() const;
};
// Checks `text` (padded in place for the parser) against `schema`.
JsonCheck check_json(const schema::Schema& schema, std::string& text);

// A violation and the part of the request it is in ("body", "query", "path", "headers").
struct LocatedViolation {
  std::string_view part;
  schema::Violation violation;
};
// The 400 answer's body: {"error", "request_id", "violations": [{in, location, keyword,
// message}, ...]} (the first 100).
std::string violations_json(std::string_view message, std::string_view request_id,
                            const std::vector<LocatedViolation>& violations);

FactoryResult make_request_validation_filter(const config::Config& config,
                                             const config::Route& route);
FactoryResult make_response_validation_filter(const config::Config& config,
                                              const config::Route& route);

}  // namespace portico::filters
