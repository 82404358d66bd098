// The formatting library: JSON Pointer edits, templates (names, types kept, text,
// alternatives, literals, errors), and jq programs (variables, errors, one state per
// thread on several threads at once).
#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <boost/json.hpp>

#include "config/config.h"
#include "format/jq.h"
#include "format/json_edit.h"
#include "format/template.h"
#include "gateway/principal.h"
#include "http/parser.h"

namespace portico::format {
namespace {

namespace json = boost::json;

Pointer ptr(const char* text) {
  auto p = parse_pointer(text);
  EXPECT_TRUE(p) << text;
  return *p;
}

TEST(JsonEdit, Pointers) {
  EXPECT_TRUE(parse_pointer(""));
  EXPECT_EQ(ptr("/a~1b/~0c/0").tokens, (std::vector<std::string>{"a/b", "~c", "0"}));
  EXPECT_FALSE(parse_pointer("a"));
  EXPECT_FALSE(parse_pointer("/a~2"));
}

TEST(JsonEdit, FindEraseAndPut) {
  json::value doc = json::parse(R"({"a":{"b":[10,20,30]},"c":1})");
  ASSERT_NE(find(doc, ptr("/a/b/1")), nullptr);
  EXPECT_EQ(*find(doc, ptr("/a/b/1")), 20);
  EXPECT_EQ(find(doc, ptr("/a/b/3")), nullptr);
  EXPECT_EQ(find(doc, ptr("/a/b/01")), nullptr) << "no leading zeros";
  EXPECT_EQ(find(doc, ptr("/c/x")), nullptr);
  erase(doc, ptr("/a/b/0"));
  erase(doc, ptr("/nothing/here"));
  EXPECT_TRUE(put(doc, ptr("/a/b/-"), 40));
  EXPECT_TRUE(put(doc, ptr("/d/e/f"), "new"));
  EXPECT_FALSE(put(doc, ptr("/c/x"), 1)) << "through a number";
  EXPECT_FALSE(put(doc, ptr("/a/b/9"), 1)) << "past the end of an array";
  EXPECT_EQ(json::serialize(doc), R"({"a":{"b":[20,30,40]},"c":1,"d":{"e":{"f":"new"}}})");
  erase(doc, ptr(""));
  EXPECT_TRUE(doc.is_null());
}

TEST(JsonEdit, SelectKeepsPlaces) {
  json::value doc = json::parse(R"({"id":1,"user":{"name":"a","pw":"x"},"x":2})");
  EXPECT_EQ(json::serialize(select(doc, {ptr("/id"), ptr("/user/name"), ptr("/missing")})),
            R"({"id":1,"user":{"name":"a"}})");
  EXPECT_EQ(json::serialize(select(doc, {ptr("/missing")})), "{}");
}

// A request with a route, parameters, a query, headers and a principal.
struct Fixture {
  http::RequestHead req;
  config::Route route;
  gateway::RequestContext ctx;
  Fixture() {
    req.method = "GET";
    req.query = "limit=10&tag=a&tag=b&name=J%C3%BCrgen+K";
    req.headers = {{"X-Client", "web"}, {"x-client", "v2"}, {"Accept", "*/*"}};
    route.name = "GET /users/{id}";
    route.param_names = {"id"};
    ctx.request = &req;
    ctx.route = &route;
    ctx.path = "/users/42";
    ctx.request_id = "req-1";
    ctx.match.param_count = 1;
    ctx.match.params[0] = "42";
    auto p = std::make_shared<gateway::Principal>();
    p->subject = "user-7";
    p->consumer = "acme";
    p->groups = {"partners"};
    p->claims = json::parse(R"({"tier":"gold","org":{"id":9}})").as_object();
    ctx.principal = p;
  }
};

std::string render(const char* template_json, const Scope& scope) {
  auto t = Template::compile_json(template_json);
  EXPECT_TRUE(t) << (t ? "" : t.error().message);
  return t ? json::serialize(t->render(scope)) : "";
}

TEST(Template, NamesKeepTheirTypes) {
  Fixture f;
  json::value body = json::parse(R"({"items":[{"id":3}],"total":12.5,"note":null})");
  Scope scope{&f.ctx, &body, 200};
  EXPECT_EQ(render(R"({"data":"${body}","n":"${body.total}","first":"${body.items.0.id}"})", scope),
            R"({"data":{"items":[{"id":3}],"total":1.25E1,"note":null},"n":1.25E1,"first":3})");
  EXPECT_EQ(render(R"(["${status}","${reason}","${request_id}","${method}","${path}","${route}"])",
                   scope),
            R"([200,"OK","req-1","GET","/users/42","GET /users/{id}"])");
  EXPECT_EQ(render(R"(["${param.id}","${query.limit}","${query.tag}","${query.name}"])", scope),
            R"(["42","10","a","Jürgen K"])");
  EXPECT_EQ(render(R"(["${header.x-client}","${header.missing}"])", scope), R"(["web, v2",null])");
  EXPECT_EQ(render(R"(["${subject}","${consumer}","${groups}","${claims.tier}","${claims.org.id}"])",
                   scope),
            R"(["user-7","acme",["partners"],"gold",9])");
  EXPECT_EQ(render(R"({"constant":[1,true,"plain"]})", scope), R"({"constant":[1,true,"plain"]})");
}

TEST(Template, TextAlternativesAndLiterals) {
  Fixture f;
  json::value body = json::parse(R"({"err":{"detail":"down"},"n":3})");
  Scope scope{&f.ctx, &body, 503};
  EXPECT_EQ(render(R"("${body.message|body.err.detail|reason}")", scope), R"("down")");
  EXPECT_EQ(render(R"("${body.message|'none'}")", scope), R"("none")");
  EXPECT_EQ(render(R"("${body.message|reason}")", scope), R"("Service Unavailable")");
  EXPECT_EQ(render(R"("n=${body.n}, err=${body.err}, gone=${body.gone}.")", scope),
            R"("n=3, err={\"detail\":\"down\"}, gone=.")");
  EXPECT_EQ(render(R"("costs $5 and $${literal}")", scope), R"("costs $5 and ${literal}")");
  Scope no_request{nullptr, nullptr, 0};
  EXPECT_EQ(render(R"(["${request_id}","${subject}","${body}"])", no_request), "[null,null,null]");
}

TEST(Template, Errors) {
  EXPECT_FALSE(Template::compile_json(R"("${bodyy}")"));
  EXPECT_FALSE(Template::compile_json(R"("${param}")"));
  EXPECT_FALSE(Template::compile_json(R"("${status.x}")"));
  EXPECT_FALSE(Template::compile_json(R"("${body..x}")"));
  EXPECT_FALSE(Template::compile_json(R"("${body")"));
  EXPECT_FALSE(Template::compile_json("{not json"));
  auto e = Template::compile_json(R"({"a":["${nope}"]})");
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("unknown name \"nope\""), std::string::npos);
}

TEST(Jq, VariablesAndOutput) {
  auto p = JqProgram::compile("{ids: [.items[].id], s: $status, who: $principal.consumer, "
                              "q: $request.query.limit}");
  ASSERT_TRUE(p) << p.error().message;
  auto out = (*p)->run(R"({"body":{"items":[{"id":1},{"id":2}]},"status":200,)"
                       R"("request":{"query":{"limit":"5"}},"principal":{"consumer":"acme"}})");
  ASSERT_TRUE(out) << out.error().message;
  EXPECT_EQ(*out, R"({"ids":[1,2],"s":200,"who":"acme","q":"5"})");
}

TEST(Jq, Errors) {
  auto bad = JqProgram::compile(".items | map(.");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("syntax error"), std::string::npos) << bad.error().message;
  auto p = JqProgram::compile(".items[]");
  ASSERT_TRUE(p);
  auto out = (*p)->run(R"({"body":{"items":null},"status":200,"request":{},"principal":null})");
  ASSERT_FALSE(out);
  EXPECT_NE(out.error().message.find("Cannot iterate over null"), std::string::npos);
  auto none = JqProgram::compile("empty");
  ASSERT_TRUE(none);
  EXPECT_FALSE((*none)->run(R"({"body":1})"));
  auto raised = JqProgram::compile(R"(error("custom"))");
  ASSERT_TRUE(raised);
  auto r = (*raised)->run(R"({"body":1})");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("custom"), std::string::npos);
  // The state is usable again after an error.
  auto ok = (*p)->run(R"({"body":{"items":[7]}})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, "7");
}

// One program run by several threads at once: each run takes its own state.
TEST(Jq, SeveralThreadsAtOnce) {
  auto p = JqProgram::compile("[.xs[] * 2] | add");
  ASSERT_TRUE(p);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 300; ++i) {
        int a = t * 1000 + i;
        auto out = (*p)->run("{\"body\":{\"xs\":[" + std::to_string(a) + ",1]}}");
        if (!out || *out != std::to_string(a * 2 + 2)) ++wrong;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
}

}  // namespace
}  // namespace portico::format
