// Fast per-thread pseudo-random numbers (xoshiro256**, seeded from getrandom) for
// request ids and load-balancing choices. Not for secrets.
#pragma once

#include <cstdint>
#include <string>

namespace portico {

uint64_t random_u64();
// RFC 9562 version-4 UUID text, 36 characters.
void random_uuid(char out[36]);
std::string random_uuid();

}  // namespace portico
