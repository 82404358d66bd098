// API Gateway's Lambda proxy formats, after AWS's documentation:
//   HTTP API, formats 2.0 and 1.0, and the response rules ("format inference"):
//     https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
//   REST API proxy input and output (1.0: headers/multiValueHeaders merge, 502 otherwise):
//     https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html
// Where the documentation is silent, the comment at the spot says what was chosen and why.
//
// The event is written straight into a string (this runs on every invocation); results are
// parsed with Boost.JSON's error_code overloads, so nothing here throws but bad_alloc.
#include "functions/api_gateway.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <optional>

#include <boost/json.hpp>

#include "core/base64.h"
#include "core/strings.h"
#include "http/parser.h"
#include "http/request_values.h"

namespace portico::functions {
namespace {

namespace json = boost::json;

// ---- Writing JSON ----------------------------------------------------------------------

// Length of the well-formed UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0.
// Overlong forms, surrogates and code points past U+10FFFF are not well-formed (RFC 3629).
size_t utf8_sequence(std::string_view s, size_t i) {
  auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0; };
  auto cont = [&](size_t k) { return (at(k) & 0xC0) == 0x80; };
  unsigned char c = at(0);
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

size_t sequence_at(std::string_view s, size_t i) {
  return static_cast<unsigned char>(s[i]) < 0x80 ? 1 : utf8_sequence(s, i);
}

bool valid_utf8(std::string_view s) {
  for (size_t i = 0, n; i < s.size(); i += n) {
    if ((n = sequence_at(s, i)) == 0) return false;
  }
  return true;
}

// Appends s as a quoted JSON string. A byte that is not part of well-formed UTF-8 becomes
// U+FFFD: header values may carry obs-text and a decoded query any byte at all, and the
// event must stay JSON that the runtime's parser accepts.
void put_str(std::string& out, std::string_view s) {
  out += '"';
  size_t run = 0;
  for (size_t i = 0, n; i < s.size(); i += n) {
    if ((n = sequence_at(s, i)) != 0) continue;
    json_escape(out, s.substr(run, i - run));
    out += "\\ufffd";
    n = 1;
    run = i + 1;
  }
  json_escape(out, s.substr(run));
  out += '"';
}

void put_key(std::string& out, std::string_view key) {
  put_str(out, key);
  out += ':';
}

// prefix is the literal JSON before the value: ",\"name\":".
void put_field(std::string& out, std::string_view prefix, std::string_view value) {
  out += prefix;
  put_str(out, value);
}

// "12/Mar/2020:19:03:58 +0000", the documented requestContext.time / requestTime (UTC,
// English month names whatever the locale).
void put_time(std::string& out, int64_t ms) {
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto secs = static_cast<time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  int n =
      std::snprintf(buf, sizeof buf, "\"%02d/%s/%04d:%02d:%02d:%02d +0000\"", tm.tm_mday,
                    kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  out.append(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

// ---- Reading the request ---------------------------------------------------------------

// Values grouped by name, in order of first appearance, each group's values in order.
template <typename V>
struct Group {
  std::string name;
  std::vector<V> values;
};

template <typename V>
void add_to_group(std::vector<Group<V>>& groups, std::string name, V value) {
  auto it =
      std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.name == name; });
  if (it == groups.end()) {
    groups.push_back({std::move(name), {}});
    it = groups.end() - 1;
  }
  it->values.push_back(std::move(value));
}

enum class Shape { kJoined, kLast, kAll };

// {"name":"v1,v2"} (2.0), {"name":"v2"} or {"name":["v1","v2"]} (1.0's single- and
// multi-value fields).
template <typename V>
void put_groups(std::string& out, const std::vector<Group<V>>& groups, Shape shape) {
  out += '{';
  for (size_t i = 0; i < groups.size(); ++i) {
    if (i != 0) out += ',';
    put_key(out, groups[i].name);
    const std::vector<V>& values = groups[i].values;
    if (shape == Shape::kLast) {
      put_str(out, values.back());
    } else if (shape == Shape::kJoined) {
      std::string joined;
      for (size_t k = 0; k < values.size(); ++k) {
        if (k != 0) joined += ',';
        joined += values[k];
      }
      put_str(out, joined);
    } else {
      out += '[';
      for (size_t k = 0; k < values.size(); ++k) {
        if (k != 0) out += ',';
        put_str(out, values[k]);
      }
      out += ']';
    }
  }
  out += '}';
}

using Fields = std::vector<Group<std::string_view>>;
using Params = std::vector<Group<std::string>>;

// Request headers by lower-cased name ("Header names are lowercased", for both formats).
Fields group_headers(const http::HeaderList* headers, bool drop_cookie) {
  Fields out;
  if (headers == nullptr) return out;
  for (const http::Header& h : *headers) {
    if (drop_cookie && iequals(h.name, "cookie")) continue;
    add_to_group(out, to_lower(h.name), h.value);
  }
  return out;
}

// "a=1&a=2&flag" -> a: [1, 2], flag: [""]; names and values decoded, grouped by exact name.
Params parse_query(std::string_view query) {
  Params out;
  http::for_each_decoded_query_param(query, [&](std::string name, std::string value) {
    add_to_group(out, std::move(name), std::move(value));
  });
  return out;
}

std::string_view header_or_empty(const http::HeaderList* headers, std::string_view name) {
  if (headers == nullptr) return {};
  const http::Header* h = http::find_header(*headers, name);
  return h != nullptr ? h->value : std::string_view();
}

// ,"body":…,"isBase64Encoded":… with the body as text or as base64.
void put_body_value(std::string& out, std::string_view body, bool text) {
  out += ",\"body\":";
  if (text) {
    put_str(out, body);
  } else {
    out += '"';
    out += base64_encode(body);
    out += '"';
  }
  out += text ? ",\"isBase64Encoded\":false" : ",\"isBase64Encoded\":true";
}

// "body" and "isBase64Encoded" (with a leading comma). A text body that is not valid UTF-8
// goes as base64 too: passing it as text would lose bytes to U+FFFD (AWS does not say what
// it does here; keeping the bytes and telling so with isBase64Encoded is the safe choice).
void put_body(std::string& out, const HttpEventInput& in, bool null_when_empty) {
  if (in.body.empty()) {
    if (null_when_empty) out += ",\"body\":null";
    out += ",\"isBase64Encoded\":false";
    return;
  }
  bool text =
      is_text_content_type(header_or_empty(in.headers, "content-type")) && valid_utf8(in.body);
  put_body_value(out, in.body, text);
}

// The fields both formats' requestContext open with (alphabetical, as in the examples).
void put_context_start(std::string& out, const HttpEventInput& in) {
  put_field(out, ",\"requestContext\":{\"accountId\":", in.account_id);
  put_field(out, ",\"apiId\":", in.api_id);
  if (!in.authorizer_json.empty()) {
    out += ",\"authorizer\":";
    out += in.authorizer_json;  // rendered by the gateway: already a JSON object
  }
  put_field(out, ",\"domainName\":", in.domain_name);
  put_field(out, ",\"domainPrefix\":", in.domain_name.substr(0, in.domain_name.find('.')));
}

void put_path_parameters(std::string& out, const HttpEventInput& in) {
  out += '{';
  for (size_t i = 0; i < in.path_parameters.size(); ++i) {
    if (i != 0) out += ',';
    put_key(out, in.path_parameters[i].first);
    put_str(out, in.path_parameters[i].second);
  }
  out += '}';
}

// ---- Reading the result ----------------------------------------------------------------

// A name or value quoted for an error message: escaped (it goes into a response body) and cut.
std::string quoted(std::string_view s) {
  constexpr size_t kMax = 64;
  return s.size() <= kMax ? json_quote(s) : json_quote(s.substr(0, kMax)) + "...";
}

const char* kind_name(json::kind k) {
  if (k == json::kind::null) return "null";
  if (k == json::kind::bool_) return "a boolean";
  if (k == json::kind::string) return "a string";
  if (k == json::kind::array) return "an array";
  return k == json::kind::object ? "an object" : "a number";
}

const char* kind_of(const json::value& v) { return kind_name(v.kind()); }

// o[key] when present and not null (then nullptr); an error names the field when it is
// not of the kind wanted.
Result<const json::value*> member(const json::object& o, std::string_view key, json::kind want) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return static_cast<const json::value*>(nullptr);
  if (v->kind() != want) {
    return Error{std::string(key) + " must be " + kind_name(want) + ", not " + kind_of(*v)};
  }
  return v;
}

// A header value as text: strings as they are, numbers and booleans written out (functions
// commonly return e.g. "Access-Control-Allow-Credentials": true, which API Gateway accepts).
std::optional<std::string> scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.get_string());
  if (v.is_bool()) return std::string(v.get_bool() ? "true" : "false");
  if (v.is_int64() || v.is_uint64()) return json::serialize(v);
  if (v.is_double()) {
    char buf[32];
    auto r = std::to_chars(buf, buf + sizeof buf, v.get_double());
    return std::string(buf, r.ptr);
  }
  return std::nullopt;
}

// Adds a header from the function, or says why it cannot go on the wire. Framing and
// hop-by-hop headers are dropped: the server frames the body itself (a function's
// Content-Length or Transfer-Encoding would contradict it) and connection management
// belongs to this hop, not to the function.
Result<void> add_header(HttpResult& r, std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), http::is_tchar)) {
    return Error{"header name " + quoted(name) + " is not a valid HTTP field name"};
  }
  value = trim(value);
  if (!std::all_of(value.begin(), value.end(), http::is_field_value_char)) {
    return Error{"header " + quoted(name) +
                 " has a value with a character not allowed in HTTP (CR, LF, NUL or another "
                 "control character)"};
  }
  http::HeaderId id = http::classify_header(name);
  if (http::is_hop_by_hop(id) || id == http::HeaderId::kContentLength) return {};
  r.headers.emplace_back(std::string(name), std::string(value));
  return {};
}

Result<void> add_scalar(HttpResult& r, std::string_view field, std::string_view name,
                        const json::value& v) {
  if (v.is_null()) return {};
  std::optional<std::string> text = scalar_text(v);
  if (!text) {
    return Error{std::string(field) + " " + quoted(name) + " must be a string, not " + kind_of(v)};
  }
  return add_header(r, name, *text);
}

// The response object shared by both formats (v2 adds "cookies"). The documented merge of
// headers and multiValueHeaders: a name given in multiValueHeaders takes its values from
// there only (compared case-insensitively, as HTTP names are).
Result<HttpResult> structured(const json::object& o, bool v2) {
  HttpResult r;
  const json::value& sc = *o.if_contains("statusCode");  // callers checked it is there
  if (!sc.is_int64() && !sc.is_uint64()) {
    return Error{std::string("statusCode must be an integer, not ") + kind_of(sc)};
  }
  // 1xx are interim answers in HTTP: a client would wait for a final one after it.
  if (sc.is_uint64() || sc.get_int64() < 200 || sc.get_int64() > 599) {
    return Error{"statusCode " + json::serialize(sc) + " is not a final HTTP status (200-599)"};
  }
  r.status = static_cast<int>(sc.get_int64());

  auto base64 = member(o, "isBase64Encoded", json::kind::bool_);
  auto body = member(o, "body", json::kind::string);
  // cookies belongs to 2.0; a 1.0 response's is ignored, as the format has no such field.
  auto cookies = v2 ? member(o, "cookies", json::kind::array) : nullptr;
  auto headers = member(o, "headers", json::kind::object);
  auto multi = member(o, "multiValueHeaders", json::kind::object);
  for (const auto* m : {&base64, &body, &cookies, &headers, &multi}) {
    if (!m->ok()) return m->error();
  }
  // The body must be a string: API Gateway answers a function that returns an object
  // there with an error ("Lambda body contains the wrong type for field \"body\"").
  if (*body != nullptr && *base64 != nullptr && (*base64)->get_bool()) {
    std::optional<std::string> decoded = base64_decode((*body)->get_string());
    if (!decoded) return Error{"body is not valid base64 although isBase64Encoded is true"};
    r.body = std::move(*decoded);
  } else if (*body != nullptr) {
    r.body = (*body)->get_string();
  }

  // Each cookie becomes a Set-Cookie header; they come first, before any Set-Cookie the
  // headers carry (the order reported for API Gateway when a function sends both).
  if (*cookies != nullptr) {
    for (const json::value& item : (*cookies)->get_array()) {
      if (!item.is_string()) {
        return Error{std::string("cookies must hold strings, not ") + kind_of(item)};
      }
      if (auto ok = add_header(r, "Set-Cookie", item.get_string()); !ok) return ok.error();
    }
  }
  auto in_multi = [&](std::string_view name) {
    if (*multi == nullptr) return false;
    const json::object& m = (*multi)->get_object();
    return std::any_of(m.begin(), m.end(), [&](const json::key_value_pair& kv) {
      return !kv.value().is_null() && iequals(kv.key(), name);
    });
  };
  if (*headers != nullptr) {
    for (const json::key_value_pair& kv : (*headers)->get_object()) {
      if (in_multi(kv.key())) continue;
      if (auto ok = add_scalar(r, "header", kv.key(), kv.value()); !ok) return ok.error();
    }
  }
  if (*multi != nullptr) {
    for (const json::key_value_pair& kv : (*multi)->get_object()) {
      if (kv.value().is_null()) continue;
      if (!kv.value().is_array()) {
        return Error{"multiValueHeaders " + quoted(kv.key()) + " must be an array, not " +
                     kind_of(kv.value())};
      }
      for (const json::value& item : kv.value().get_array()) {
        if (auto ok = add_scalar(r, "multiValueHeaders value of", kv.key(), item); !ok) {
          return ok.error();
        }
      }
    }
  }
  // A response without a Content-Type gets application/json, as API Gateway gives it (the
  // documented default of format inference, and what REST APIs send for proxy responses).
  bool has_type = std::any_of(r.headers.begin(), r.headers.end(),
                              [](const auto& h) { return iequals(h.first, "content-type"); });
  if (!has_type) r.headers.emplace_back("Content-Type", "application/json");
  return r;
}

Result<json::value> parse_result(std::string_view payload) {
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec) return Error{"the function's result is not valid JSON (" + ec.message() + ")"};
  return v;
}

}  // namespace

// HTTP APIs have no binaryMediaTypes setting, and AWS's pages do not list which request
// types arrive as text. The rule here is the one observed on real HTTP APIs (reported in
// ministackorg/ministack pull request 766, "verified against real AWS"): text/* and exactly
// application/json, application/xml and application/javascript are text; everything else
// is base64, including application/x-www-form-urlencoded, the +json/+xml suffix types and a
// body with no Content-Type at all. Case-insensitive; parameters (";charset=...") ignored.
bool is_text_content_type(std::string_view content_type) {
  std::string_view t = trim(content_type.substr(0, content_type.find(';')));
  if (t.size() > 5 && iequals(t.substr(0, 5), "text/")) return true;
  return iequals(t, "application/json") || iequals(t, "application/xml") ||
         iequals(t, "application/javascript");
}

std::string build_http_event_v2(const HttpEventInput& in) {
  std::string out;
  out.reserve(1024 + in.body.size() * 4 / 3);
  put_field(out, "{\"version\":\"2.0\",\"routeKey\":", in.route_key);
  put_field(out, ",\"rawPath\":", in.raw_path);
  put_field(out, ",\"rawQueryString\":", in.raw_query);

  // Cookies leave the headers for their own array: each Cookie header split at ';'.
  bool first = true;
  if (in.headers != nullptr) {
    for (const http::Header& h : *in.headers) {
      if (!iequals(h.name, "cookie")) continue;
      for (std::string_view c : split(h.value, ';')) {
        c = trim(c);
        if (c.empty()) continue;
        out += first ? ",\"cookies\":[" : ",";
        first = false;
        put_str(out, c);
      }
    }
  }
  if (!first) out += ']';

  out += ",\"headers\":";
  put_groups(out, group_headers(in.headers, true), Shape::kJoined);
  if (Params params = parse_query(in.raw_query); !params.empty()) {
    out += ",\"queryStringParameters\":";
    put_groups(out, params, Shape::kJoined);
  }

  put_context_start(out, in);
  put_field(out, ",\"http\":{\"method\":", in.method);
  put_field(out, ",\"path\":", in.raw_path);
  put_field(out, ",\"protocol\":", in.protocol);
  put_field(out, ",\"sourceIp\":", in.source_ip);
  put_field(out, ",\"userAgent\":", header_or_empty(in.headers, "user-agent"));
  put_field(out, "},\"requestId\":", in.request_id);
  put_field(out, ",\"routeKey\":", in.route_key);
  put_field(out, ",\"stage\":", in.stage);
  out += ",\"time\":";
  put_time(out, in.time_ms);
  out += ",\"timeEpoch\":";
  append_decimal(out, in.time_ms);
  out += '}';

  if (!in.path_parameters.empty()) {
    out += ",\"pathParameters\":";
    put_path_parameters(out, in);
  }
  // No stage variables here, and 2.0 leaves absent fields out rather than null.
  put_body(out, in, false);
  out += '}';
  return out;
}

std::string build_http_event_v1(const HttpEventInput& in) {
  std::string out;
  out.reserve(1536 + in.body.size() * 4 / 3);
  // A catch-all route has no path pattern; the request's path stands in for it.
  std::string_view resource = in.resource.empty() ? in.raw_path : in.resource;
  put_field(out, "{\"version\":\"1.0\",\"resource\":", resource);
  put_field(out, ",\"path\":", in.raw_path);
  put_field(out, ",\"httpMethod\":", in.method);

  // headers holds the last value of a repeated header, multiValueHeaders all of them (the
  // documented examples); Cookie stays a header in this format.
  if (Fields fields = group_headers(in.headers, false); fields.empty()) {
    out += ",\"headers\":null,\"multiValueHeaders\":null";
  } else {
    out += ",\"headers\":";
    put_groups(out, fields, Shape::kLast);
    out += ",\"multiValueHeaders\":";
    put_groups(out, fields, Shape::kAll);
  }
  // Likewise for the query: the last value, and all values (API Gateway's long-standing
  // rule for the single-value field since multi-value support came in).
  if (Params params = parse_query(in.raw_query); params.empty()) {
    out += ",\"queryStringParameters\":null,\"multiValueQueryStringParameters\":null";
  } else {
    out += ",\"queryStringParameters\":";
    put_groups(out, params, Shape::kLast);
    out += ",\"multiValueQueryStringParameters\":";
    put_groups(out, params, Shape::kAll);
  }

  put_context_start(out, in);
  put_field(out, ",\"extendedRequestId\":", in.request_id);
  put_field(out, ",\"httpMethod\":", in.method);
  // The identity fields that only IAM and Cognito authorization fill in are null.
  out +=
      ",\"identity\":{\"accessKey\":null,\"accountId\":null,\"caller\":null,"
      "\"cognitoAuthenticationProvider\":null,\"cognitoAuthenticationType\":null,"
      "\"cognitoIdentityId\":null,\"cognitoIdentityPoolId\":null,\"principalOrgId\":null,"
      "\"sourceIp\":";
  put_str(out, in.source_ip);
  put_field(out, ",\"user\":null,\"userAgent\":", header_or_empty(in.headers, "user-agent"));
  put_field(out, ",\"userArn\":null},\"path\":", in.raw_path);
  put_field(out, ",\"protocol\":", in.protocol);
  put_field(out, ",\"requestId\":", in.request_id);
  out += ",\"requestTime\":";
  put_time(out, in.time_ms);
  out += ",\"requestTimeEpoch\":";
  append_decimal(out, in.time_ms);
  put_field(out, ",\"resourceId\":null,\"resourcePath\":", resource);
  put_field(out, ",\"stage\":", in.stage);
  out += "},\"pathParameters\":";
  if (in.path_parameters.empty()) {
    out += "null";
  } else {
    put_path_parameters(out, in);
  }
  out += ",\"stageVariables\":null";
  put_body(out, in, true);
  out += '}';
  return out;
}

// Format inference: an object with statusCode is a response; any other valid JSON is a 200
// application/json whose body is the result as the function wrote it, except that a JSON
// string gives its content ("Hello from Lambda!" answers Hello from Lambda!).
Result<HttpResult> map_http_result_v2(std::string_view payload) {
  Result<json::value> v = parse_result(payload);
  if (!v) return v.error();
  if (v->is_object() && v->get_object().contains("statusCode")) {
    return structured(v->get_object(), true);
  }
  HttpResult r;
  r.headers.emplace_back("Content-Type", "application/json");
  r.body = v->is_string() ? std::string(v->get_string()) : std::string(payload);
  return r;
}

// REST-style 1.0 makes no assumptions: anything but a response object is a malformed
// response (REST APIs answer 502 "Malformed Lambda proxy response"), so the messages say so.
Result<HttpResult> map_http_result_v1(std::string_view payload) {
  constexpr std::string_view kPrefix = "malformed Lambda proxy response: ";
  Result<json::value> v = parse_result(payload);
  if (!v) return Error{std::string(kPrefix) + v.error().message};
  if (!v->is_object() || !v->get_object().contains("statusCode")) {
    return Error{std::string(kPrefix) +
                 "payload format 1.0 needs a JSON object with a statusCode (the result is " +
                 (v->is_object() ? "an object without statusCode" : kind_of(*v)) + ")"};
  }
  Result<HttpResult> r = structured(v->get_object(), false);
  if (!r) return Error{std::string(kPrefix) + r.error().message};
  return r;
}

std::string build_result_event(const HttpResult& result, std::string_view request_context_json) {
  std::string out = "{\"statusCode\":";
  append_decimal(out, result.status);
  out += ",\"headers\":{";
  std::vector<std::pair<std::string, std::string>> joined;  // lower-case name, value
  std::vector<std::string_view> cookies;
  std::string_view content_type;
  for (const auto& [name, value] : result.headers) {
    if (iequals(name, "set-cookie")) {
      cookies.push_back(value);
      continue;
    }
    if (iequals(name, "content-type")) content_type = value;
    std::string lower = to_lower(name);
    auto same =
        std::find_if(joined.begin(), joined.end(), [&](const auto& h) { return h.first == lower; });
    if (same == joined.end()) {
      joined.emplace_back(std::move(lower), value);
    } else {
      same->second.append(",").append(value);
    }
  }
  for (size_t i = 0; i < joined.size(); ++i) {
    if (i > 0) out += ',';
    put_key(out, joined[i].first);
    put_str(out, joined[i].second);
  }
  out += '}';
  if (!cookies.empty()) {
    out += ",\"cookies\":[";
    for (size_t i = 0; i < cookies.size(); ++i) {
      if (i > 0) out += ',';
      put_str(out, cookies[i]);
    }
    out += ']';
  }
  // JSON and text stay text (a formatter reads them as they are); other bytes go as base64.
  std::string_view type = trim(content_type.substr(0, content_type.find(';')));
  bool json_suffix = type.size() > 5 && iequals(type.substr(type.size() - 5), "+json");
  bool text = (is_text_content_type(content_type) || json_suffix) && valid_utf8(result.body);
  put_body_value(out, result.body, text);
  if (!request_context_json.empty()) {
    out += ",\"requestContext\":";
    out += request_context_json;
  }
  out += '}';
  return out;
}

}  // namespace portico::functions
