#include "functions/invocation.h"

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::functions {

std::string error_document(std::string_view type, std::string_view message) {
  return fmt::format(R"({{"errorType":{},"errorMessage":{}}})", json_quote(type),
                     json_quote(message));
}

InvocationResult failure(InvocationResult::Status status, std::string_view request_id,
                         std::string_view type, std::string_view what) {
  InvocationResult r;
  r.status = status;
  r.request_id = std::string(request_id);
  r.error_type = std::string(type);
  r.message = fmt::format("RequestId: {} Error: {}", request_id, what);
  r.payload = error_document(r.error_type, r.message);
  return r;
}

InvocationResult refusal(InvocationResult::Status status, std::string type, std::string message) {
  InvocationResult r;
  r.status = status;
  r.error_type = std::move(type);
  r.message = std::move(message);
  return r;
}

std::string function_arn(std::string_view region, std::string_view account_id,
                         std::string_view name) {
  return fmt::format("arn:aws:lambda:{}:{}:function:{}", region, account_id, name);
}

}  // namespace portico::functions
