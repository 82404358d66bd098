// The smallest answer TTL from a raw DNS message (c-ares drops SRV TTLs).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "discovery/dns_message.h"

namespace portico::discovery {
namespace {

void u16(std::vector<unsigned char>& m, unsigned v) {
  m.push_back(static_cast<unsigned char>(v >> 8));
  m.push_back(static_cast<unsigned char>(v));
}
void u32(std::vector<unsigned char>& m, uint32_t v) {
  u16(m, v >> 16);
  u16(m, v & 0xFFFF);
}
void name(std::vector<unsigned char>& m, const std::string& n) {
  size_t start = 0;
  while (start < n.size()) {
    size_t dot = n.find('.', start);
    if (dot == std::string::npos) dot = n.size();
    m.push_back(static_cast<unsigned char>(dot - start));
    m.insert(m.end(), n.begin() + static_cast<long>(start), n.begin() + static_cast<long>(dot));
    start = dot + 1;
  }
  m.push_back(0);
}

// An SRV answer with one record per TTL; the question name is compressed in answers.
std::vector<unsigned char> srv_answer(const std::vector<uint32_t>& ttls) {
  std::vector<unsigned char> m;
  u16(m, 0x1234);
  u16(m, 0x8180);
  u16(m, 1);
  u16(m, static_cast<unsigned>(ttls.size()));
  u16(m, 0);
  u16(m, 0);
  name(m, "_http._tcp.svc.test");
  u16(m, 33);
  u16(m, 1);
  for (uint32_t ttl : ttls) {
    u16(m, 0xC00C);  // pointer to the question name
    u16(m, 33);
    u16(m, 1);
    u32(m, ttl);
    std::vector<unsigned char> rdata;
    u16(rdata, 0);
    u16(rdata, 1);
    u16(rdata, 9001);
    name(rdata, "a.test");
    u16(m, static_cast<unsigned>(rdata.size()));
    m.insert(m.end(), rdata.begin(), rdata.end());
  }
  return m;
}

TEST(DnsMessage, SmallestAnswerTtl) {
  auto m = srv_answer({30, 5, 60});
  EXPECT_EQ(min_answer_ttl(m.data(), static_cast<int>(m.size())), 5);
  m = srv_answer({0x80000001u});  // top bit set: zero (RFC 2181)
  EXPECT_EQ(min_answer_ttl(m.data(), static_cast<int>(m.size())), 0);
}

TEST(DnsMessage, NoAnswersOrTruncatedGivesMinusOneOrWhatWasRead) {
  auto m = srv_answer({});
  EXPECT_EQ(min_answer_ttl(m.data(), static_cast<int>(m.size())), -1);
  m = srv_answer({7, 9});
  // Cut inside the second record: the first record's TTL is still known.
  EXPECT_EQ(min_answer_ttl(m.data(), static_cast<int>(m.size()) - 20), 7);
  EXPECT_EQ(min_answer_ttl(m.data(), 11), -1);
}

}  // namespace
}  // namespace portico::discovery
