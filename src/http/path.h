// Request path normalisation before routing (RFC 3986 6.2.2): percent-encoded unreserved
// characters are decoded, other escapes get upper-case hex, and "." / ".." segments are
// removed. Routing on the normalised path keeps "/admin" from being reached as
// "/%61dmin" or "/public/../admin"; the normalised path is what the upstream receives.
#pragma once

#include <string>
#include <string_view>

namespace portico::http {

// Returns nullptr on success with `out` holding the normalised path (or `raw` itself in
// `result` when nothing needed changing), else a static error message.
const char* normalize_path(std::string_view raw, std::string& scratch, std::string_view& result);

}  // namespace portico::http
