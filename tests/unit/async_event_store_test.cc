#include <filesystem>

#include <gtest/gtest.h>

#include "async/async_invoker.h"
#include "async/event_store.h"

namespace portico::async {
namespace {

std::unique_ptr<EventStore> open_store(const std::string& path = ":memory:") {
  auto s = EventStore::open(path);
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  return std::move(*s);
}

PendingEvent event(std::string id, std::string fn, int64_t received) {
  return PendingEvent{std::move(id), std::move(fn), received, received, 0};
}

TEST(EventStore, StoresReschedulesAndRemovesEvents) {
  auto s = open_store();
  ASSERT_TRUE(s->begin());
  ASSERT_TRUE(s->insert(event("b", "f", 20), R"({"n":2})"));
  ASSERT_TRUE(s->insert(event("a", "f", 10), R"({"n":1})"));
  ASSERT_TRUE(s->commit());
  auto all = s->pending();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "a");  // oldest first
  EXPECT_EQ(*s->payload("b").value(), R"({"n":2})");
  EXPECT_FALSE(s->payload("zz").value().has_value());

  ASSERT_TRUE(s->reschedule("a", 2, 500));
  all = s->pending();
  EXPECT_EQ((*all)[0].attempts, 2u);
  EXPECT_EQ((*all)[0].due_ms, 500);
  ASSERT_TRUE(s->remove("a"));
  EXPECT_EQ(s->pending()->size(), 1u);
}

TEST(EventStore, DuplicateIdsAreRefused) {
  auto s = open_store();
  ASSERT_TRUE(s->insert(event("a", "f", 1), "{}"));
  EXPECT_FALSE(s->insert(event("a", "f", 2), "{}"));
}

TEST(EventStore, DeadLettersAreFilteredTakenAndKeepThePayload) {
  auto s = open_store();
  for (auto [id, fn] : {std::pair{"1", "f"}, {"2", "g"}, {"3", "f"}}) {
    ASSERT_TRUE(s->insert(event(id, fn, 1), std::string(R"({"id":")") + id + "\"}"));
    PendingEvent e = event(id, fn, 1);
    e.attempts = 3;
    ASSERT_TRUE(s->dead_letter(e, 99, "RetriesExhausted", "Boom", R"({"errorType":"Boom"})"));
  }
  EXPECT_TRUE(s->pending()->empty());  // moved, not copied
  auto f = s->dead_letters({"f", ""}, 100);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->size(), 2u);
  EXPECT_EQ((*f)[0].payload, R"({"id":"1"})");
  EXPECT_EQ((*f)[0].attempts, 3u);
  EXPECT_EQ((*f)[0].condition, "RetriesExhausted");
  EXPECT_EQ((*f)[0].error_type, "Boom");
  EXPECT_EQ(s->dead_letters({}, 1)->size(), 1u);  // the limit
  EXPECT_EQ(s->dead_letters({"", "2"}, 100)->at(0).function, "g");

  auto taken = s->take_dead_letters({"", "3"});
  ASSERT_TRUE(taken);
  ASSERT_EQ(taken->size(), 1u);
  EXPECT_EQ(s->dead_letters({}, 100)->size(), 2u);
  EXPECT_EQ(s->take_dead_letters({})->size(), 2u);
  EXPECT_TRUE(s->dead_letters({}, 100)->empty());
}

TEST(EventStore, SurvivesReopening) {
  std::string dir = testing::TempDir() + "portico-event-store";
  std::filesystem::remove_all(dir);
  std::string path = dir + "/sub/events.sqlite3";  // the directory is created
  {
    auto s = open_store(path);
    ASSERT_TRUE(s->insert(event("kept", "f", 5), "{}"));
  }
  auto s = open_store(path);
  auto all = s->pending();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].id, "kept");
  std::filesystem::remove_all(dir);
}

TEST(EventStore, AnUnwritablePathIsAClearError) {
  auto s = EventStore::open("/proc/portico-cannot/events.sqlite3");
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find("/proc/portico-cannot"), std::string::npos) << s.error().message;
}

TEST(DestinationRecord, HasLambdasShape) {
  DeadLetter d{"id-1", "orders", R"({"a":1})", 0, 1764633600000, 3, "RetriesExhausted", "Boom",
               R"({"errorType":"Boom","errorMessage":"no"})"};
  std::string r = destination_record(d, "eu-west-1", "123456789012");
  EXPECT_EQ(r,
            R"({"version":"1.0","timestamp":"2025-12-02T00:00:00.000Z","requestContext":{"requestId":"id-1",)"
            R"("functionArn":"arn:aws:lambda:eu-west-1:123456789012:function:orders:$LATEST",)"
            R"("condition":"RetriesExhausted","approximateInvokeCount":3},"requestPayload":{"a":1},)"
            R"("responseContext":{"statusCode":200,"executedVersion":"$LATEST","functionError":"Unhandled"},)"
            R"("responsePayload":{"errorType":"Boom","errorMessage":"no"}})");
  d.error_type.clear();
  d.error_payload.clear();
  d.condition = "EventAgeExceeded";
  EXPECT_EQ(destination_record(d, "eu-west-1", "1").find("responsePayload"), std::string::npos);
}

}  // namespace
}  // namespace portico::async
