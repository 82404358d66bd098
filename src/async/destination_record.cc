#include <boost/json.hpp>

#include "async/async_invoker.h"
#include "core/clock.h"
#include "functions/invocation.h"

namespace portico::async {
namespace {

namespace json = boost::json;

// A payload as JSON where it is JSON (events are checked when accepted; error documents
// come from runtimes), else as a string.
json::value as_json(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return json::value(text);
  return v;
}

}  // namespace

std::string destination_record(const DeadLetter& d, std::string_view region,
                               std::string_view account_id) {
  char when[64];
  format_iso8601_ms(d.failed_ms, when);
  json::object context{
      {"requestId", d.id},
      {"functionArn", functions::function_arn(region, account_id, d.function) + ":$LATEST"},
      {"condition", d.condition},
      {"approximateInvokeCount", d.attempts}};
  json::object record{{"version", "1.0"},
                      {"timestamp", when},
                      {"requestContext", context},
                      {"requestPayload", as_json(d.payload)}};
  if (!d.error_payload.empty() || !d.error_type.empty()) {
    record["responseContext"] = {
        {"statusCode", 200}, {"executedVersion", "$LATEST"}, {"functionError", "Unhandled"}};
    record["responsePayload"] = as_json(d.error_payload);
  }
  return json::serialize(record);
}

}  // namespace portico::async
