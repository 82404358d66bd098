// The filter chain's mechanics with scripted filters: request side outside in, pause and
// resume, refusals, the response side inside out (head, and the whole body when asked),
// streaming untouched when no filter works on the response, and aborts.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "filters/chain.h"
#include "filters/registry.h"

namespace portico::filters {
namespace {

// What reached the connection.
struct RecordingDownstream final : gateway::Downstream {
  int status = 0;
  std::string headers;
  gateway::BodyMode mode = gateway::BodyMode::kNone;
  uint64_t length = 0;
  std::string body;
  int body_calls = 0;
  bool finished = false, aborted = false, started = false;
  std::string error;

  void want_body(bool) override {}
  std::string& begin_response(int s, std::string_view) override {
    started = true;
    status = s;
    return headers;
  }
  void end_response_head(gateway::BodyMode m, uint64_t len, bool) override {
    mode = m;
    length = len;
  }
  bool send_body(std::string_view data) override {
    ++body_calls;
    body.append(data);
    return true;
  }
  void finish() override { finished = true; }
  void abort() override { aborted = true; }
  bool response_started() const override { return started; }
  void send_error(int s, std::string_view message, std::string_view) override {
    status = s;
    error = message;
    finished = true;
  }
};

// A filter whose every step is scripted by the test, and which logs what it saw.
struct Script {
  Verdict verdict = Verdict::kContinue;
  std::function<void(FilterControl&)> on_request;  // runs before the verdict is returned
  std::function<void(ResponseHead&)> on_head;
  std::function<void(ResponseHead&, std::string&)> on_body;
  bool wants_response = false, wants_body = false;
};

struct Log {
  std::vector<std::string> events;
  FilterControl* paused = nullptr;
};

class ScriptedFilter final : public Filter {
 public:
  ScriptedFilter(std::string name, const Script& script, Log& log)
      : name_(std::move(name)), script_(script), log_(log) {}
  ~ScriptedFilter() override { log_.events.push_back(name_ + ".destroyed"); }
  Verdict on_request(FilterControl& chain) override {
    log_.events.push_back(name_ + ".request");
    if (script_.on_request) script_.on_request(chain);
    if (script_.verdict == Verdict::kPause) log_.paused = &chain;
    return script_.verdict;
  }
  void before_answer(gateway::RequestContext&) override {
    log_.events.push_back(name_ + ".before_answer");
  }
  void on_response_head(gateway::RequestContext&, ResponseHead& head) override {
    log_.events.push_back(name_ + ".head");
    if (script_.on_head) script_.on_head(head);
  }
  void on_response_body(gateway::RequestContext&, ResponseHead& head, std::string& body) override {
    log_.events.push_back(name_ + ".body");
    if (script_.on_body) script_.on_body(head, body);
  }
  void on_abort() override { log_.events.push_back(name_ + ".abort"); }

 private:
  std::string name_;
  const Script& script_;
  Log& log_;
};

class ScriptedFactory final : public FilterFactory {
 public:
  ScriptedFactory(std::string name, const Script& script, Log& log)
      : name_(std::move(name)), script_(script), log_(log) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<Filter> make(const WorkerServices&, gateway::RequestContext&) const override {
    log_.events.push_back(name_ + ".made");
    return std::make_unique<ScriptedFilter>(name_, script_, log_);
  }
  bool wants_response() const override { return script_.wants_response; }
  bool wants_response_body() const override { return script_.wants_body; }

 private:
  std::string name_;
  const Script& script_;
  Log& log_;
};

// The terminal: answers 200 with a body in two pieces, from start().
class PiecesTerminal final : public gateway::Handler {
 public:
  PiecesTerminal(gateway::Downstream& ds, Log& log) : ds_(ds), log_(log) {}
  void start() override {
    log_.events.push_back("terminal.start");
    std::string& h = ds_.begin_response(200);
    h.append("Content-Type: application/json\r\n");
    ds_.end_response_head(gateway::BodyMode::kStream);
    ds_.send_body("{\"a\":");
    ds_.send_body("1}");
    ds_.finish();
  }
  void on_request_body(std::string_view, bool) override {}
  void on_downstream_abort() override { log_.events.push_back("terminal.abort"); }

 private:
  gateway::Downstream& ds_;
  Log& log_;
};

class Terminals final : public TerminalFactory {
 public:
  explicit Terminals(Log& log) : log_(log) {}
  std::unique_ptr<gateway::Handler> make_terminal(gateway::Downstream& ds,
                                                  gateway::RequestContext&) override {
    direct = dynamic_cast<RecordingDownstream*>(&ds) != nullptr;
    return std::make_unique<PiecesTerminal>(ds, log_);
  }
  bool direct = false;  // the terminal got the connection itself, not the chain

 private:
  Log& log_;
};

class ChainTest : public ::testing::Test {
 protected:
  ChainTest() : terminals(log) {
    head.method = "GET";
    ctx.request = &head;
    ctx.request_id = "req-1";
  }
  void add(const std::string& name, const Script& script) {
    route.factories.push_back(std::make_unique<ScriptedFactory>(name, script, log));
    route.wants_response = route.wants_response || script.wants_response || script.wants_body;
    route.wants_response_body = route.wants_response_body || script.wants_body;
  }
  void start() {
    chain = std::make_unique<FilterChain>(ds, ctx, route, services, terminals);
    chain->start();
  }

  Log log;
  http::RequestHead head;
  gateway::RequestContext ctx;
  RouteChain route;
  WorkerServices services;
  RecordingDownstream ds;
  Terminals terminals;
  std::unique_ptr<FilterChain> chain;
};

using Events = std::vector<std::string>;

TEST_F(ChainTest, RequestSideRunsOutsideInThenTheTerminalStreamsDirectly) {
  Script pass;
  add("a", pass);
  add("b", pass);
  start();
  EXPECT_EQ(log.events, (Events{"a.made", "a.request", "b.made", "b.request", "b.before_answer",
                                "a.before_answer", "terminal.start"}));
  EXPECT_TRUE(terminals.direct);  // no filter works on the response: nothing in between
  EXPECT_EQ(ds.status, 200);
  EXPECT_EQ(ds.mode, gateway::BodyMode::kStream);
  EXPECT_EQ(ds.body_calls, 2);
  EXPECT_EQ(ds.body, "{\"a\":1}");
  EXPECT_TRUE(ds.finished);
}

TEST_F(ChainTest, ARefusalStopsTheChainAndOnlyReachedFiltersHaveTheLastWord) {
  Script pass, refuse;
  refuse.verdict = Verdict::kAnswered;
  refuse.on_request = [](FilterControl& c) { c.refuse(403, "no"); };
  add("a", pass);
  add("b", refuse);
  add("c", pass);
  start();
  EXPECT_EQ(log.events, (Events{"a.made", "a.request", "b.made", "b.request", "b.before_answer",
                                "a.before_answer"}));
  EXPECT_EQ(ds.status, 403);
  EXPECT_EQ(ds.error, "no");
}

TEST_F(ChainTest, APausedFilterIsResumedByTheChain) {
  Script pass, wait;
  wait.verdict = Verdict::kPause;
  add("a", wait);
  add("b", pass);
  start();
  EXPECT_EQ(log.events, (Events{"a.made", "a.request"}));
  EXPECT_EQ(ds.status, 0);
  ASSERT_NE(log.paused, nullptr);
  log.paused->resume();
  EXPECT_EQ(log.events, (Events{"a.made", "a.request", "b.made", "b.request", "b.before_answer",
                                "a.before_answer", "terminal.start"}));
  EXPECT_EQ(ds.status, 200);
  log.paused->resume();  // a second resume changes nothing
  EXPECT_EQ(log.events.size(), 7U);
}

TEST_F(ChainTest, APausedFilterMayRefuseLater) {
  Script wait;
  wait.verdict = Verdict::kPause;
  add("a", wait);
  start();
  log.paused->refuse(503, "later", "Retry-After: 1\r\n");
  EXPECT_EQ(ds.status, 503);
  EXPECT_EQ(ds.error, "later");
  log.paused->resume();  // answered: nothing more happens
  EXPECT_EQ(log.events, (Events{"a.made", "a.request", "a.before_answer"}));
}

TEST_F(ChainTest, TheResponseSideRunsInsideOutOnTheHead) {
  Script outer, inner;
  outer.wants_response = inner.wants_response = true;
  std::vector<std::string> seen;
  outer.on_head = [&](ResponseHead& h) {
    seen.push_back("outer saw " + std::to_string(h.status));
    h.headers.append("X-Outer: 1\r\n");
  };
  inner.on_head = [&](ResponseHead& h) {
    seen.push_back("inner saw " + std::to_string(h.status));
    h.status = 201;
  };
  add("outer", outer);
  add("inner", inner);
  start();
  EXPECT_FALSE(terminals.direct);
  EXPECT_EQ(seen, (std::vector<std::string>{"inner saw 200", "outer saw 201"}));
  EXPECT_EQ(ds.status, 201);
  EXPECT_EQ(ds.headers, "Content-Type: application/json\r\nX-Outer: 1\r\n");
  // Head-only filters leave the body streaming, piece by piece.
  EXPECT_EQ(ds.mode, gateway::BodyMode::kStream);
  EXPECT_EQ(ds.body_calls, 2);
  EXPECT_TRUE(ds.finished);
}

TEST_F(ChainTest, ABodyFilterGetsTheWholeBodyAndTheLengthFollowsItsChanges) {
  Script shaper;
  shaper.wants_body = true;
  shaper.on_body = [](ResponseHead& h, std::string& body) {
    EXPECT_EQ(body, "{\"a\":1}");
    body = "{\"data\":" + body + "}";
    h.headers.append("X-Shaped: yes\r\n");
  };
  add("shaper", shaper);
  start();
  EXPECT_EQ(log.events, (Events{"shaper.made", "shaper.request", "shaper.before_answer",
                                "terminal.start", "shaper.head", "shaper.body"}));
  EXPECT_EQ(ds.mode, gateway::BodyMode::kLength);
  EXPECT_EQ(ds.length, ds.body.size());
  EXPECT_EQ(ds.body, "{\"data\":{\"a\":1}}");
  EXPECT_EQ(ds.body_calls, 1);
  EXPECT_NE(ds.headers.find("X-Shaped: yes\r\n"), std::string::npos);
}

TEST_F(ChainTest, RefusalsGoThroughTheResponseSideWhenFiltersWorkOnIt) {
  Script shaper, refuse;
  shaper.wants_body = true;
  std::string seen_body;
  shaper.on_body = [&](ResponseHead& h, std::string& body) {
    seen_body = body;
    h.status = 418;
  };
  refuse.verdict = Verdict::kAnswered;
  refuse.on_request = [](FilterControl& c) {
    c.refuse(401, "who are you", "WWW-Authenticate: Bearer\r\n");
  };
  add("shaper", shaper);
  add("auth", refuse);
  start();
  EXPECT_EQ(seen_body, "{\"error\":\"who are you\",\"request_id\":\"req-1\"}\n");
  EXPECT_EQ(ds.status, 418);
  EXPECT_NE(ds.headers.find("WWW-Authenticate: Bearer\r\n"), std::string::npos);
  EXPECT_EQ(ctx.error, "who are you");
}

TEST_F(ChainTest, AnAbortReachesTheWaitingFiltersAndNothingRunsAfter) {
  Script wait, pass;
  wait.verdict = Verdict::kPause;
  add("a", wait);
  add("b", pass);
  start();
  chain->on_downstream_abort();
  log.paused->resume();
  EXPECT_EQ(log.events, (Events{"a.made", "a.request", "a.abort"}));
  chain.reset();
  EXPECT_EQ(log.events.back(), "a.destroyed");
}

TEST(RouteFilters, RoutesWithoutEdgeSettingsGetNoChain) {
  config::Config cfg;
  cfg.routes.resize(2);
  cfg.routes[1].cors.enabled = true;
  auto filters = build_route_filters(cfg);
  ASSERT_TRUE(filters);
  ASSERT_EQ((*filters)->routes.size(), 2U);
  EXPECT_TRUE((*filters)->routes[0].empty());
  ASSERT_EQ((*filters)->routes[1].factories.size(), 1U);
  EXPECT_EQ((*filters)->routes[1].factories[0]->name(), "cors");
  EXPECT_FALSE((*filters)->routes[1].wants_response);
}

}  // namespace
}  // namespace portico::filters
