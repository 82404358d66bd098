// Standard reason phrases (RFC 9110 section 15).
#pragma once

#include <string_view>

namespace portico::http {

std::string_view reason_phrase(int status);

}  // namespace portico::http
