// AWS Signature Version 4, server side: parsing a request's Authorization header or
// presigned query (X-Amz-*), and verifying it against the caller's secret, so that every
// AWS-compatible API Portico serves (Lambda, later DynamoDB, S3, SQS, SNS, CloudWatch
// Logs) accepts what the AWS SDKs and CLI send. Follows AWS's "Create a signed AWS API
// request" and S3's "Authenticating Requests (AWS Signature Version 4)", checked against
// AWS's SigV4 test suite. Errors carry the code, message and HTTP status the real service
// would answer with, in the vocabulary of its protocol (Protocol below).
//
// Flow: parse_sigv4 -> look up auth.access_key_id (unknown: unknown_access_key()) ->
// verify_sigv4 with its secret. Nothing here keeps state; it is safe on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace portico::aws {

// Whose error vocabulary, and for S3 whose signing rules, apply.
enum class Protocol {
  kJson,   // awsJson / restJson (Lambda, DynamoDB, CloudWatch Logs): x-amzn-ErrorType codes
  kQuery,  // awsQuery (SNS, SQS's XML API, STS): <Error><Code> codes
  kS3,     // S3: its codes, an unnormalised single-encoded path, x-amz-content-sha256
};

struct SigV4Options {
  Protocol protocol = Protocol::kJson;
  // Non-S3 only: false signs the path without removing "." / ".." / empty segments (still
  // encoded a second time). Real services normalise; the test suite covers both.
  bool normalize_path = true;
  std::string_view region;                   // the credential scope must name it; empty: any
  std::string_view service;                  // likewise ("lambda", "s3", ...)
  int64_t max_skew_s = 15 * 60;              // header form: |now - X-Amz-Date|
  int64_t max_expires_s = 7 * 24 * 60 * 60;  // presigned: the largest X-Amz-Expires
  // '+' in the query is a literal plus (RFC 3986; what the AWS SDKs mean, they never send
  // it for a space). True treats it as a space, for clients that form-encode queries; the
  // handler must then decode the query the same way, or it reads what was not signed.
  bool query_plus_is_space = false;
};

struct SigV4Request {  // views valid during the call
  std::string_view method;
  std::string_view path;   // raw path as sent (percent-encoded), without the query
  std::string_view query;  // raw query, without '?'
  // As received: any case, repeats allowed (joined with ',' in order, as AWS does).
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  // Lower-case hex SHA-256 of the body as the server computed it. Required for non-S3
  // services (it is the canonical request's last line); for S3 it is compared with a hex
  // x-amz-content-sha256 when given, and may be empty when the body is hashed later.
  std::string_view payload_hash;
};

struct Credential {
  std::string access_key_id;
  std::string secret_access_key;
};

// The signature's claims, from the Authorization header or the presigned query.
struct SigV4Auth {
  bool presigned = false;
  std::string access_key_id;
  std::string date;  // credential scope: YYYYMMDD
  std::string region;
  std::string service;
  std::string terminator;                   // "aws4_request" unless malformed
  std::vector<std::string> signed_headers;  // lower-case, in the order given
  std::string signature;                    // hex, as given
  std::string amz_date;                     // YYYYMMDD'T'HHMMSS'Z' (X-Amz-Date or Date)
  int64_t time_s = 0;                       // amz_date in seconds since the epoch
  int64_t expires_s = -1;                   // presigned X-Amz-Expires; -1 when absent
  // x-amz-content-sha256 (hex, UNSIGNED-PAYLOAD, STREAMING-...) or empty. For S3 the
  // caller must honour it: UNSIGNED-PAYLOAD leaves the body unauthenticated, STREAMING-*
  // means aws-chunked chunk signatures (chunk_string_to_sign) to verify.
  std::string content_sha256;
  // X-Amz-Security-Token (header or query) or empty: temporary credentials are the
  // caller's to check; this module only reports it.
  std::string security_token;

  std::string scope() const;  // date/region/service/terminator
};

enum class SigV4ErrorKind {
  kMissing,      // neither an Authorization header nor X-Amz-Algorithm: not signed at all
  kIncomplete,   // malformed or missing parts, unsupported algorithm
  kInvalid,      // well-formed but unacceptable: scope, host not signed, two mechanisms
  kUnknownKey,   // from unknown_access_key()
  kExpired,      // outside the clock-skew window or past X-Amz-Expires
  kNotYetValid,  // dated in the future beyond the skew
  kMismatch,     // the signature is not the one the secret gives
  kPayload,      // S3: x-amz-content-sha256 missing, malformed or not the body's hash
  kInternal,     // the caller broke the contract (no payload hash for a non-S3 service)
};

struct SigV4Error {
  SigV4ErrorKind kind = SigV4ErrorKind::kInternal;
  std::string code;     // e.g. "InvalidSignatureException", "SignatureDoesNotMatch"
  std::string message;  // the service's wording
  int http_status = 403;
  // kMismatch: what the server signed, for services that echo it (see verbose_message).
  std::string canonical_request;
  std::string string_to_sign;

  // message plus, for a mismatch, "The Canonical String for this request should have
  // been ..." and "The String-to-Sign should have been ..." as DynamoDB and STS answer.
  std::string verbose_message() const;
};

// A result whose error carries the AWS code.
template <typename T>
using SigV4Result = Result<T, SigV4Error>;

// Reads the Authorization header ("AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...", with or without spaces after the commas) or the X-Amz-* query
// parameters, and checks their form: the algorithm, the five-part credential, an ISO 8601
// basic X-Amz-Date (or Date) header, host among the signed headers, and the credential
// scope (terminator, date = X-Amz-Date's, and options.region / options.service).
SigV4Result<SigV4Auth> parse_sigv4(const SigV4Request& req, const SigV4Options& options = {});

// The error for an access key the caller does not know (UnrecognizedClientException,
// InvalidClientTokenId or InvalidAccessKeyId).
SigV4Error unknown_access_key(const SigV4Options& options = {});

// Verifies, after parse_sigv4: the scope again, the time (within max_skew_s of now_s for
// the header form; for a presigned request not before X-Amz-Date - max_skew_s and not
// after X-Amz-Date + X-Amz-Expires), the signature with `secret` (constant-time), and for
// S3 a hex x-amz-content-sha256 against req.payload_hash.
SigV4Result<void> verify_sigv4(const SigV4Request& req, const SigV4Auth& auth,
                               std::string_view secret, int64_t now_s,
                               const SigV4Options& options = {});

// Building blocks, for clients, tests and the aws-chunked payloads of S3 uploads.

std::string sha256_hex(std::string_view data);
std::string hmac_sha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string hex_encode(std::string_view bytes);                        // lower case

// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"),
// raw bytes. Depends only on the day, so callers may cache it per key and day.
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);

// AWS's UriEncode: A-Z a-z 0-9 - _ . ~ kept, every other byte %XX in upper case.
std::string uri_encode(std::string_view s, bool keep_slash);
std::string canonical_uri(std::string_view raw_path, const SigV4Options& options);
// Parameters decoded and encoded again, sorted by name then value; X-Amz-Signature left
// out when presigned.
std::string canonical_query(std::string_view raw_query, bool presigned, bool plus_is_space = false);

// The canonical request's last line: for S3 the x-amz-content-sha256 header (for a
// presigned request without one, UNSIGNED-PAYLOAD); otherwise req.payload_hash.
std::string hashed_payload(const SigV4Request& req, const SigV4Auth& auth,
                           const SigV4Options& options);

std::string canonical_request(const SigV4Request& req, const SigV4Auth& auth,
                              const SigV4Options& options);
std::string string_to_sign(const SigV4Auth& auth, std::string_view canonical_request);
// The hex signature `auth` should carry for `req` signed with `secret`.
std::string compute_signature(const SigV4Request& req, const SigV4Auth& auth,
                              std::string_view secret, const SigV4Options& options = {});

// aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD): the string to sign for one chunk,
// chained on the previous chunk's (first: the seed request's) signature.
std::string chunk_string_to_sign(const SigV4Auth& auth, std::string_view previous_signature,
                                 std::string_view chunk_hash_hex);

// "20150830T123600Z" <-> seconds since the epoch (nullopt: not ISO 8601 basic format).
std::optional<int64_t> parse_amz_date(std::string_view s);
std::string format_amz_date(int64_t t);

}  // namespace portico::aws
