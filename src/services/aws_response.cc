#include "services/aws_response.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::services {

void send_json(gateway::Downstream& ds, int status, std::string_view request_id,
               std::string_view body, std::string_view extra_headers) {
  std::string& h = ds.begin_response(status);
  h += "Content-Type: application/json\r\nx-amzn-RequestId: ";
  h += request_id;
  h += "\r\n";
  h += extra_headers;
  ds.end_response_head(gateway::BodyMode::kLength, body.size());
  ds.send_body(body);
  ds.finish();
}

void send_error(gateway::Downstream& ds, int status, std::string_view request_id,
                std::string_view code, std::string_view message, std::string_view reason) {
  std::string body = R"({"Type":"User","message":)" + json_quote(message);
  if (!reason.empty()) body += R"(,"Reason":)" + json_quote(reason);
  body += "}";
  send_json(ds, status, request_id, body, fmt::format("x-amzn-ErrorType: {}\r\n", code));
}

}  // namespace portico::services
