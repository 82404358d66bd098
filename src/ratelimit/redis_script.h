// The one Redis round trip of a rate-limit decision: a Lua script that checks every
// Redis-backed limit of a request (GCRA rates and quota counters) and counts them only
// if all pass, atomically (Redis runs one script at a time). It reads Redis's own clock
// (TIME), so every Portico instance measures against the same one.
//
// KEYS[i] with ARGV[3i-2..3i] = kind, a, b:
//   "g": a GCRA rate; a = interval (µs), b = burst
//   "q": a quota counter; a = limit, b = the period's end (epoch seconds)
// Returns one string of numbers separated by spaces (one reply object to parse, not an
// array of them): all_allowed, then per key: allowed, remaining (g) or used (q),
// reset µs, retry µs.
#pragma once

#include <openssl/sha.h>

#include <string>
#include <string_view>

namespace portico::ratelimit {

inline constexpr std::string_view kLimitScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local out = {1}
local all = true
local next_tat = {}
for i = 1, #KEYS do
  local kind = ARGV[3 * i - 2]
  local a = tonumber(ARGV[3 * i - 1])
  local b = tonumber(ARGV[3 * i])
  if kind == 'g' then
    local tat = tonumber(redis.call('GET', KEYS[i])) or now
    if tat < now then tat = now end
    local nxt = tat + a
    local tolerance = b * a
    if nxt - now > tolerance then
      all = false
      out[#out + 1] = 0
      out[#out + 1] = 0
      out[#out + 1] = tat - now
      out[#out + 1] = nxt - tolerance - now
    else
      next_tat[i] = nxt
      out[#out + 1] = 1
      out[#out + 1] = math.floor((tolerance - (nxt - now)) / a)
      out[#out + 1] = nxt - now
      out[#out + 1] = 0
    end
  else
    local used = tonumber(redis.call('GET', KEYS[i])) or 0
    if used >= a then
      all = false
      out[#out + 1] = 0
      out[#out + 1] = used
    else
      out[#out + 1] = 1
      out[#out + 1] = used + 1
    end
    out[#out + 1] = 0
    out[#out + 1] = 0
  end
end
if all then
  for i = 1, #KEYS do
    if ARGV[3 * i - 2] == 'g' then
      -- Written as an integer string: tostring() would round 16-digit numbers.
      local ttl = math.ceil((next_tat[i] - now) / 1000) + 1
      redis.call('SET', KEYS[i], string.format('%.0f', next_tat[i]), 'PX', ttl)
    else
      redis.call('INCR', KEYS[i])
      redis.call('EXPIREAT', KEYS[i], tonumber(ARGV[3 * i]) + 86400)
    end
  end
else
  out[1] = 0
end
for i = 1, #out do out[i] = string.format('%.0f', out[i]) end
return table.concat(out, ' ')
)lua";

// EVALSHA's name for the script.
inline std::string limit_script_sha1() {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(kLimitScript.data()), kLimitScript.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : digest) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace portico::ratelimit
