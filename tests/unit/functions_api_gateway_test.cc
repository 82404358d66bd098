// API Gateway proxy formats: the 2.0 and 1.0 events a request becomes, which bodies go as
// base64, and how a function's result maps back to a response (format inference, the
// response object, and what is refused).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <boost/json.hpp>

#include "core/base64.h"
#include "core/strings.h"
#include "functions/api_gateway.h"

namespace portico::functions {
namespace {

namespace json = boost::json;

json::value parse(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return v;
}

std::string str(const json::value& v, std::string_view key) {
  const json::value* f = v.as_object().if_contains(key);
  return f != nullptr && f->is_string() ? std::string(f->get_string()) : "<missing>";
}

class EventTest : public ::testing::Test {
 protected:
  void SetUp() override {
    headers_ = {
        {"Host", "api.example.com"},    {"User-Agent", "curl/8.0"}, {"Accept", "text/html"},
        {"accept", "application/json"},  // a repeat in another case
        {"Cookie", "a=1; b=2"},         {"cookie", "c=3"},          {"X-Custom", "v"},
    };
    in_.method = "POST";
    in_.raw_path = "/items/42";
    in_.raw_query = "q=hello%20world&tag=a&tag=b&plus=1+2&flag";
    in_.headers = &headers_;
    in_.path_parameters = {{"id", "42"}};
    in_.route_key = "POST /items/{id}";
    in_.resource = "/items/{id}";
    in_.source_ip = "192.0.2.7";
    in_.request_id = "req-1";
    in_.domain_name = "api.example.com";
    in_.time_ms = 1583348638390;  // 2020-03-04T19:03:58.390Z
  }

  http::HeaderList headers_;
  HttpEventInput in_;
};

TEST_F(EventTest, V2Fields) {
  json::value e = parse(build_http_event_v2(in_));
  EXPECT_EQ(str(e, "version"), "2.0");
  EXPECT_EQ(str(e, "routeKey"), "POST /items/{id}");
  EXPECT_EQ(str(e, "rawPath"), "/items/42");
  EXPECT_EQ(str(e, "rawQueryString"), "q=hello%20world&tag=a&tag=b&plus=1+2&flag");
  EXPECT_EQ(e.at("cookies"), parse(R"(["a=1","b=2","c=3"])"));

  const json::object& h = e.at("headers").as_object();
  EXPECT_EQ(str(h, "host"), "api.example.com");
  EXPECT_EQ(str(h, "accept"), "text/html,application/json");
  EXPECT_EQ(str(h, "x-custom"), "v");
  EXPECT_FALSE(h.contains("cookie"));
  EXPECT_FALSE(h.contains("Accept"));

  const json::object& q = e.at("queryStringParameters").as_object();
  EXPECT_EQ(str(q, "q"), "hello world");
  EXPECT_EQ(str(q, "tag"), "a,b");
  EXPECT_EQ(str(q, "plus"), "1 2");
  EXPECT_EQ(str(q, "flag"), "");

  EXPECT_EQ(e.at("pathParameters"), parse(R"({"id":"42"})"));
  EXPECT_FALSE(e.as_object().contains("stageVariables"));
  EXPECT_FALSE(e.as_object().contains("body"));
  EXPECT_EQ(e.at("isBase64Encoded"), false);

  const json::object& rc = e.at("requestContext").as_object();
  EXPECT_EQ(str(rc, "accountId"), "000000000000");
  EXPECT_EQ(str(rc, "apiId"), "portico");
  EXPECT_EQ(str(rc, "domainName"), "api.example.com");
  EXPECT_EQ(str(rc, "domainPrefix"), "api");
  EXPECT_EQ(str(rc, "requestId"), "req-1");
  EXPECT_EQ(str(rc, "routeKey"), "POST /items/{id}");
  EXPECT_EQ(str(rc, "stage"), "$default");
  EXPECT_EQ(str(rc, "time"), "04/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(rc.at("timeEpoch"), 1583348638390);
  EXPECT_FALSE(rc.contains("authorizer"));
  EXPECT_EQ(rc.at("http"), parse(R"({"method":"POST","path":"/items/42","protocol":"HTTP/1.1",
                                     "sourceIp":"192.0.2.7","userAgent":"curl/8.0"})"));
}

TEST_F(EventTest, V2OmitsWhatIsAbsent) {
  headers_ = {{"Host", "localhost"}};
  in_.raw_query = "";
  in_.path_parameters.clear();
  in_.domain_name = "localhost";
  json::value e = parse(build_http_event_v2(in_));
  const json::object& o = e.as_object();
  EXPECT_FALSE(o.contains("cookies"));
  EXPECT_FALSE(o.contains("queryStringParameters"));
  EXPECT_FALSE(o.contains("pathParameters"));
  EXPECT_EQ(str(e, "rawQueryString"), "");
  EXPECT_EQ(str(e.at("requestContext"), "domainPrefix"), "localhost");
  EXPECT_EQ(str(e.at("requestContext").at("http"), "userAgent"), "");
}

TEST_F(EventTest, TextBodyRawBinaryBodyBase64) {
  headers_.push_back({"Content-Type", "application/json; charset=utf-8"});
  in_.body = R"({"name":"caf\u00e9","note":"é"})";
  json::value e = parse(build_http_event_v2(in_));
  EXPECT_EQ(str(e, "body"), in_.body);
  EXPECT_EQ(e.at("isBase64Encoded"), false);

  headers_.back().value = "image/png";
  const std::string png("\x89PNG\r\n\x1a\n\0\xff", 10);
  in_.body = png;
  e = parse(build_http_event_v2(in_));
  EXPECT_EQ(e.at("isBase64Encoded"), true);
  EXPECT_EQ(base64_decode(str(e, "body")), png);

  // Text by type but not UTF-8: sent as base64 so no byte is lost.
  headers_.back().value = "text/plain";
  e = parse(build_http_event_v2(in_));
  EXPECT_EQ(e.at("isBase64Encoded"), true);
  EXPECT_EQ(base64_decode(str(e, "body")), png);

  // No Content-Type at all: binary, as HTTP APIs treat it.
  headers_.pop_back();
  in_.body = "plain words";
  e = parse(build_http_event_v2(in_));
  EXPECT_EQ(e.at("isBase64Encoded"), true);
  EXPECT_EQ(str(e, "body"), base64_encode("plain words"));
}

TEST_F(EventTest, EscapingAndInvalidUtf8StayValidJson) {
  headers_ = {{"X-Quote", "say \"hi\" \\ \t"},
              {"X-Obs", "caf\xe9"},
              {"X-Utf8", "\xf0\x9f\x98\x80 \xc3\xa9"},               // kept: well-formed
              {"X-Bad", "\xed\xa0\x80|\xc0\xaf|\xf4\x90\x80\x80"}};  // surrogate, overlong, too big
  in_.raw_query = "k=%FF%0A&%22=x";
  json::value e = parse(build_http_event_v2(in_));
  EXPECT_EQ(str(e.at("headers"), "x-quote"), "say \"hi\" \\ \t");
  EXPECT_EQ(str(e.at("headers"), "x-obs"), "caf\xef\xbf\xbd");  // U+FFFD
  EXPECT_EQ(str(e.at("headers"), "x-utf8"), "\xf0\x9f\x98\x80 \xc3\xa9");
  const std::string r = "\xef\xbf\xbd";
  EXPECT_EQ(str(e.at("headers"), "x-bad"), r + r + r + "|" + r + r + "|" + r + r + r + r);
  EXPECT_EQ(str(e.at("queryStringParameters"), "k"), "\xef\xbf\xbd\n");
  EXPECT_EQ(str(e.at("queryStringParameters"), "\""), "x");
}

TEST_F(EventTest, AuthorizerIsPassedAsJson) {
  in_.authorizer_json = R"({"jwt":{"claims":{"sub":"u1"},"scopes":["read"]}})";
  json::value e = parse(build_http_event_v2(in_));
  EXPECT_EQ(e.at("requestContext").at("authorizer"), parse(std::string(in_.authorizer_json)));
  e = parse(build_http_event_v1(in_));
  EXPECT_EQ(e.at("requestContext").at("authorizer"), parse(std::string(in_.authorizer_json)));
}

TEST_F(EventTest, V1Shape) {
  headers_.push_back({"Content-Type", "text/plain"});
  in_.body = "hello";
  json::value e = parse(build_http_event_v1(in_));
  EXPECT_EQ(str(e, "version"), "1.0");
  EXPECT_EQ(str(e, "resource"), "/items/{id}");
  EXPECT_EQ(str(e, "path"), "/items/42");
  EXPECT_EQ(str(e, "httpMethod"), "POST");
  EXPECT_EQ(str(e.at("headers"), "accept"), "application/json");  // the last value
  EXPECT_EQ(str(e.at("headers"), "cookie"), "c=3");
  EXPECT_EQ(e.at("multiValueHeaders").at("accept"), parse(R"(["text/html","application/json"])"));
  EXPECT_EQ(e.at("multiValueHeaders").at("cookie"), parse(R"(["a=1; b=2","c=3"])"));
  EXPECT_EQ(str(e.at("queryStringParameters"), "tag"), "b");
  EXPECT_EQ(str(e.at("queryStringParameters"), "q"), "hello world");
  EXPECT_EQ(e.at("multiValueQueryStringParameters").at("tag"), parse(R"(["a","b"])"));
  EXPECT_EQ(e.at("pathParameters"), parse(R"({"id":"42"})"));
  EXPECT_TRUE(e.at("stageVariables").is_null());
  EXPECT_EQ(str(e, "body"), "hello");
  EXPECT_EQ(e.at("isBase64Encoded"), false);
  EXPECT_FALSE(e.as_object().contains("cookies"));

  const json::object& rc = e.at("requestContext").as_object();
  EXPECT_EQ(str(rc, "httpMethod"), "POST");
  EXPECT_EQ(str(rc, "extendedRequestId"), "req-1");
  EXPECT_EQ(str(rc, "requestId"), "req-1");
  EXPECT_EQ(str(rc, "requestTime"), "04/Mar/2020:19:03:58 +0000");
  EXPECT_EQ(rc.at("requestTimeEpoch"), 1583348638390);
  EXPECT_EQ(str(rc, "resourcePath"), "/items/{id}");
  EXPECT_EQ(str(rc, "path"), "/items/42");
  EXPECT_EQ(str(rc, "protocol"), "HTTP/1.1");
  EXPECT_EQ(str(rc, "domainPrefix"), "api");
  EXPECT_TRUE(rc.at("resourceId").is_null());
  const json::object& id = rc.at("identity").as_object();
  EXPECT_EQ(str(id, "sourceIp"), "192.0.2.7");
  EXPECT_EQ(str(id, "userAgent"), "curl/8.0");
  EXPECT_TRUE(id.at("accessKey").is_null());
  EXPECT_TRUE(id.at("userArn").is_null());
  EXPECT_TRUE(id.at("cognitoIdentityId").is_null());
}

TEST_F(EventTest, V1NullsWhenAbsent) {
  headers_.clear();
  in_.raw_query = "";
  in_.path_parameters.clear();
  in_.resource = "";
  json::value e = parse(build_http_event_v1(in_));
  for (const char* key : {"headers", "multiValueHeaders", "queryStringParameters",
                          "multiValueQueryStringParameters", "pathParameters", "body"}) {
    EXPECT_TRUE(e.at(key).is_null()) << key;
  }
  EXPECT_EQ(str(e, "resource"), "/items/42");
}

TEST(ContentTypeTest, TextTypes) {
  for (const char* t : {"text/plain", "text/html; charset=utf-8", "TEXT/CSV", "application/json",
                        "Application/JSON;charset=UTF-8", "application/xml",
                        "application/javascript", " text/plain "}) {
    EXPECT_TRUE(is_text_content_type(t)) << t;
  }
  for (const char* t : {"", "application/octet-stream", "image/png", "multipart/form-data",
                        "application/x-www-form-urlencoded", "application/problem+json",
                        "application/jsonx", "text/", "text"}) {
    EXPECT_FALSE(is_text_content_type(t)) << t;
  }
}

// A header's values in a result (names compared case-insensitively).
std::vector<std::string> values(const HttpResult& r, std::string_view name) {
  std::vector<std::string> out;
  for (const auto& [n, v] : r.headers) {
    if (iequals(n, name)) out.push_back(v);
  }
  return out;
}

using Strings = std::vector<std::string>;

TEST(ResultV2Test, StringIsTheBodyUnquoted) {
  auto r = map_http_result_v2(R"("Hello from Lambda!")");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "Hello from Lambda!");
  EXPECT_EQ(values(*r, "content-type"), Strings{"application/json"});
}

TEST(ResultV2Test, OtherJsonIsTheBodyAsWritten) {
  for (const char* payload : {R"({ "message": "Hello from Lambda!" })", "42", "-1.5e3", "true",
                              "null", R"([1,"two",{"x":3}])"}) {
    auto r = map_http_result_v2(payload);
    ASSERT_TRUE(r.ok()) << payload << ": " << r.error().message;
    EXPECT_EQ(r->status, 200) << payload;
    EXPECT_EQ(r->body, payload);
    EXPECT_EQ(values(*r, "content-type"), Strings{"application/json"}) << payload;
  }
}

TEST(ResultV2Test, StructuredResponse) {
  auto r = map_http_result_v2(R"({
    "statusCode": 201,
    "headers": {"Content-Type": "text/plain", "X-Count": 3, "X-Ok": true, "X-Ratio": 0.5,
                "X-Both": "from-headers", "X-Null": null},
    "multiValueHeaders": {"X-Multi": ["a", "b"], "x-both": ["m1", "m2"]},
    "cookies": ["s=1; Path=/; HttpOnly", "t=2"],
    "body": "created"
  })");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "created");
  EXPECT_EQ(values(*r, "content-type"), Strings{"text/plain"});
  EXPECT_EQ(values(*r, "x-count"), Strings{"3"});
  EXPECT_EQ(values(*r, "x-ok"), Strings{"true"});
  EXPECT_EQ(values(*r, "x-ratio"), Strings{"0.5"});
  EXPECT_EQ(values(*r, "x-multi"), (Strings{"a", "b"}));
  EXPECT_EQ(values(*r, "x-both"), (Strings{"m1", "m2"}));  // multiValueHeaders wins
  EXPECT_TRUE(values(*r, "x-null").empty());
  EXPECT_EQ(values(*r, "set-cookie"), (Strings{"s=1; Path=/; HttpOnly", "t=2"}));
}

TEST(ResultV2Test, NotFoundWithHeaders) {
  auto r = map_http_result_v2(
      R"({"statusCode":404,"headers":{"content-type":"application/problem+json","Cache-Control":"no-store"},
          "body":"{\"title\":\"Not Found\"}"})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, R"({"title":"Not Found"})");
  EXPECT_EQ(values(*r, "content-type"), Strings{"application/problem+json"});
  EXPECT_EQ(values(*r, "cache-control"), Strings{"no-store"});
}

TEST(ResultV2Test, StructuredDefaults) {
  auto r = map_http_result_v2(R"({"statusCode":204})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->body, "");
  EXPECT_EQ(values(*r, "content-type"), Strings{"application/json"});
}

TEST(ResultV2Test, Base64BodyIsDecoded) {
  const std::string bytes("\x00\x01\xfe\xffPNG", 7);
  auto r =
      map_http_result_v2(R"({"statusCode":200,"isBase64Encoded":true,"body":")" +
                         base64_encode(bytes) + R"(","headers":{"Content-Type":"image/png"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, bytes);

  r = map_http_result_v2(R"({"statusCode":200,"isBase64Encoded":true,"body":"not base64!"})");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("base64"), std::string::npos) << r.error().message;
}

TEST(ResultV2Test, FramingAndHopByHopHeadersAreDropped) {
  auto r = map_http_result_v2(R"({"statusCode":200,"body":"x","headers":{
      "Content-Length":"999","Transfer-Encoding":"chunked","Connection":"close","Keep-Alive":"5",
      "Upgrade":"h2c","X-Kept":"yes"}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->headers.size(), 2u);  // X-Kept and the default Content-Type
  EXPECT_EQ(values(*r, "x-kept"), Strings{"yes"});
}

void expect_error(const Result<HttpResult>& r, std::string_view part) {
  ASSERT_FALSE(r.ok()) << "expected an error mentioning " << part;
  EXPECT_NE(r.error().message.find(part), std::string::npos) << r.error().message;
  for (char c : r.error().message) {
    EXPECT_TRUE(c != '\r' && c != '\n' && c != '\0') << "control character in the message";
  }
}

TEST(ResultV2Test, InvalidJson) {
  expect_error(map_http_result_v2("{\"statusCode\": 200,"), "not valid JSON");
  expect_error(map_http_result_v2(""), "not valid JSON");
  expect_error(map_http_result_v2("Hello"), "not valid JSON");
}

TEST(ResultV2Test, BadFields) {
  expect_error(map_http_result_v2(R"({"statusCode":"200"})"), "statusCode must be an integer");
  expect_error(map_http_result_v2(R"({"statusCode":99})"),
               "statusCode 99 is not a final HTTP status");
  expect_error(map_http_result_v2(R"({"statusCode":101})"),
               "statusCode 101 is not a final HTTP status");
  expect_error(map_http_result_v2(R"({"statusCode":600})"), "600");
  expect_error(map_http_result_v2(R"({"statusCode":200.5})"), "statusCode");
  expect_error(map_http_result_v2(R"({"statusCode":200,"body":{"a":1}})"),
               "body must be a string, not an object");
  expect_error(map_http_result_v2(R"({"statusCode":200,"headers":["a"]})"), "headers must be");
  expect_error(map_http_result_v2(R"({"statusCode":200,"headers":{"X":{"a":1}}})"),
               "must be a string");
  expect_error(map_http_result_v2(R"({"statusCode":200,"multiValueHeaders":{"X":"a"}})"),
               "must be an array");
  expect_error(map_http_result_v2(R"({"statusCode":200,"cookies":"a=1"})"), "cookies");
  expect_error(map_http_result_v2(R"({"statusCode":200,"isBase64Encoded":"yes"})"),
               "isBase64Encoded must be a boolean");
}

TEST(ResultV2Test, HeaderInjectionIsRefused) {
  expect_error(
      map_http_result_v2(R"({"statusCode":200,"headers":{"X-A":"ok\r\nSet-Cookie: evil=1"}})"),
      "X-A");
  expect_error(map_http_result_v2(R"({"statusCode":200,"headers":{"X-A":"nul\u0000"}})"),
               "not allowed");
  expect_error(map_http_result_v2(R"({"statusCode":200,"headers":{"Bad Name":"v"}})"),
               "not a valid HTTP field name");
  expect_error(map_http_result_v2(R"({"statusCode":200,"headers":{"X\r\nEvil":"v"}})"),
               "not a valid HTTP field name");
  expect_error(map_http_result_v2(R"({"statusCode":200,"headers":{"":"v"}})"), "field name");
  expect_error(map_http_result_v2(R"({"statusCode":200,"cookies":["a=1\nb=2"]})"), "Set-Cookie");
  expect_error(map_http_result_v2(R"({"statusCode":200,"multiValueHeaders":{"X":["\r"]}})"),
               "not allowed");
}

TEST(ResultV1Test, ResponseObject) {
  auto r = map_http_result_v1(R"({"statusCode":404,"headers":{"X-A":"1"},
      "multiValueHeaders":{"Set-Cookie":["a=1","b=2"]},"body":"missing","cookies":["ignored=1"]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, "missing");
  EXPECT_EQ(values(*r, "x-a"), Strings{"1"});
  EXPECT_EQ(values(*r, "set-cookie"), (Strings{"a=1", "b=2"}));  // cookies is 2.0 only

  r = map_http_result_v1(R"({"statusCode":200,"isBase64Encoded":true,"body":"aGk="})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body, "hi");
}

TEST(ResultV1Test, AnythingElseIsMalformed) {
  for (const char* payload : {R"("Hello from Lambda!")", R"({"body":"x"})", "42", "[]", "{"}) {
    expect_error(map_http_result_v1(payload), "malformed Lambda proxy response");
  }
  expect_error(map_http_result_v1(R"({"statusCode":200,"headers":{"X":"a\nb"}})"),
               "malformed Lambda proxy response");
}

// A later step's event: the result before it as a 2.0 handler returns one, mapping back
// to the same response (a formatter that returns its event unchanged changes nothing).
TEST(ResultEventTest, RoundTripsThroughTheMapping) {
  HttpResult in;
  in.status = 201;
  in.headers = {{"Content-Type", "application/json"},
                {"X-Tag", "a"},
                {"x-tag", "b"},
                {"Set-Cookie", "s=1; Path=/"},
                {"Set-Cookie", "t=2"}};
  in.body = R"({"id":"ord-1","note":"caf\u00e9 \"x\""})";
  std::string event = build_result_event(in, R"({"requestId":"r-1"})");
  json::value v = parse(event);
  EXPECT_EQ(v.at("statusCode").as_int64(), 201);
  EXPECT_EQ(str(v.at("headers"), "x-tag"), "a,b");
  EXPECT_EQ(str(v.at("headers"), "content-type"), "application/json");
  EXPECT_FALSE(v.at("headers").as_object().contains("set-cookie"));
  EXPECT_EQ(v.at("cookies").as_array().size(), 2u);
  EXPECT_EQ(str(v, "body"), in.body);
  EXPECT_FALSE(v.at("isBase64Encoded").as_bool());
  EXPECT_EQ(str(v.at("requestContext"), "requestId"), "r-1");

  auto back = map_http_result_v2(event);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->status, 201);
  EXPECT_EQ(back->body, in.body);
}

TEST(ResultEventTest, BinaryBodiesGoAsBase64AndEmptyContextIsLeftOut) {
  HttpResult in;
  in.headers = {{"content-type", "image/png"}};
  in.body = std::string("\x89PNG\0\xff", 7);
  json::value v = parse(build_result_event(in, ""));
  EXPECT_TRUE(v.at("isBase64Encoded").as_bool());
  EXPECT_EQ(base64_decode(str(v, "body")).value_or(""), in.body);
  EXPECT_FALSE(v.as_object().contains("requestContext"));
  EXPECT_FALSE(v.as_object().contains("cookies"));

  in.headers = {{"content-type", "application/problem+json"}};  // +json stays text
  in.body = R"({"title":"x"})";
  v = parse(build_result_event(in, ""));
  EXPECT_FALSE(v.at("isBase64Encoded").as_bool());
  EXPECT_EQ(str(v, "body"), in.body);
  in.body = "\xff\xfe";  // not UTF-8: base64 whatever the type says
  v = parse(build_result_event(in, ""));
  EXPECT_TRUE(v.at("isBase64Encoded").as_bool());
}

}  // namespace
}  // namespace portico::functions
