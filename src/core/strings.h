// Small string helpers shared across modules: ASCII case folding, number parsing,
// JSON escaping and "did you mean" suggestions for config errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico {

inline char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool iequals(std::string_view a, std::string_view b);
std::string to_lower(std::string_view s);
std::string_view trim(std::string_view s);  // spaces and tabs only (HTTP OWS)

// Strict unsigned decimal: digits only, no sign, no whitespace, no overflow.
std::optional<uint64_t> parse_u64(std::string_view s);

// Appends s to out as the inside of a JSON string (quotes not included).
void json_escape(std::string& out, std::string_view s);
std::string json_quote(std::string_view s);

// Decodes %XX escapes (a malformed one stays as it is); plus_is_space: '+' is a space
// (form encoding, as API Gateway reads query strings).
std::string percent_decode(std::string_view s, bool plus_is_space = false);
// RFC 3986 section 2.3: A-Z a-z 0-9 - _ . ~ kept (and '/' with keep_slash), every other
// byte %XX in upper case (AWS's UriEncode, a query parameter's name or value).
std::string percent_encode(std::string_view s, bool keep_slash = false);

size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate if it is plausibly a misspelling of name, else empty.
std::string suggest(std::string_view name, const std::vector<std::string>& candidates);

// Splits on a single character; empty pieces are kept.
std::vector<std::string_view> split(std::string_view s, char sep);

// Appends v in decimal (no allocation beyond the string's growth).
void append_decimal(std::string& out, int64_t v);

// s is a number as JSON writes one (RFC 8259 section 6: no "+", no leading zeros, no
// "0x", no ".5", no "inf").
bool is_json_number(std::string_view s);

}  // namespace portico
