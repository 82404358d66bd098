#include "gateway/handler.h"

#include "core/strings.h"

namespace portico::gateway {

std::string error_body(std::string_view message, std::string_view request_id) {
  std::string body = "{\"error\":";
  body += json_quote(message);
  body += ",\"request_id\":";
  body += json_quote(request_id);
  body += "}\n";
  return body;
}

void write_error(Downstream& ds, int status, std::string_view message, std::string_view request_id,
                 std::string_view extra_headers) {
  write_json(ds, status, error_body(message, request_id), extra_headers);
}

void write_json(Downstream& ds, int status, std::string_view body, std::string_view extra_headers) {
  std::string& h = ds.begin_response(status, {});
  h.append("Content-Type: application/json\r\n");
  h.append(extra_headers);
  ds.end_response_head(BodyMode::kLength, body.size(), false);
  ds.send_body(body);
  ds.finish();
}

}  // namespace portico::gateway
