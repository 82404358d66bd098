#include "http/parser.h"

#include <array>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "core/strings.h"

namespace portico::http {
namespace {

enum : uint8_t { kTchar = 1, kFieldChar = 2, kTargetChar = 4, kHostChar = 8 };

constexpr std::array<uint8_t, 256> make_table() {
  std::array<uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    uint8_t f = 0;
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum) f |= kTchar;
    for (char s : std::string_view("!#$%&'*+-.^_`|~")) {
      if (c == s) f |= kTchar;
    }
    if ((c >= 0x21 && c <= 0x7e) || c >= 0x80 || c == ' ' || c == '\t') f |= kFieldChar;
    if (c >= 0x21 && c <= 0x7e && c != '#') f |= kTargetChar;
    if (alnum) f |= kHostChar;
    for (char s : std::string_view("-._~!$&'()*+,;=:[]%")) {
      if (c == s) f |= kHostChar;
    }
    t[static_cast<size_t>(c)] = f;
  }
  return t;
}

constexpr auto kTable = make_table();

inline bool has(char c, uint8_t flag) { return (kTable[static_cast<unsigned char>(c)] & flag) != 0; }

// The end of a run of field-value characters (VCHAR, SP, HTAB, obs-text) from pos.
// Field values are most of a request's bytes (tokens, cookies): 16 at a time with SSE2,
// which every x86-64 has; the table finishes the run.
size_t skip_field_value(std::string_view d, size_t pos) {
  const size_t n = d.size();
#ifdef __SSE2__
  const __m128i space = _mm_set1_epi8(0x20), tab = _mm_set1_epi8(0x09), del = _mm_set1_epi8(0x7f);
  const __m128i zero = _mm_setzero_si128();
  while (pos + 16 <= n) {
    __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(d.data() + pos));
    // Control characters: 0x00-0x1f (signed compare; obs-text is negative and fine) but
    // not HTAB, and DEL.
    __m128i ctl = _mm_andnot_si128(_mm_cmplt_epi8(b, zero), _mm_cmplt_epi8(b, space));
    __m128i bad = _mm_or_si128(_mm_andnot_si128(_mm_cmpeq_epi8(b, tab), ctl), _mm_cmpeq_epi8(b, del));
    int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return pos + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    pos += 16;
  }
#endif
  while (pos < n && has(d[pos], kFieldChar)) ++pos;
  return pos;
}

ParseResult fail(ParseError& err, int status, std::string_view message) {
  err.status = status;
  err.message = message;
  return ParseResult::kError;
}

// Parses header lines starting at pos up to and including the blank line.
ParseResult parse_fields(std::string_view d, size_t& pos, const ParseLimits& limits,
                         HeaderList& headers, ParseError& err) {
  const size_t n = d.size();
  while (true) {
    if (pos >= n) return ParseResult::kIncomplete;
    char c = d[pos];
    if (c == '\r') {
      if (pos + 1 >= n) return ParseResult::kIncomplete;
      if (d[pos + 1] != '\n') return fail(err, 400, "bare CR in header section");
      pos += 2;
      return ParseResult::kComplete;
    }
    if (c == '\n') return fail(err, 400, "bare LF line ending (CRLF required)");
    if (c == ' ' || c == '\t') {
      return fail(err, 400,
                  headers.empty() ? "whitespace before the first header field"
                                  : "obsolete line folding (obs-fold) is not allowed");
    }
    size_t name_start = pos;
    while (pos < n && has(d[pos], kTchar)) ++pos;
    if (pos >= n) return ParseResult::kIncomplete;
    if (d[pos] != ':') {
      if (d[pos] == ' ' || d[pos] == '\t') {
        return fail(err, 400, "whitespace between header field name and colon");
      }
      if (d[pos] == '\r' || d[pos] == '\n') return fail(err, 400, "header field without a colon");
      return fail(err, 400, "invalid character in header field name");
    }
    if (pos == name_start) return fail(err, 400, "empty header field name");
    std::string_view name = d.substr(name_start, pos - name_start);
    ++pos;
    while (pos < n && (d[pos] == ' ' || d[pos] == '\t')) ++pos;
    size_t value_start = pos;
    pos = skip_field_value(d, pos);
    if (pos >= n) return ParseResult::kIncomplete;
    if (d[pos] == '\n') return fail(err, 400, "bare LF line ending (CRLF required)");
    if (d[pos] != '\r') return fail(err, 400, "invalid character in header field value");
    if (pos + 1 >= n) return ParseResult::kIncomplete;
    if (d[pos + 1] != '\n') return fail(err, 400, "bare CR in header field value");
    size_t value_end = pos;
    while (value_end > value_start && (d[value_end - 1] == ' ' || d[value_end - 1] == '\t')) {
      --value_end;
    }
    pos += 2;
    if (headers.size() >= limits.max_headers) return fail(err, 431, "too many header fields");
    headers.push_back(Header{name, d.substr(value_start, value_end - value_start),
                             classify_header(name)});
  }
}

// Shared framing/connection analysis for requests and responses.
struct FieldSummary {
  const Header* content_length = nullptr;
  int content_length_count = 0;
  int transfer_encoding_count = 0;
  bool chunked_final = false;
  bool chunked_repeated_or_not_last = false;
  bool unknown_coding = false;
  bool empty_coding = false;
  bool connection_close = false;
  bool connection_keep_alive = false;
  bool connection_other = false;
};

void summarize(const HeaderList& headers, FieldSummary& s) {
  int chunked_seen = 0;
  for (const auto& h : headers) {
    switch (h.id) {
      case HeaderId::kContentLength:
        ++s.content_length_count;
        s.content_length = &h;
        break;
      case HeaderId::kTransferEncoding: {
        ++s.transfer_encoding_count;
        std::string_view v = h.value;
        bool any = false;
        while (true) {
          size_t comma = v.find(',');
          std::string_view item = trim(v.substr(0, comma));
          if (!item.empty()) {
            any = true;
            if (iequals(item, "chunked")) {
              ++chunked_seen;
              s.chunked_final = true;
            } else {
              if (chunked_seen > 0) s.chunked_repeated_or_not_last = true;
              s.chunked_final = false;
              s.unknown_coding = true;
            }
          }
          if (comma == std::string_view::npos) break;
          v.remove_prefix(comma + 1);
        }
        if (!any) s.empty_coding = true;
        break;
      }
      case HeaderId::kConnection: {
        std::string_view v = h.value;
        while (true) {
          size_t comma = v.find(',');
          std::string_view item = trim(v.substr(0, comma));
          if (iequals(item, "close")) s.connection_close = true;
          else if (iequals(item, "keep-alive")) s.connection_keep_alive = true;
          else if (!item.empty()) s.connection_other = true;
          if (comma == std::string_view::npos) break;
          v.remove_prefix(comma + 1);
        }
        break;
      }
      default:
        break;
    }
  }
  if (chunked_seen > 1) s.chunked_repeated_or_not_last = true;
}

// HTTP-version = "HTTP/" DIGIT "." DIGIT. Returns false on a malformed version; sets
// major/minor otherwise.
bool parse_version(std::string_view v, int& major, int& minor) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return false;
  if (v[5] < '0' || v[5] > '9' || v[7] < '0' || v[7] > '9') return false;
  major = v[5] - '0';
  minor = v[7] - '0';
  return true;
}

bool valid_host(std::string_view h) {
  for (char c : h) {
    if (!has(c, kHostChar)) return false;
  }
  return true;
}

}  // namespace

void rebase(RequestHead& h, const char* from, const char* to) {
  auto move = [&](std::string_view& v) {
    // Views outside the buffer (e.g. the "/" default path) stay as they are.
    if (v.data() >= from && v.data() < from + h.head_size) v = std::string_view(to + (v.data() - from), v.size());
  };
  move(h.method);
  move(h.target);
  move(h.path);
  move(h.query);
  move(h.authority);
  move(h.host);
  for (auto& f : h.headers) {
    move(f.name);
    move(f.value);
  }
}

bool is_tchar(char c) { return has(c, kTchar); }
bool is_field_value_char(char c) { return has(c, kFieldChar); }

void RequestHead::clear() {
  method = target = path = query = authority = host = {};
  headers.clear();
  content_length = 0;
  head_size = 0;
  framing = Framing::kNone;
  version_minor = 1;
  keep_alive = true;
  expect_continue = false;
  connection_lists_headers = false;
}

void ResponseHead::clear() {
  status = 0;
  reason = {};
  headers.clear();
  content_length = 0;
  head_size = 0;
  framing = Framing::kNone;
  version_minor = 1;
  keep_alive = true;
  connection_lists_headers = false;
}

ParseResult parse_request(std::string_view d, const ParseLimits& limits, RequestHead& out,
                          ParseError& err) {
  out.clear();
  const size_t n = d.size();
  size_t pos = 0;
  // RFC 9112 2.2: ignore at least one empty line before the request-line.
  while (pos + 1 < n && d[pos] == '\r' && d[pos + 1] == '\n') pos += 2;
  if (pos >= n || (pos + 1 == n && d[pos] == '\r')) return ParseResult::kIncomplete;
  const size_t line_start = pos;

  // method
  while (pos < n && has(d[pos], kTchar)) ++pos;
  if (pos >= n) {
    return n - line_start > limits.max_request_line ? fail(err, 414, "request line too long")
                                                    : ParseResult::kIncomplete;
  }
  if (d[pos] != ' ') return fail(err, 400, "invalid character in method");
  if (pos == line_start) return fail(err, 400, "empty method");
  out.method = d.substr(line_start, pos - line_start);
  ++pos;

  // request-target
  size_t target_start = pos;
  while (pos < n && has(d[pos], kTargetChar)) ++pos;
  if (pos >= n) {
    return n - line_start > limits.max_request_line ? fail(err, 414, "request line too long")
                                                    : ParseResult::kIncomplete;
  }
  if (d[pos] != ' ') {
    if (d[pos] == '#') return fail(err, 400, "fragment in request target");
    if (d[pos] == '\r' || d[pos] == '\n') return fail(err, 400, "missing HTTP version");
    return fail(err, 400, "invalid character in request target");
  }
  if (pos == target_start) return fail(err, 400, "empty request target");
  out.target = d.substr(target_start, pos - target_start);
  ++pos;

  // HTTP-version CRLF
  size_t version_start = pos;
  while (pos < n && d[pos] != '\r' && d[pos] != '\n' && pos - version_start <= 8) ++pos;
  if (pos >= n) {
    return n - line_start > limits.max_request_line ? fail(err, 414, "request line too long")
                                                    : ParseResult::kIncomplete;
  }
  int major = 0, minor = 0;
  if (!parse_version(d.substr(version_start, pos - version_start), major, minor)) {
    return fail(err, 400, "malformed HTTP version");
  }
  if (d[pos] == '\n') return fail(err, 400, "bare LF line ending (CRLF required)");
  if (pos + 1 >= n) return ParseResult::kIncomplete;
  if (d[pos + 1] != '\n') return fail(err, 400, "bare CR in request line");
  if (pos - line_start > limits.max_request_line) return fail(err, 414, "request line too long");
  if (major != 1) return fail(err, 505, "HTTP version not supported");
  out.version_minor = minor == 0 ? 0 : 1;  // 1.2+ is answered as 1.1 (RFC 9110 2.5)
  pos += 2;

  ParseResult r = parse_fields(d, pos, limits, out.headers, err);
  if (r == ParseResult::kIncomplete && n > limits.max_header_bytes) {
    return fail(err, 431, "request header section too large");
  }
  if (r != ParseResult::kComplete) return r;
  if (pos > limits.max_header_bytes) return fail(err, 431, "request header section too large");
  out.head_size = pos;

  // request-target forms (RFC 9112 3.2)
  std::string_view t = out.target;
  if (t[0] == '/') {
    size_t q = t.find('?');
    out.path = t.substr(0, q);
    if (q != std::string_view::npos) out.query = t.substr(q + 1);
  } else if (t == "*") {
    if (out.method != "OPTIONS") return fail(err, 400, "asterisk-form target is only for OPTIONS");
    out.path = t;
  } else {
    size_t scheme_end = t.find("://");
    if (scheme_end == std::string_view::npos ||
        !(iequals(t.substr(0, scheme_end), "http") || iequals(t.substr(0, scheme_end), "https"))) {
      if (out.method == "CONNECT") return fail(err, 501, "CONNECT is not supported");
      return fail(err, 400, "invalid request target");
    }
    std::string_view rest = t.substr(scheme_end + 3);
    size_t auth_end = rest.find_first_of("/?");
    out.authority = rest.substr(0, auth_end);
    if (out.authority.empty() || out.authority.find('@') != std::string_view::npos ||
        !valid_host(out.authority)) {
      return fail(err, 400, "invalid authority in request target");
    }
    std::string_view after = auth_end == std::string_view::npos ? std::string_view() : rest.substr(auth_end);
    size_t q = after.find('?');
    out.path = after.substr(0, q);
    if (out.path.empty()) out.path = "/";
    if (q != std::string_view::npos) out.query = after.substr(q + 1);
  }

  FieldSummary s;
  summarize(out.headers, s);
  int host_count = 0;
  for (const auto& h : out.headers) {
    if (h.id == HeaderId::kHost) {
      ++host_count;
      out.host = h.value;
    } else if (h.id == HeaderId::kExpect) {
      if (out.version_minor >= 1) {
        if (!iequals(h.value, "100-continue")) return fail(err, 417, "unsupported expectation");
        out.expect_continue = true;
      }
    }
  }
  if (host_count > 1) return fail(err, 400, "multiple Host header fields");
  if (host_count == 0 && out.version_minor == 1) return fail(err, 400, "missing Host header field");
  if (!valid_host(out.host)) return fail(err, 400, "invalid Host header field");
  if (!out.authority.empty()) out.host = out.authority;  // RFC 9112 3.2.2

  if (s.transfer_encoding_count > 0) {
    if (out.version_minor == 0) return fail(err, 400, "Transfer-Encoding in an HTTP/1.0 request");
    if (s.content_length_count > 0) {
      return fail(err, 400, "both Content-Length and Transfer-Encoding");
    }
    if (s.empty_coding) return fail(err, 400, "empty Transfer-Encoding");
    if (s.unknown_coding) return fail(err, 501, "unsupported transfer coding (only chunked is)");
    if (s.chunked_repeated_or_not_last) return fail(err, 400, "chunked applied more than once");
    out.framing = Framing::kChunked;
  } else if (s.content_length_count > 0) {
    if (s.content_length_count > 1) return fail(err, 400, "multiple Content-Length header fields");
    auto v = parse_u64(s.content_length->value);
    if (!v || *v > (uint64_t{1} << 62)) return fail(err, 400, "invalid Content-Length");
    out.content_length = *v;
    out.framing = *v == 0 ? Framing::kNone : Framing::kLength;
  }
  if (out.framing == Framing::kNone) out.expect_continue = false;

  out.keep_alive = out.version_minor == 1 ? !s.connection_close
                                          : (s.connection_keep_alive && !s.connection_close);
  out.connection_lists_headers = s.connection_other;
  return ParseResult::kComplete;
}

ParseResult parse_response(std::string_view d, const ParseLimits& limits, bool head_request,
                           ResponseHead& out, ParseError& err) {
  out.clear();
  const size_t n = d.size();
  size_t pos = 0;
  // status-line = HTTP-version SP status-code SP [ reason-phrase ] CRLF
  if (n < 13) {
    if (d.substr(0, std::min<size_t>(n, 5)) != std::string_view("HTTP/").substr(0, std::min<size_t>(n, 5))) {
      return fail(err, 502, "malformed status line");
    }
    return ParseResult::kIncomplete;
  }
  int major = 0, minor = 0;
  if (!parse_version(d.substr(0, 8), major, minor) || major != 1 || d[8] != ' ') {
    return fail(err, 502, "malformed status line");
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (d[i] < '0' || d[i] > '9') return fail(err, 502, "malformed status code");
    status = status * 10 + (d[i] - '0');
  }
  if (status < 100 || status > 599) return fail(err, 502, "status code out of range");
  pos = 12;
  size_t reason_start = pos;
  if (d[pos] == ' ') {
    ++pos;
    reason_start = pos;
    pos = skip_field_value(d, pos);
    if (pos >= n) return n > limits.max_header_bytes ? fail(err, 502, "response head too large")
                                                     : ParseResult::kIncomplete;
  }
  if (d[pos] != '\r') return fail(err, 502, "malformed status line");
  if (pos + 1 >= n) return ParseResult::kIncomplete;
  if (d[pos + 1] != '\n') return fail(err, 502, "bare CR in status line");
  out.status = status;
  out.reason = d.substr(reason_start, pos - reason_start);
  out.version_minor = minor == 0 ? 0 : 1;
  pos += 2;

  ParseResult r = parse_fields(d, pos, limits, out.headers, err);
  if (r == ParseResult::kError) {
    err.status = 502;
    return r;
  }
  if (r == ParseResult::kIncomplete) {
    return n > limits.max_header_bytes ? fail(err, 502, "response head too large") : r;
  }
  if (pos > limits.max_header_bytes) return fail(err, 502, "response head too large");
  out.head_size = pos;

  FieldSummary s;
  summarize(out.headers, s);
  out.keep_alive = out.version_minor == 1 ? !s.connection_close
                                          : (s.connection_keep_alive && !s.connection_close);
  out.connection_lists_headers = s.connection_other;

  // RFC 9112 6.3: body length rules, in order.
  if (head_request || status < 200 || status == 204 || status == 304) {
    out.framing = Framing::kNone;
    return ParseResult::kComplete;
  }
  if (s.transfer_encoding_count > 0) {
    if (s.content_length_count > 0) {
      return fail(err, 502, "both Content-Length and Transfer-Encoding in response");
    }
    if (s.chunked_repeated_or_not_last) return fail(err, 502, "chunked applied more than once");
    // A coding other than chunked would reach the client without its (hop-by-hop)
    // Transfer-Encoding label, so such a response is refused rather than corrupted.
    if (!s.chunked_final || s.unknown_coding) {
      return fail(err, 502, "unsupported transfer coding in response");
    }
    out.framing = Framing::kChunked;
    return ParseResult::kComplete;
  }
  if (s.content_length_count > 0) {
    if (s.content_length_count > 1) return fail(err, 502, "multiple Content-Length in response");
    auto v = parse_u64(s.content_length->value);
    if (!v || *v > (uint64_t{1} << 62)) return fail(err, 502, "invalid Content-Length in response");
    out.content_length = *v;
    out.framing = *v == 0 ? Framing::kNone : Framing::kLength;
    return ParseResult::kComplete;
  }
  out.framing = Framing::kUntilClose;
  out.keep_alive = false;
  return ParseResult::kComplete;
}

}  // namespace portico::http
