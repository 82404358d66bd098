#include "aws/sigv4.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/strings.h"

namespace portico::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view kTerminator = "aws4_request";
constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

// The message texts are the services' own, as their error responses show them: Coral's
// for JSON and query services (as DynamoDB, Kinesis, SQS and STS answer), S3's from its
// error reference and observed answers.
constexpr std::string_view kMismatch =
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details.";
constexpr std::string_view kMismatchS3 =
    "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method.";
constexpr std::string_view kNotSignedS3 =
    "There were headers present in the request which were not signed";
constexpr std::string_view kSkewedS3 =
    "The difference between the request time and the current time is too large.";

using K = SigV4ErrorKind;

bool is_s3(const SigV4Options& o) { return o.protocol == Protocol::kS3; }

// S3 words its malformed-authentication messages by where the authentication came from.
std::string_view s3_prefix(bool presigned) {
  return presigned ? "Error parsing the X-Amz-Credential parameter; "
                   : "The authorization header is malformed; ";
}

// Per SigV4ErrorKind: the JSON and query services' codes and status, S3's codes for the
// header form and for a presigned URL, and its status. Call sites override some S3 codes.
struct Codes {
  std::string_view json, query, s3, s3_presigned;
  int status, s3_status;
};
constexpr Codes kCodes[] = {
    {"MissingAuthenticationTokenException", "MissingAuthenticationToken", "AccessDenied",
     "AccessDenied", 403, 403},
    {"IncompleteSignatureException", "IncompleteSignature", "AuthorizationHeaderMalformed",
     "AuthorizationQueryParametersError", 400, 400},
    {"InvalidSignatureException", "SignatureDoesNotMatch", "AuthorizationHeaderMalformed",
     "AuthorizationQueryParametersError", 403, 400},
    {"UnrecognizedClientException", "InvalidClientTokenId", "InvalidAccessKeyId",
     "InvalidAccessKeyId", 403, 403},
    // DynamoDB and Kinesis answer a stale signature with 400 (RequestExpired is 400 too).
    {"InvalidSignatureException", "SignatureDoesNotMatch", "RequestTimeTooSkewed", "AccessDenied",
     400, 403},
    {"InvalidSignatureException", "SignatureDoesNotMatch", "RequestTimeTooSkewed", "AccessDenied",
     400, 403},
    {"InvalidSignatureException", "SignatureDoesNotMatch", "SignatureDoesNotMatch",
     "SignatureDoesNotMatch", 403, 403},
    {"InvalidSignatureException", "SignatureDoesNotMatch", "XAmzContentSHA256Mismatch",
     "XAmzContentSHA256Mismatch", 403, 400},
    {"InternalFailure", "InternalFailure", "InternalError", "InternalError", 500, 500},
};

SigV4Error fail(K kind, const SigV4Options& o, bool presigned, std::string message,
                std::string_view s3_code = {}, int s3_status = 0) {
  const Codes& c = kCodes[static_cast<size_t>(kind)];
  SigV4Error e;
  e.kind = kind;
  e.message = std::move(message);
  if (is_s3(o)) {
    e.code = std::string(!s3_code.empty() ? s3_code : presigned ? c.s3_presigned : c.s3);
    e.http_status = s3_status != 0 ? s3_status : c.s3_status;
  } else {
    e.code = std::string(o.protocol == Protocol::kJson ? c.json : c.query);
    e.http_status = c.status;
  }
  return e;
}

static_assert(std::size(kCodes) == static_cast<size_t>(K::kInternal) + 1);

bool is_hex_sha256(std::string_view s) {
  return s.size() == 64 && s.find_first_not_of("0123456789abcdefABCDEF") == std::string_view::npos;
}

// A malformed escape stays as it is: it then encodes as %25..., which the client cannot
// have signed, so the request fails on its signature rather than being guessed at.
using Params = std::vector<std::pair<std::string, std::string>>;  // decoded

Params parse_query(std::string_view query, bool plus_is_space) {
  Params params;
  for (std::string_view piece : split(query, '&')) {
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::string_view value = eq == std::string_view::npos ? "" : piece.substr(eq + 1);
    params.emplace_back(percent_decode(piece.substr(0, eq), plus_is_space),
                        percent_decode(value, plus_is_space));
  }
  return params;
}

// The first value of a parameter, or null. A repeated X-Amz-* parameter is not ambiguous:
// every copy but X-Amz-Signature is in the canonical query, so the signature covers it.
const std::string* find_param(const Params& params, std::string_view name) {
  for (const auto& [n, v] : params) {
    if (n == name) return &v;
  }
  return nullptr;
}

// Every value of the header in the order received, each trimmed and with inner runs of
// whitespace (folded lines included) collapsed to one space, joined with ','.
std::string header_value(const SigV4Request& req, std::string_view name, size_t* count = nullptr) {
  std::string out;
  size_t n = 0;
  for (const auto& [k, v] : req.headers) {
    if (!iequals(k, name)) continue;
    if (n++ > 0) out += ',';
    bool space = false, started = false;
    for (char c : v) {
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        space = started;
        continue;
      }
      if (space) out += ' ';
      space = false;
      started = true;
      out += c;
    }
  }
  if (count != nullptr) *count = n;
  return out;
}

// RFC 3986 5.2.4 dot-segment removal plus the empty segments AWS also drops, as the AWS
// SDKs do it: "/a//b/./c/.." -> "/a/b", a trailing slash kept when anything is left.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> segments;
  for (std::string_view seg : split(path, '/')) {
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!seg.empty() && seg != ".") {
      segments.push_back(seg);
    }
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) out.append(i > 0 ? "/" : "").append(segments[i]);
  if (!segments.empty() && path.back() == '/') out += '/';
  return out;
}

std::string duration_text(int64_t s) {
  return s % 60 == 0 ? fmt::format("{} min.", s / 60) : fmt::format("{} sec.", s);
}

bool signed_header(const SigV4Auth& auth, std::string_view name) {
  return std::find(auth.signed_headers.begin(), auth.signed_headers.end(), name) !=
         auth.signed_headers.end();
}

// Fills auth from the parts both forms share, or says what is wrong with them.
std::optional<SigV4Error> fill(SigV4Auth& auth, std::string_view credential,
                               std::string_view signed_headers, std::string_view date,
                               const SigV4Options& o) {
  std::optional<int64_t> time = parse_amz_date(date);
  if (!time && is_s3(o) && !auth.presigned) {
    return fail(K::kIncomplete, o, false,
                "AWS authentication requires a valid Date or x-amz-date header", "AccessDenied",
                403);
  }
  if (!time) {
    return fail(K::kIncomplete, o, auth.presigned,
                is_s3(o) ? "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
                         : fmt::format("Date must be in ISO-8601 'basic format'. Got '{}'. "
                                       "See http://en.wikipedia.org/wiki/ISO_8601",
                                       date));
  }
  auth.amz_date = std::string(date);
  auth.time_s = *time;
  // keyid/date/region/service/terminator; trailing slashes are ignored, as AWS does.
  std::string_view c = credential;
  while (!c.empty() && c.back() == '/') c.remove_suffix(1);
  std::vector<std::string_view> parts = split(c, '/');
  if (parts.size() != 5 || parts[0].empty()) {
    return fail(K::kIncomplete, o, auth.presigned,
                is_s3(o) ? std::string(s3_prefix(auth.presigned)) +
                               "the Credential is mal-formed; expecting "
                               "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\"."
                         : fmt::format("Credential must have exactly 5 slash-delimited elements, "
                                       "e.g. keyid/date/region/service/term, got '{}'",
                                       credential));
  }
  auth.access_key_id = std::string(parts[0]);
  auth.date = std::string(parts[1]);
  auth.region = std::string(parts[2]);
  auth.service = std::string(parts[3]);
  auth.terminator = std::string(parts[4]);
  for (std::string_view name : split(signed_headers, ';')) {
    name = trim(name);
    if (!name.empty()) auth.signed_headers.push_back(to_lower(name));
  }
  return std::nullopt;
}

SigV4Error unsupported_algorithm(std::string_view algorithm, const SigV4Options& o,
                                 bool presigned) {
  if (is_s3(o) && !presigned) {
    return fail(K::kIncomplete, o, false, "Unsupported Authorization Type", "InvalidArgument");
  }
  return fail(K::kIncomplete, o, presigned,
              is_s3(o) ? "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\""
                       : fmt::format("Unsupported AWS 'algorithm': '{}' (only AWS4-HMAC-SHA256 "
                                     "for now).",
                                     algorithm));
}

// "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
SigV4Result<SigV4Auth> from_header(const SigV4Request& req, std::string_view header,
                                   const SigV4Options& o) {
  std::string_view h = trim(header);
  size_t space = h.find_first_of(" \t");
  std::string_view algorithm = h.substr(0, space);
  // Another AWS4 variant (SigV4a's AWS4-ECDSA-P256-SHA256) is named as unsupported; any
  // other scheme (Bearer, Basic) gets "requires 'Credential'", as API Gateway answers.
  bool aws4 = algorithm == kAlgorithm;
  if (!aws4 && (algorithm.starts_with("AWS4-") || is_s3(o))) {
    return unsupported_algorithm(algorithm, o, false);
  }
  std::optional<std::string_view> credential, signed_headers, signature;
  std::string_view rest = aws4 && space != std::string_view::npos ? h.substr(space + 1) : "";
  for (std::string_view piece : split(rest, ',')) {
    piece = trim(piece);
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    if (eq == std::string_view::npos && !is_s3(o)) {
      return fail(K::kIncomplete, o, false,
                  fmt::format("'{}' not a valid key=value pair (missing equal-sign) in "
                              "Authorization header: '{}'.",
                              piece, h));
    }
    std::string_view key = trim(piece.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? "" : trim(piece.substr(eq + 1));
    if (key == "Credential" && !credential && !value.empty()) credential = value;
    if (key == "Signature" && !signature && !value.empty()) signature = value;
    if (key == "SignedHeaders" && !signed_headers) signed_headers = value;  // may be empty
  }
  std::string date = header_value(req, "x-amz-date");
  if (date.empty()) date = header_value(req, "date");
  // (S3 without a date is refused by fill, as a malformed one.)
  if (!credential || !signature || !signed_headers || (date.empty() && !is_s3(o))) {
    if (is_s3(o)) {
      return fail(K::kIncomplete, o, false,
                  "The authorization header is malformed; the authorization header requires "
                  "three components: Credential, SignedHeaders, and Signature.");
    }
    std::string msg;
    if (!credential) msg += "Authorization header requires 'Credential' parameter. ";
    if (!signature) msg += "Authorization header requires 'Signature' parameter. ";
    if (!signed_headers) msg += "Authorization header requires 'SignedHeaders' parameter. ";
    if (date.empty()) {
      msg += "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' ";
      msg += "header. ";
    }
    return fail(K::kIncomplete, o, false, msg + "Authorization=" + std::string(h));
  }
  SigV4Auth auth;
  if (auto e = fill(auth, *credential, *signed_headers, date, o)) return *e;
  auth.signature = std::string(*signature);
  auth.security_token = header_value(req, "x-amz-security-token");
  return auth;
}

// X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders, -Signature in the query.
SigV4Result<SigV4Auth> from_query(const Params& params, const SigV4Options& o) {
  static constexpr std::string_view kRequired[] = {"X-Amz-Algorithm", "X-Amz-Credential",
                                                   "X-Amz-Signature", "X-Amz-SignedHeaders",
                                                   "X-Amz-Date"};
  std::string missing;
  for (std::string_view name : kRequired) {
    const std::string* v = find_param(params, name);
    if (v == nullptr || v->empty()) {
      missing += fmt::format("AWS query-string parameters must include '{}'. ", name);
    }
  }
  const std::string* expires = find_param(params, "X-Amz-Expires");
  if (is_s3(o) && (!missing.empty() || expires == nullptr)) {
    return fail(K::kIncomplete, o, true,
                "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and "
                "X-Amz-Expires parameters.");
  }
  if (!missing.empty()) {
    return fail(K::kIncomplete, o, true, missing + "Re-examine the query-string parameters.");
  }
  const std::string& algorithm = *find_param(params, "X-Amz-Algorithm");
  if (algorithm != kAlgorithm) return unsupported_algorithm(algorithm, o, true);
  SigV4Auth auth;
  auth.presigned = true;
  if (auto e =
          fill(auth, *find_param(params, "X-Amz-Credential"),
               *find_param(params, "X-Amz-SignedHeaders"), *find_param(params, "X-Amz-Date"), o)) {
    return *e;
  }
  if (expires != nullptr) {
    std::string_view e = *expires;
    bool negative = e.starts_with('-');
    std::optional<uint64_t> n = parse_u64(negative ? e.substr(1) : e);
    if (!n) return fail(K::kIncomplete, o, true, "X-Amz-Expires should be a number");
    if (negative) {
      return fail(K::kIncomplete, o, true, "X-Amz-Expires must be non-negative");
    }
    if (*n > static_cast<uint64_t>(o.max_expires_s)) {
      return fail(K::kIncomplete, o, true,
                  fmt::format("X-Amz-Expires must be less than a week (in seconds); that is, the "
                              "given X-Amz-Expires must be less than {} seconds",
                              o.max_expires_s));
    }
    auth.expires_s = static_cast<int64_t>(*n);
  }
  auth.signature = *find_param(params, "X-Amz-Signature");
  if (const std::string* token = find_param(params, "X-Amz-Security-Token")) {
    auth.security_token = *token;
  }
  return auth;
}

// S3 refuses unsigned x-amz-* headers (they change what the request does) and wants
// x-amz-content-sha256 with the header form, as one of the values it knows.
std::optional<SigV4Error> check_s3_headers(const SigV4Request& req, SigV4Auth& auth,
                                           const SigV4Options& o) {
  for (const auto& [name, value] : req.headers) {
    if (name.size() >= 6 && iequals(name.substr(0, 6), "x-amz-") &&
        !signed_header(auth, to_lower(name))) {
      return fail(K::kInvalid, o, auth.presigned, std::string(kNotSignedS3), "AccessDenied", 403);
    }
  }
  const std::string& v = auth.content_sha256 = header_value(req, "x-amz-content-sha256");
  if (v.empty() && !auth.presigned) {
    return fail(K::kPayload, o, false,
                "Missing required header for this request: x-amz-content-sha256", "InvalidRequest",
                400);
  }
  // The values S3 names when it refuses one.
  static constexpr std::string_view kValues =
      "UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
      "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
      "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER";
  if (v.empty() || is_hex_sha256(v)) return std::nullopt;
  for (std::string_view known : split(kValues, ',')) {
    if (trim(known) == v) return std::nullopt;
  }
  return fail(K::kPayload, o, auth.presigned,
              fmt::format("x-amz-content-sha256 must be {} or a valid sha256 value.", kValues),
              "InvalidArgument", 400);
}

// The credential scope against the request's date and the expected region and service.
// JSON and query services list every mismatch in one message; S3 names the first.
std::optional<SigV4Error> check_scope(const SigV4Auth& a, const SigV4Options& o) {
  bool region_ok = o.region.empty() || a.region == o.region;
  bool service_ok = o.service.empty() || a.service == o.service;
  bool terminator_ok = a.terminator == kTerminator;
  bool date_ok = a.date.size() == 8 && a.amz_date.compare(0, 8, a.date) == 0;
  if (region_ok && service_ok && terminator_ok && date_ok) return std::nullopt;
  std::string msg;
  if (is_s3(o)) {
    std::string_view prefix = s3_prefix(a.presigned);
    if (!region_ok) {
      msg = fmt::format("{}the region '{}' is wrong; expecting '{}'", prefix, a.region, o.region);
    } else if (!service_ok) {
      msg = fmt::format("{}incorrect service \"{}\". This endpoint belongs to \"{}\".", prefix,
                        a.service, o.service);
    } else if (!terminator_ok) {
      msg = fmt::format("{}incorrect terminal \"{}\". This endpoint uses \"aws4_request\".", prefix,
                        a.terminator);
    } else {
      msg = fmt::format("{}Invalid credential date. Date is not the same as X-Amz-Date.",
                        a.presigned ? "" : prefix);
    }
    return fail(K::kInvalid, o, a.presigned, std::move(msg));
  }
  if (!region_ok) {
    msg += fmt::format("Credential should be scoped to a valid region, not '{}'. ", a.region);
  }
  if (!service_ok) {
    msg += fmt::format("Credential should be scoped to correct service: '{}'. ", o.service);
  }
  if (!terminator_ok) {
    msg += fmt::format(
        "Credential should be scoped with a valid terminator: 'aws4_request', "
        "not '{}'. ",
        a.terminator);
  }
  if (!date_ok) {
    msg += fmt::format(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of "
        "date from HTTP: '{}' != '{}', from '{}'. ",
        a.date, a.amz_date.substr(0, 8), a.amz_date);
  }
  msg.pop_back();  // AWS ends each sentence with a space; the last one is dropped
  return fail(K::kInvalid, o, a.presigned, std::move(msg));
}

std::optional<SigV4Error> check_time(const SigV4Auth& a, int64_t now, const SigV4Options& o) {
  int64_t skew = o.max_skew_s;
  if (a.time_s > now + skew) {
    return fail(K::kNotYetValid, o, a.presigned,
                !is_s3(o)     ? fmt::format("Signature not yet current: {} is still later than {} "
                                                "({} + {})",
                                            a.amz_date, format_amz_date(now + skew),
                                            format_amz_date(now), duration_text(skew))
                : a.presigned ? "Request is not valid yet"
                              : std::string(kSkewedS3));
  }
  // A presigned request lives for X-Amz-Expires, which some non-S3 signers leave out: it
  // then gets the header form's window.
  int64_t window = a.presigned && a.expires_s >= 0 ? a.expires_s : skew;
  if (a.time_s < now - window) {
    return fail(K::kExpired, o, a.presigned,
                !is_s3(o) ? fmt::format("Signature expired: {} is now earlier than {} ({} - {})",
                                        a.amz_date, format_amz_date(now - window),
                                        format_amz_date(now), duration_text(window))
                : a.presigned ? "Request has expired"
                              : std::string(kSkewedS3));
  }
  return std::nullopt;
}

}  // namespace

std::string SigV4Auth::scope() const {
  return date + '/' + region + '/' + service + '/' + terminator;
}

std::string SigV4Error::verbose_message() const {
  if (canonical_request.empty()) return message;
  return fmt::format(
      "{}\n\nThe Canonical String for this request should have been\n'{}'\n\n"
      "The String-to-Sign should have been\n'{}'\n",
      message, canonical_request, string_to_sign);
}

SigV4Result<SigV4Auth> parse_sigv4(const SigV4Request& req, const SigV4Options& o) {
  Params params = parse_query(req.query, o.query_plus_is_space);
  bool presigned = find_param(params, "X-Amz-Algorithm") != nullptr;
  size_t headers = 0;
  std::string authorization = header_value(req, "authorization", &headers);
  if (presigned && headers > 0) {
    return fail(K::kInvalid, o, true,
                is_s3(o) ? "Only one auth mechanism allowed; only the X-Amz-Algorithm query "
                           "parameter, Signature query string parameter or the Authorization "
                           "header should be specified"
                         : "Found both 'X-Amz-Algorithm' as a query-string param and "
                           "'Authorization' as HTTP header.",
                "InvalidArgument", 400);
  }
  if (!presigned && headers == 0) {
    return fail(K::kMissing, o, false,
                o.protocol == Protocol::kJson    ? "Missing Authentication Token"
                : o.protocol == Protocol::kQuery ? "Request is missing Authentication Token"
                                                 : "Access Denied");
  }
  if (headers > 1) {
    return fail(K::kIncomplete, o, false, "The request has more than one Authorization header.",
                "InvalidArgument");
  }
  SigV4Result<SigV4Auth> parsed =
      presigned ? from_query(params, o) : from_header(req, authorization, o);
  if (!parsed) return parsed;
  SigV4Auth& auth = *parsed;
  if (!signed_header(auth, "host")) {
    return fail(K::kInvalid, o, presigned,
                is_s3(o) ? std::string(kNotSignedS3)
                         : "'Host' or ':authority' must be a 'SignedHeader' in the AWS "
                           "Authorization.",
                "AccessDenied", 403);
  }
  if (is_s3(o)) {
    if (auto e = check_s3_headers(req, auth, o)) return *e;
  } else {
    auth.content_sha256 = header_value(req, "x-amz-content-sha256");
  }
  if (auto e = check_scope(auth, o)) return *e;
  return parsed;
}

SigV4Error unknown_access_key(const SigV4Options& o) {
  return fail(K::kUnknownKey, o, false,
              is_s3(o) ? "The AWS Access Key Id you provided does not exist in our records."
                       : "The security token included in the request is invalid.");
}

SigV4Result<void> verify_sigv4(const SigV4Request& req, const SigV4Auth& auth,
                               std::string_view secret, int64_t now_s, const SigV4Options& o) {
  if (auto e = check_scope(auth, o)) return *e;
  if (auto e = check_time(auth, now_s, o)) return *e;
  if (hashed_payload(req, auth, o).empty()) {
    return fail(K::kInternal, o, auth.presigned, "The server did not compute the payload hash.");
  }
  std::string creq = canonical_request(req, auth, o);
  std::string sts = string_to_sign(auth, creq);
  std::string expected =
      hex_encode(hmac_sha256(signing_key(secret, auth.date, auth.region, auth.service), sts));
  // The length is no secret (always 64); the bytes are compared in constant time.
  if (expected.size() != auth.signature.size() ||
      CRYPTO_memcmp(expected.data(), auth.signature.data(), expected.size()) != 0) {
    SigV4Error e =
        fail(K::kMismatch, o, auth.presigned, std::string(is_s3(o) ? kMismatchS3 : kMismatch));
    e.canonical_request = std::move(creq);
    e.string_to_sign = std::move(sts);
    return e;
  }
  // S3 signs the declared hash; whether the body has it is checked once the signature
  // holds (a body not hashed yet, e.g. streamed, is the caller's to check).
  if (is_s3(o) && is_hex_sha256(auth.content_sha256) && !req.payload_hash.empty() &&
      !iequals(auth.content_sha256, req.payload_hash)) {
    return fail(K::kPayload, o, auth.presigned,
                "The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return {};
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  return hex_encode(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  static const char kNoKey = 0;  // OpenSSL wants a key pointer even for an empty key
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t len = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.empty() ? &kNoKey : key.data(),
                key.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
                sizeof(mac), &len) == nullptr) {
    return {};
  }
  return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) out.append({kHex[c >> 4], kHex[c & 15]});
  return out;
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string k = hmac_sha256("AWS4" + std::string(secret), date);
  k = hmac_sha256(k, region);
  k = hmac_sha256(k, service);
  return hmac_sha256(k, kTerminator);
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  return percent_encode(s, keep_slash);
}

std::string canonical_uri(std::string_view raw_path, const SigV4Options& o) {
  if (raw_path.empty()) return "/";
  if (!is_s3(o)) {
    // Everyone but S3 signs the path as sent percent-encoded a second time.
    std::string path = o.normalize_path ? remove_dot_segments(raw_path) : std::string(raw_path);
    return uri_encode(path, true);
  }
  // S3 signs it encoded once, in AWS's spelling: each segment is decoded and encoded again,
  // so "/test$file.text" and "/test%24file.text" sign alike and %2F stays in its segment.
  // No dot or empty segment is touched: they are part of object keys.
  std::string out;
  for (std::string_view seg : split(raw_path, '/')) {
    if (seg.data() != raw_path.data()) out += '/';
    out += uri_encode(percent_decode(seg, false), false);
  }
  return out;
}

std::string canonical_query(std::string_view raw_query, bool presigned, bool plus_is_space) {
  Params encoded;
  for (auto& [name, value] : parse_query(raw_query, plus_is_space)) {
    if (presigned && name == "X-Amz-Signature") continue;
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());  // by encoded name, then value (byte order)
  std::string out;
  for (const auto& [name, value] : encoded) {
    out.append(out.empty() ? "" : "&").append(name).append("=").append(value);
  }
  return out;
}

std::string hashed_payload(const SigV4Request& req, const SigV4Auth& auth, const SigV4Options& o) {
  if (is_s3(o) && !auth.content_sha256.empty()) return auth.content_sha256;
  if (is_s3(o) && auth.presigned) return std::string(kUnsignedPayload);
  return std::string(req.payload_hash);
}

std::string canonical_request(const SigV4Request& req, const SigV4Auth& auth,
                              const SigV4Options& o) {
  std::string out;
  out.append(req.method).append("\n").append(canonical_uri(req.path, o)).append("\n");
  out.append(canonical_query(req.query, auth.presigned, o.query_plus_is_space)).append("\n");
  // A signed header the request lacks signs as "name:", so the signature fails.
  for (const std::string& name : auth.signed_headers) {
    out.append(name).append(":").append(header_value(req, name)).append("\n");
  }
  out += '\n';
  for (size_t i = 0; i < auth.signed_headers.size(); ++i) {
    out.append(i > 0 ? ";" : "").append(auth.signed_headers[i]);
  }
  return out.append("\n").append(hashed_payload(req, auth, o));
}

std::string string_to_sign(const SigV4Auth& auth, std::string_view canonical_request) {
  return fmt::format("{}\n{}\n{}\n{}", kAlgorithm, auth.amz_date, auth.scope(),
                     sha256_hex(canonical_request));
}

std::string compute_signature(const SigV4Request& req, const SigV4Auth& auth,
                              std::string_view secret, const SigV4Options& options) {
  std::string sts = string_to_sign(auth, canonical_request(req, auth, options));
  return hex_encode(hmac_sha256(signing_key(secret, auth.date, auth.region, auth.service), sts));
}

std::string chunk_string_to_sign(const SigV4Auth& auth, std::string_view previous_signature,
                                 std::string_view chunk_hash_hex) {
  return fmt::format("AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{}\n{}\n{}", auth.amz_date, auth.scope(),
                     previous_signature, sha256_hex(""), chunk_hash_hex);
}

std::optional<int64_t> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto num = [&](size_t pos, size_t n) { return parse_u64(s.substr(pos, n)); };
  auto y = num(0, 4), mo = num(4, 2), d = num(6, 2), h = num(9, 2), mi = num(11, 2);
  auto sec = num(13, 2);
  if (!y || !mo || !d || !h || !mi || !sec || *h > 23 || *mi > 59 || *sec > 59) return std::nullopt;
  using namespace std::chrono;
  year_month_day ymd{year(static_cast<int>(*y)), month(static_cast<unsigned>(*mo)),
                     day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  int64_t days = sys_days(ymd).time_since_epoch().count();
  return days * 86400 + static_cast<int64_t>(*h * 3600 + *mi * 60 + *sec);
}

std::string format_amz_date(int64_t t) {
  using namespace std::chrono;
  int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);  // floor
  int64_t rem = t - days * 86400;
  year_month_day ymd{sys_days(std::chrono::days(days))};
  return fmt::format("{:04}{:02}{:02}T{:02}{:02}{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     rem / 3600, rem % 3600 / 60, rem % 60);
}

}  // namespace portico::aws
