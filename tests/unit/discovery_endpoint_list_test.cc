// Endpoint documents from files and etcd values: every accepted shape, and errors that
// name what is wrong.
#include <gtest/gtest.h>

#include "discovery/endpoint_list.h"

namespace portico::discovery {
namespace {

std::vector<std::pair<std::string, uint32_t>> parse(const std::string& text) {
  auto r = parse_endpoint_list(text);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  std::vector<std::pair<std::string, uint32_t>> out;
  if (r) {
    for (const auto& e : *r) out.emplace_back(e.text, e.weight);
  }
  return out;
}

std::string error(const std::string& text) {
  auto r = parse_endpoint_list(text);
  EXPECT_FALSE(r) << text;
  return r ? "" : r.error().message;
}

using List = std::vector<std::pair<std::string, uint32_t>>;

TEST(EndpointList, EveryShape) {
  EXPECT_EQ(parse("- 10.0.0.1:80\n- 10.0.0.2:81\n"), (List{{"10.0.0.1:80", 1}, {"10.0.0.2:81", 1}}));
  EXPECT_EQ(parse(R"(["10.0.0.1:80", {"address": "10.0.0.2:80", "weight": 3}])"),
            (List{{"10.0.0.1:80", 1}, {"10.0.0.2:80", 3}}));
  EXPECT_EQ(parse("endpoints:\n  - {host: 10.0.0.3, port: 90, weight: 2}\n"), (List{{"10.0.0.3:90", 2}}));
  EXPECT_EQ(parse(R"({"nodes": {"10.0.0.1:80": 1, "10.0.0.2:80": 5}})"), (List{{"10.0.0.1:80", 1}, {"10.0.0.2:80", 5}}));
  EXPECT_EQ(parse(R"({"nodes": [{"host": "10.0.0.1", "port": 80, "weight": 2}]})"), (List{{"10.0.0.1:80", 2}}));
  EXPECT_EQ(parse("10.0.0.9:8080"), (List{{"10.0.0.9:8080", 1}}));
  EXPECT_EQ(parse(R"({"address": "[::1]:80"})"), (List{{"[::1]:80", 1}}));
  EXPECT_EQ(parse(R"({"host": "::1", "port": 81})"), (List{{"[::1]:81", 1}}));
  EXPECT_EQ(parse("localhost:9000"), (List{{"127.0.0.1:9000", 1}}));
  EXPECT_EQ(parse(""), List{});
  EXPECT_EQ(parse("[]"), List{});
}

TEST(EndpointList, ErrorsSayWhatIsWrong) {
  EXPECT_NE(error("- db.internal:5432\n").find("host names need dns discovery"), std::string::npos);
  EXPECT_NE(error("- 10.0.0.1:80\n- 10.0.0.2:0\n").find("item 1: \"10.0.0.2:0\": the port must not be 0"), std::string::npos);
  EXPECT_NE(error(R"([{"address": "10.0.0.1:80", "weight": 0}])").find("weight must be from 1 to 10000"), std::string::npos);
  EXPECT_NE(error(R"([{"addr": "10.0.0.1:80"}])").find("expected {address: host:port} or {host, port}"), std::string::npos);
  EXPECT_NE(error("[unclosed").find("line 1"), std::string::npos);
}

}  // namespace
}  // namespace portico::discovery
