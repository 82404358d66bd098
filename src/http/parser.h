// Strict HTTP/1.1 message-head parser (RFC 9112). It re-parses from the start of the
// buffer until the head is complete, which keeps it stateless; callers only call it
// again once a new line has arrived. Everything it returns is a view into the buffer.
//
// Rejected with 400: bare CR or LF, obs-fold, whitespace before a colon, invalid name or
// value bytes, both Content-Length and Transfer-Encoding, duplicate or invalid
// Content-Length, Transfer-Encoding in HTTP/1.0, missing or repeated Host in HTTP/1.1.
// 414 for a long request line, 431 for too many or too large headers, 501 for transfer
// codings other than chunked, 505 for HTTP versions other than 1.x, 417 for expectations
// other than 100-continue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/headers.h"

namespace portico::http {

enum class Framing : uint8_t {
  kNone,        // no body
  kLength,      // Content-Length bytes
  kChunked,     // chunked transfer coding
  kUntilClose,  // responses only: body ends when the connection closes
};

struct ParseLimits {
  size_t max_request_line = 8 * 1024;
  size_t max_header_bytes = 32 * 1024;  // the whole head, request line included
  size_t max_headers = 100;
};

struct RequestHead {
  std::string_view method;
  std::string_view target;     // the raw request-target
  std::string_view path;       // path part of the target ("*" for OPTIONS *)
  std::string_view query;      // after '?', without it
  std::string_view authority;  // from an absolute-form target
  std::string_view host;       // the authority the request is for (target or Host header)
  HeaderList headers;
  uint64_t content_length = 0;
  size_t head_size = 0;  // bytes of the head including the blank line
  Framing framing = Framing::kNone;
  uint8_t version_minor = 1;
  bool keep_alive = true;
  bool expect_continue = false;
  bool connection_lists_headers = false;  // Connection names extra hop-by-hop headers

  void clear();
};

struct ResponseHead {
  int status = 0;
  std::string_view reason;
  HeaderList headers;
  uint64_t content_length = 0;
  size_t head_size = 0;
  Framing framing = Framing::kNone;
  uint8_t version_minor = 1;
  bool keep_alive = true;
  bool connection_lists_headers = false;

  void clear();
};

enum class ParseResult { kComplete, kIncomplete, kError };

struct ParseError {
  int status = 400;
  std::string_view message;  // a static string
};

ParseResult parse_request(std::string_view data, const ParseLimits& limits, RequestHead& out,
                          ParseError& err);

// head_request: the response answers a HEAD request, so it has no body whatever it says.
ParseResult parse_response(std::string_view data, const ParseLimits& limits, bool head_request,
                           ResponseHead& out, ParseError& err);

// Re-points every view in head from the buffer at `from` to an identical copy at `to`.
void rebase(RequestHead& head, const char* from, const char* to);

// Character classes (RFC 9110 5.6.2 tchar, 5.5 field-vchar/obs-text).
bool is_tchar(char c);
bool is_field_value_char(char c);  // VCHAR, obs-text, SP, HTAB

}  // namespace portico::http
