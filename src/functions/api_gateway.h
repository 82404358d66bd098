// API Gateway's Lambda proxy integration formats, so handlers written for AWS see the
// same event and answer the same way: the HTTP API payload format 2.0 (the default) and
// 1.0 (the REST API shape) events built from a request, and the function's result
// mapped back to an HTTP response, with API Gateway's rules for results that are not a
// response object. Pure functions: no I/O, no config.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "http/headers.h"

namespace portico::functions {

// What an event is built from. Views must outlive the call.
struct HttpEventInput {
  std::string_view method;
  std::string_view raw_path;   // the path as the client sent it (no query)
  std::string_view raw_query;  // after '?', without it ("" when none)
  std::string_view protocol = "HTTP/1.1";
  const http::HeaderList* headers = nullptr;
  std::vector<std::pair<std::string_view, std::string_view>>
      path_parameters;         // from the route's {params}
  std::string_view route_key;  // "GET /items/{id}" ("$default" for a catch-all)
  std::string_view resource;   // 1.0 only: the route's path pattern ("/items/{id}")
  std::string_view source_ip;
  std::string_view request_id;
  std::string_view domain_name;  // the Host (without port)
  std::string_view stage = "$default";
  std::string_view account_id = "000000000000";
  std::string_view api_id = "portico";
  int64_t time_ms = 0;  // wall clock, when the request arrived
  std::string_view body;
  // requestContext.authorizer as a rendered JSON object ("{\"jwt\":{...}}"), or empty.
  std::string_view authorizer_json;
};

// The event JSON for payload format 2.0 / 1.0.
std::string build_http_event_v2(const HttpEventInput& in);
std::string build_http_event_v1(const HttpEventInput& in);

// True when API Gateway would pass a body of this Content-Type as text (else base64):
// text/*, application/json, application/xml, application/javascript; parameters ignored.
// Everything else, an empty type included, is binary (see the .cc for the source).
bool is_text_content_type(std::string_view content_type);

// An HTTP response from a function's result.
struct HttpResult {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // in order; Set-Cookie repeated
  std::string body;                                          // decoded bytes
};

// The event of a `steps:` route's later function (docs/steps.md): the result before it in
// the shape a 2.0 handler returns ({"statusCode", "headers", "cookies", "body",
// "isBase64Encoded"}; Set-Cookie headers as cookies, repeated names joined with ","),
// plus the request's "requestContext" (a rendered JSON object; empty: left out).
std::string build_result_event(const HttpResult& result, std::string_view request_context_json);

// Maps a 2.0 result: an object with "statusCode" is a response (headers,
// multiValueHeaders, cookies, body, isBase64Encoded); any other valid JSON is a 200
// application/json whose body is the result (a JSON string's content, unquoted).
// A response without Content-Type gets application/json; Content-Length and hop-by-hop
// headers from the function are dropped; a header that is not safe on the wire (CR, LF,
// NUL, a bad name) is an error. An error names what is wrong (the route answers 502 with
// it; the text is plain and already escaped).
Result<HttpResult> map_http_result_v2(std::string_view payload);
// 1.0: the result must be an object with statusCode (and headers,
// multiValueHeaders, body, isBase64Encoded); anything else is an error.
Result<HttpResult> map_http_result_v1(std::string_view payload);

}  // namespace portico::functions
