// The router: patterns, precedence, methods, hosts, conflicts, and a large table.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/router.h"

namespace portico::http {
namespace {

class RouterTest : public ::testing::Test {
 protected:
  int add(std::string_view host, std::vector<std::string> methods, std::string_view path) {
    auto p = parse_path_pattern(path);
    EXPECT_TRUE(p.ok()) << path;
    int id = next_++;
    auto r = router_.add(host, methods, *p, id);
    EXPECT_TRUE(r.ok()) << path << ": " << (r.ok() ? "" : r.error().message);
    return id;
  }
  // Route id, or -405 / -404.
  int match(std::string_view method, std::string_view path, std::string_view host = "h") {
    if (router_.match(host, method, path, m_)) return m_.route;
    return m_.method_not_allowed ? -405 : -404;
  }
  std::vector<std::string> params() const {
    return std::vector<std::string>(m_.params, m_.params + m_.param_count);
  }

  Router router_;
  Router::Match m_;
  int next_ = 0;
};

TEST_F(RouterTest, LiteralsAndParams) {
  int list = add("", {}, "/products");
  int one = add("", {}, "/products/{id}");
  int item = add("", {}, "/products/{id}/items/{item}");
  int root = add("", {}, "/");
  EXPECT_EQ(match("GET", "/products"), list);
  EXPECT_EQ(match("GET", "/products/42"), one);
  EXPECT_EQ(params(), std::vector<std::string>{"42"});
  EXPECT_EQ(match("GET", "/products/42/items/7"), item);
  EXPECT_EQ(params(), (std::vector<std::string>{"42", "7"}));
  EXPECT_EQ(match("GET", "/"), root);
  EXPECT_EQ(match("GET", "/products/"), -404);  // {id} never matches an empty segment
  EXPECT_EQ(match("GET", "/products/42/"), -404);
  EXPECT_EQ(match("GET", "/product"), -404);
}

TEST_F(RouterTest, CatchAll) {
  int files = add("", {}, "/files/{path...}");
  EXPECT_EQ(match("GET", "/files/"), files);
  EXPECT_EQ(params(), std::vector<std::string>{""});
  EXPECT_EQ(match("GET", "/files/a/b/c.txt"), files);
  EXPECT_EQ(params(), std::vector<std::string>{"a/b/c.txt"});
  EXPECT_EQ(match("GET", "/files"), -404);
  int all = add("", {}, "/{rest...}");
  EXPECT_EQ(match("GET", "/anything/at/all"), all);
  EXPECT_EQ(match("GET", "/files/x"), files);  // the more specific prefix still wins
}

TEST_F(RouterTest, LiteralBeatsParamBeatsCatchAllWithBacktracking) {
  int lit = add("", {}, "/a/b/d");
  int param = add("", {}, "/a/{x}/c");
  int any = add("", {}, "/a/{rest...}");
  EXPECT_EQ(match("GET", "/a/b/d"), lit);
  EXPECT_EQ(match("GET", "/a/b/c"), param);  // the literal branch dead-ends at "c"
  EXPECT_EQ(params(), std::vector<std::string>{"b"});
  EXPECT_EQ(match("GET", "/a/b/e"), any);
  EXPECT_EQ(params(), std::vector<std::string>{"b/e"});
  EXPECT_EQ(match("GET", "/a/z/c"), param);
}

TEST_F(RouterTest, Methods) {
  int get = add("", {"GET"}, "/r");
  int post = add("", {"POST"}, "/r");
  int other = add("", {}, "/r");
  EXPECT_EQ(match("GET", "/r"), get);
  EXPECT_EQ(match("POST", "/r"), post);
  EXPECT_EQ(match("DELETE", "/r"), other);  // explicit methods first, then "any"
  EXPECT_EQ(match("HEAD", "/r"), get);      // HEAD falls back to GET
  EXPECT_EQ(match("PURGE", "/r"), other);
}

TEST_F(RouterTest, HeadRouteBeatsGetFallback) {
  add("", {"GET"}, "/r");
  int head = add("", {"HEAD"}, "/r");
  EXPECT_EQ(match("HEAD", "/r"), head);
}

TEST_F(RouterTest, CustomMethods) {
  int purge = add("", {"PURGE"}, "/cache/{key}");
  EXPECT_EQ(match("PURGE", "/cache/x"), purge);
  EXPECT_EQ(match("GET", "/cache/x"), -405);
  EXPECT_EQ(m_.allow, "PURGE");
}

TEST_F(RouterTest, MethodNotAllowedListsAllowedMethods) {
  add("", {"GET"}, "/r");
  add("", {"POST", "PUT"}, "/r");
  EXPECT_EQ(match("DELETE", "/r"), -405);
  EXPECT_EQ(m_.allow, "GET, HEAD, POST, PUT");
  EXPECT_EQ(match("DELETE", "/elsewhere"), -404);
}

TEST_F(RouterTest, MethodMismatchKeepsSearchingOtherBranches) {
  add("", {"GET"}, "/a/b");
  int post = add("", {"POST"}, "/a/{x}");
  EXPECT_EQ(match("POST", "/a/b"), post);
}

TEST_F(RouterTest, Hosts) {
  int exact = add("api.example.com", {}, "/x");
  int wild = add("*.example.com", {}, "/x");
  int deeper = add("*.eu.example.com", {}, "/x");
  int any = add("", {}, "/x");
  int only_any = add("", {}, "/y");
  EXPECT_EQ(match("GET", "/x", "api.example.com"), exact);
  EXPECT_EQ(match("GET", "/x", "API.Example.COM:8080"), exact);
  EXPECT_EQ(match("GET", "/x", "www.example.com"), wild);
  EXPECT_EQ(match("GET", "/x", "a.eu.example.com"), deeper);  // longest suffix first
  EXPECT_EQ(match("GET", "/x", "example.com"), any);          // "*.example.com" needs a label
  EXPECT_EQ(match("GET", "/x", "other.org"), any);
  EXPECT_EQ(match("GET", "/y", "api.example.com"), only_any);  // falls through to any host
  EXPECT_EQ(match("GET", "/x", "[::1]:8080"), any);
}

TEST_F(RouterTest, ConflictsAreRejected) {
  add("", {"GET"}, "/a/{id}");
  auto p = parse_path_pattern("/a/{other}");
  auto r = router_.add("", {"GET", "PUT"}, *p, 99);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "conflicts with route #1 (same host, path shape and method)");
  EXPECT_TRUE(router_.add("", {"PUT"}, *p, 99).ok());             // other methods are fine
  EXPECT_TRUE(router_.add("h.example", {"GET"}, *p, 100).ok());    // so is another host
  add("", {}, "/b");
  EXPECT_FALSE(router_.add("", {}, *parse_path_pattern("/b"), 101).ok());  // two "any" routes
}

TEST_F(RouterTest, TenThousandRoutes) {
  for (int i = 0; i < 5000; ++i) {
    add("", {"GET"}, "/api/v1/r" + std::to_string(i) + "/{id}");
    add("", {"GET"}, "/api/v1/r" + std::to_string(i) + "/{id}/items/{item}");
  }
  EXPECT_EQ(router_.size(), 10000u);
  EXPECT_EQ(match("GET", "/api/v1/r0/1"), 0);
  EXPECT_EQ(match("GET", "/api/v1/r4999/5/items/6"), 9999);
  EXPECT_EQ(params(), (std::vector<std::string>{"5", "6"}));
  EXPECT_EQ(match("GET", "/api/v1/r2500/x"), 5000);
  EXPECT_EQ(match("GET", "/api/v1/r5000/x"), -404);
}

TEST(PathPattern, Errors) {
  auto err = [](std::string_view p) {
    auto r = parse_path_pattern(p);
    return r.ok() ? std::string("ok") : r.error().message;
  };
  EXPECT_EQ(err("no-slash"), "path must start with '/'");
  EXPECT_EQ(err("/a/{rest...}/b"), "catch-all {rest...} must be the last segment");
  EXPECT_EQ(err("/a/{id}/{id}"), "parameter {id} appears twice");
  EXPECT_EQ(err("/a/x{id}"), "segment \"x{id}\": braces must enclose a whole segment");
  EXPECT_EQ(err("/a/{id"), "segment \"{id\": a parameter is written {name}");
  EXPECT_EQ(err("/a/{}"), "segment \"{}\": a parameter is written {name}");
  EXPECT_EQ(err("/a/{b-c}"), "parameter name \"b-c\" may only use letters, digits and '_'");
  EXPECT_EQ(err("/a/{b}/{c...}"), "ok");
  auto p = parse_path_pattern("/a/{b}/x/{c...}");
  EXPECT_EQ(p->param_names(), (std::vector<std::string>{"b", "c"}));
}

}  // namespace
}  // namespace portico::http
