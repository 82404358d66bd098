// Trusted proxies: IP ranges, and the client address read from X-Forwarded-For.
#include <gtest/gtest.h>

#include <string>

#include "gateway/client_address.h"
#include "http/parser.h"
#include "net/ip_range.h"

namespace portico {
namespace {

std::string text(const net::IpBytes& ip) {
  char buf[64];
  return std::string(buf, net::format_ip(ip, buf, sizeof buf));
}

net::IpBytes ip(std::string_view s) {
  auto r = net::parse_ip(s);
  EXPECT_TRUE(r.has_value()) << s;
  return r.value_or(net::IpBytes{});
}

std::vector<net::IpRange> ranges(std::initializer_list<const char*> list) {
  std::vector<net::IpRange> out;
  for (const char* s : list) {
    auto r = net::parse_ip_range(s);
    EXPECT_TRUE(r) << s;
    if (r) out.push_back(*r);
  }
  return out;
}

TEST(IpRange, ParsesAndMatches) {
  auto r = ranges({"10.0.0.0/8", "192.168.1.7", "2001:db8::/32", "172.16.5.9/12", "::1"});
  EXPECT_TRUE(r[0].contains(ip("10.255.0.1")));
  EXPECT_FALSE(r[0].contains(ip("11.0.0.1")));
  EXPECT_TRUE(r[1].contains(ip("192.168.1.7")));
  EXPECT_FALSE(r[1].contains(ip("192.168.1.8")));
  EXPECT_TRUE(r[2].contains(ip("2001:db8:ffff::1")));
  EXPECT_FALSE(r[2].contains(ip("2001:db9::1")));
  EXPECT_FALSE(r[2].contains(ip("10.0.0.1"))) << "families never match";
  EXPECT_TRUE(r[3].contains(ip("172.31.255.255"))) << "host bits of the base are cleared";
  EXPECT_FALSE(r[3].contains(ip("172.32.0.0")));
  EXPECT_TRUE(r[4].contains(ip("::1")));
  EXPECT_TRUE(r[0].contains(ip("::ffff:10.1.2.3"))) << "IPv4-mapped IPv6 is IPv4";
  EXPECT_EQ(text(ip("::ffff:10.1.2.3")), "10.1.2.3");
  auto mapped = net::parse_ip_range("::ffff:10.0.0.0/104");
  ASSERT_TRUE(mapped);
  EXPECT_TRUE(mapped->contains(ip("10.9.9.9")));
  EXPECT_TRUE(ranges({"0.0.0.0/0"})[0].contains(ip("8.8.8.8")));
  for (const char* bad : {"", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "host.example", "::1/129", "10.0.0.0/8x", "1.2.3.4/-1"}) {
    EXPECT_FALSE(net::parse_ip_range(bad)) << bad;
  }
}

class ClientAddressTest : public ::testing::Test {
 protected:
  std::string client(std::string_view peer, const std::vector<net::IpRange>& trusted, const std::string& headers) {
    raw_ = "GET / HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n";
    http::ParseError err;
    EXPECT_EQ(http::parse_request(raw_, http::ParseLimits{}, head_, err), http::ParseResult::kComplete) << err.message;
    return text(gateway::client_address(ip(peer), trusted, head_));
  }
  std::string raw_;
  http::RequestHead head_;
};

TEST_F(ClientAddressTest, ThePeerUnlessItIsTrusted) {
  auto lb = ranges({"10.0.0.0/8"});
  EXPECT_EQ(client("203.0.113.9", {}, "X-Forwarded-For: 1.1.1.1\r\n"), "203.0.113.9") << "nothing trusted";
  EXPECT_EQ(client("203.0.113.9", lb, "X-Forwarded-For: 1.1.1.1\r\n"), "203.0.113.9") << "an untrusted peer";
  EXPECT_EQ(client("10.0.0.2", lb, ""), "10.0.0.2") << "a trusted peer that says nothing";
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For: 198.51.100.4\r\n"), "198.51.100.4");
}

TEST_F(ClientAddressTest, RightmostUntrustedSoClientsCannotChooseTheirAddress) {
  auto lb = ranges({"10.0.0.0/8", "2001:db8::/32"});
  // The client sent "X-Forwarded-For: 6.6.6.6"; the balancer appended the real address.
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For: 6.6.6.6, 198.51.100.4\r\n"), "198.51.100.4");
  // Two trusted hops.
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For: 6.6.6.6, 198.51.100.4, 10.3.3.3\r\n"), "198.51.100.4");
  // Several fields are one list, in order.
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For: 198.51.100.4\r\nX-Forwarded-For: 10.3.3.3, 2001:db8::7\r\n"),
            "198.51.100.4");
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For:  198.51.100.4 ,, 10.3.3.3 \r\n"), "198.51.100.4") << "OWS and empty entries";
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For: 2001:db9::5\r\n"), "2001:db9::5");
  // All trusted: the leftmost is as far as anyone can tell.
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For: 10.1.1.1, 10.2.2.2\r\n"), "10.1.1.1");
  // Garbage stops the walk at the last address read.
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For: 198.51.100.4, unknown, 10.3.3.3\r\n"), "10.3.3.3");
  EXPECT_EQ(client("10.0.0.2", lb, "X-Forwarded-For: 198.51.100.4:5555\r\n"), "10.0.0.2");
}

}  // namespace
}  // namespace portico
