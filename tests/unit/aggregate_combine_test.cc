// Aggregation's pure half: how a backend's answer is shaped (target, select, drop,
// rename) and how the answers become one (group, merge with colliding keys, array),
// with the failed backends listed.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "aggregate/combine.h"

namespace portico::aggregate {
namespace {

namespace json = boost::json;

config::Aggregate route(config::Aggregate::Combine combine, std::vector<std::string> names) {
  config::Aggregate a;
  a.combine = combine;
  for (auto& n : names) {
    config::AggregateBackend b;
    b.name = std::move(n);
    a.backends.push_back(std::move(b));
  }
  return a;
}

Outcome ok(std::string_view text) { return Outcome{true, true, json::parse(text), {}}; }
Outcome failed() { return Outcome{true, false, nullptr, "it answered 503"}; }

format::Pointer ptr(std::string_view text) { return *format::parse_pointer(text); }

TEST(AggregateCombineTest, GroupPutsEachAnswerUnderItsNameAndListsTheFailed) {
  auto a = route(config::Aggregate::Combine::kGroup, {"user", "invoices", "recs"});
  json::value v = combine(a, {ok(R"({"id":1})"), ok("[1,2]"), failed()});
  EXPECT_EQ(v, json::parse(R"({"user":{"id":1},"invoices":[1,2],"_partial":["recs"]})"));
  a.partial_field.clear();  // no field: the header alone says so
  v = combine(a, {ok(R"({"id":1})"), ok("[1,2]"), failed()});
  EXPECT_EQ(v, json::parse(R"({"user":{"id":1},"invoices":[1,2]})"));
}

TEST(AggregateCombineTest, MergeLetsTheBackendListedLastWinWhateverAnsweredFirst) {
  auto a = route(config::Aggregate::Combine::kMerge, {"users", "billing", "count"});
  json::value v =
      combine(a, {ok(R"({"id":1,"updated":"a"})"), ok(R"({"total":9,"updated":"b"})"), ok("3")});
  // Colliding "updated": billing's (listed after users); a non-object goes under its name.
  EXPECT_EQ(v, json::parse(R"({"id":1,"updated":"b","total":9,"count":3})"));
  v = combine(a, {ok(R"({"id":1,"updated":"a"})"), failed(), ok("3")});
  EXPECT_EQ(v, json::parse(R"({"id":1,"updated":"a","count":3,"_partial":["billing"]})"));
}

TEST(AggregateCombineTest, ArrayKeepsTheOrderListedWithNullForAFailure) {
  auto a = route(config::Aggregate::Combine::kArray, {"a", "b", "c"});
  EXPECT_EQ(combine(a, {ok("1"), failed(), ok(R"({"x":true})")}),
            json::parse(R"([1,null,{"x":true}])"));
}

TEST(AggregateShapeTest, TargetThenSelectDropAndRename) {
  CallPlan call;
  call.target = ptr("/data");
  call.select = {ptr("/id"), ptr("/profile"), ptr("/email")};
  call.drop = {ptr("/profile/secret")};
  call.rename = {{ptr("/email"), ptr("/contact/email")}, {ptr("/missing"), ptr("/x")}};
  json::value v = shape(call, json::parse(R"({"data":{"id":7,"email":"a@b","pw":"x",
      "profile":{"bio":"hi","secret":"s"}},"meta":{}})"));
  EXPECT_EQ(v, json::parse(R"({"id":7,"profile":{"bio":"hi"},"contact":{"email":"a@b"}})"));
  CallPlan nothing;
  nothing.target = ptr("/absent");
  EXPECT_TRUE(shape(nothing, json::parse(R"({"a":1})")).is_null());
}

}  // namespace
}  // namespace portico::aggregate
