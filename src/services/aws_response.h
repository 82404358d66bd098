// Answers in AWS's JSON shapes for the services listener: the status, the
// `x-amzn-RequestId` header every AWS answer carries, and errors as AWS's REST-JSON
// services send them (`x-amzn-ErrorType: Code` and a JSON body with the message),
// which is where the AWS SDKs and the CLI read the error code.
#pragma once

#include <string>
#include <string_view>

#include "gateway/handler.h"

namespace portico::services {

// extra_headers: preformatted lines ("Name: value\r\n").
void send_json(gateway::Downstream& ds, int status, std::string_view request_id,
               std::string_view body, std::string_view extra_headers = {});

// Lambda's error body: {"Type": "User", "message": ...} (plus "Reason" when given).
void send_error(gateway::Downstream& ds, int status, std::string_view request_id,
                std::string_view code, std::string_view message, std::string_view reason = {});

}  // namespace portico::services
