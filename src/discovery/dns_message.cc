#include "discovery/dns_message.h"

namespace portico::discovery {

int64_t min_answer_ttl(const unsigned char* msg, int len) {
  auto skip_name = [&](int pos) -> int {
    while (pos < len) {
      unsigned char l = msg[pos];
      if (l == 0) return pos + 1;
      if ((l & 0xC0) == 0xC0) return pos + 2;  // compression pointer ends the name
      pos += 1 + l;
    }
    return -1;
  };
  if (len < 12) return -1;
  int qd = (msg[4] << 8) | msg[5];
  int an = (msg[6] << 8) | msg[7];
  int pos = 12;
  for (int i = 0; i < qd && pos >= 0; ++i) {
    pos = skip_name(pos);
    if (pos >= 0) pos += 4;
  }
  int64_t min = -1;
  for (int i = 0; i < an && pos >= 0; ++i) {
    pos = skip_name(pos);
    if (pos < 0 || pos + 10 > len) return min;
    int64_t ttl = (static_cast<int64_t>(msg[pos + 4]) << 24) | (msg[pos + 5] << 16) | (msg[pos + 6] << 8) | msg[pos + 7];
    if (ttl > 0x7FFFFFFF) ttl = 0;  // RFC 2181 8: a TTL with the top bit set means zero
    int rdlen = (msg[pos + 8] << 8) | msg[pos + 9];
    if (min < 0 || ttl < min) min = ttl;
    pos += 10 + rdlen;
  }
  return min;
}

}  // namespace portico::discovery
