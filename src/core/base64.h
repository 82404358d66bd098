// Base64 (RFC 4648 section 4) and base64url (section 5) encoding and strict decoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace portico {

std::string base64_encode(std::string_view data);
std::string base64url_encode(std::string_view data);  // no padding (as JOSE uses it)

// nullopt on a character outside the alphabet, bad padding or a bad length.
std::optional<std::string> base64_decode(std::string_view text);
std::optional<std::string> base64url_decode(std::string_view text);  // padding optional

}  // namespace portico
