// Reading what c-ares does not hand out from a raw DNS answer (RFC 1035 4.1): the
// smallest TTL among the answer records (its SRV parser drops TTLs). The message comes
// from the network, so every offset is checked; it is fuzzed.
#pragma once

#include <cstdint>

namespace portico::discovery {

// The smallest TTL in seconds among the answer records, or -1 when there is none or the
// message cannot be walked.
int64_t min_answer_ttl(const unsigned char* msg, int len);

}  // namespace portico::discovery
