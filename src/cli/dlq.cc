#include "cli/dlq.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "aws/sigv4.h"
#include "cli/admin_client.h"
#include "core/strings.h"

namespace portico::cli {
namespace {

namespace json = boost::json;

constexpr const char* kUsage =
    "usage: portico dlq list|replay|purge [FUNCTION] [--id REQUEST_ID] [--limit N] [--json]\n"
    "                   [-c FILE | --admin HOST:PORT]\n";

std::string text(const json::value* v) {
  if (v == nullptr) return "";
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

// One line per dead letter: id, function, why, attempts, when, the last error.
void print_table(const json::array& letters) {
  if (letters.empty()) {
    fmt::print("no dead letters\n");
    return;
  }
  fmt::print("{:<36}  {:<16}  {:<16}  {:>8}  {:<24}  {}\n", "REQUEST ID", "FUNCTION", "CONDITION",
             "ATTEMPTS", "FAILED AT", "ERROR");
  for (const auto& l : letters) {
    if (!l.is_object()) continue;
    const json::object& o = l.as_object();
    const json::object* ctx = o.if_contains("requestContext") != nullptr
                                  ? o.at("requestContext").if_object()
                                  : nullptr;
    std::string arn = ctx != nullptr ? text(ctx->if_contains("functionArn")) : "";
    // arn:aws:lambda:REGION:ACCOUNT:function:NAME:$LATEST
    std::string function = arn;
    if (size_t p = arn.find(":function:"); p != std::string::npos) {
      function = arn.substr(p + 10);
      if (size_t q = function.find(':'); q != std::string::npos) function.resize(q);
    }
    std::string error;
    if (const json::value* r = o.if_contains("responsePayload"); r != nullptr && r->is_object()) {
      error = text(r->as_object().if_contains("errorType"));
      std::string message = text(r->as_object().if_contains("errorMessage"));
      if (!message.empty()) error += (error.empty() ? "" : ": ") + message;
    }
    fmt::print("{:<36}  {:<16}  {:<16}  {:>8}  {:<24}  {}\n",
               ctx != nullptr ? text(ctx->if_contains("requestId")) : "", function,
               ctx != nullptr ? text(ctx->if_contains("condition")) : "",
               ctx != nullptr ? text(ctx->if_contains("approximateInvokeCount")) : "",
               text(o.if_contains("timestamp")), error);
  }
}

}  // namespace

int dlq_command(const std::vector<std::string>& args) {
  AdminTarget target;
  std::string action, function, id, limit;
  bool raw = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (target.take_option(args, i)) continue;
    if (a == "--json") {
      raw = true;
    } else if (a == "--id" && i + 1 < args.size()) {
      id = args[++i];
    } else if (a == "--limit" && i + 1 < args.size()) {
      limit = args[++i];
    } else if (action.empty() && (a == "list" || a == "replay" || a == "purge")) {
      action = a;
    } else if (!action.empty() && function.empty() && !a.empty() && a[0] != '-') {
      function = a;
    } else {
      fmt::print(stderr, "portico dlq: unexpected \"{}\"\n{}", a, kUsage);
      return 2;
    }
  }
  if (action.empty()) {
    fmt::print(stderr, "{}", kUsage);
    return 2;
  }
  auto admin = target.resolve("dlq");
  if (!admin) return 2;
  std::string query;
  auto add = [&](const char* key, const std::string& value) {
    if (value.empty()) return;
    query += (query.empty() ? "?" : "&") + std::string(key) + "=" + aws::uri_encode(value, false);
  };
  add("function", function);
  add("id", id);
  add("limit", limit);
  const char* method = action == "list" ? "GET" : action == "replay" ? "POST" : "DELETE";
  std::string path = action == "replay" ? "/dead-letters/replay" : "/dead-letters";
  auto r = admin_request(*admin, "dlq", method, path + query);
  if (!r) return 1;
  if (r->status() != 200 || raw) {
    fmt::print(r->status() == 200 ? stdout : stderr, "{}", r->body);
    return r->status() == 200 ? 0 : 1;
  }
  boost::system::error_code ec;
  json::value doc = json::parse(r->body, ec);
  if (ec || !doc.is_object()) {
    fmt::print(stderr, "portico dlq: the admin listener's answer is not JSON: {}\n", r->body);
    return 1;
  }
  const json::object& o = doc.as_object();
  if (action == "list") {
    const json::value* letters = o.if_contains("DeadLetters");
    print_table(letters != nullptr && letters->is_array() ? letters->as_array() : json::array{});
  } else if (action == "replay") {
    const json::value* replayed = o.if_contains("Replayed");
    size_t n = replayed != nullptr && replayed->is_array() ? replayed->as_array().size() : 0;
    if (n > 0) {
      for (const auto& e : replayed->as_array()) {
        const json::object& x = e.as_object();
        fmt::print("{} {} -> {}\n", text(x.if_contains("function")),
                   text(x.if_contains("previousRequestId")), text(x.if_contains("requestId")));
      }
    }
    fmt::print("{} event{} replayed\n", n, n == 1 ? "" : "s");
  } else {
    fmt::print("{} dead letter{} purged\n", text(o.if_contains("Purged")),
               text(o.if_contains("Purged")) == "1" ? "" : "s");
  }
  return 0;
}

}  // namespace portico::cli
