// The greedy matcher for simple patterns must answer exactly as RE2 does: checked on
// hand-picked cases and, for each pattern, on every string of up to 5 characters over
// an alphabet that hits each class and its edges, and on random longer strings.
#include "schema/simple_pattern.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>
#include <string>
#include <vector>

namespace portico::schema {
namespace {

bool re2_matches(const RE2& re, std::string_view s) {
  return RE2::PartialMatch(re2::StringPiece(s.data(), s.size()), re);
}

TEST(SimplePattern, TakesTheShapesOfApiSchemas) {
  for (const char* p :
       {"^ord_[A-Za-z0-9]{16}$", "^[A-Z]{3}$", "^[A-Z0-9-]{4,20}$", "^\\+[1-9][0-9]{6,14}$",
        "^[A-Z0-9 -]{3,10}$", "^[A-Z]{2}$", "^[A-Z]{3}-[0-9]{4,8}$", "^[a-z][a-z0-9-]*$",
        "^https://", "^[A-Z]{2}[0-9]{8}$", "^x-", "^\\d+$", "^[a-z]+_[0-9]?$", "^v[0-9]+\\.[0-9]+$",
        "^[_a-z]*$"}) {
    EXPECT_TRUE(SimplePattern::compile(p).has_value()) << p;
  }
}

TEST(SimplePattern, LeavesTheRestToRe2) {
  for (const char* p : {"[A-Z]{3}",      "^[a-z]{2}(-[A-Z]{2})?$",
                        "^a|b$",         "^.*$",
                        "^[^a]$",        "^\\w+$",
                        "^\\s$",         "^\\p{L}+$",
                        "^a+?$",         "^é$",
                        "^[é]$",         "^a$b",
                        "^[a-z]*[a-z]$", "^[a-z]+[0-9a]$",
                        "^a*a$",         "^[0-9]{2,}?$",
                        "^a{2,1}$",      "^[z-a]$",
                        "^[[:alpha:]]$", "^a{x}$",
                        "^\\u0041$",     "^[]$",
                        "^ab\\",         "^[ab",
                        "^a{1",          "^\\bx$"}) {
    EXPECT_FALSE(SimplePattern::compile(p).has_value()) << p;
  }
}

TEST(SimplePattern, AnswersAsRe2) {
  const std::vector<std::string> patterns = {"^ord_[A-Za-z0-9]{4}$",
                                             "^[A-Z]{3}$",
                                             "^[A-Z0-9-]{1,3}$",
                                             "^\\+[1-9][0-9]{1,3}$",
                                             "^[A-Z]{1}-[0-9]{1,2}$",
                                             "^[a-z][a-z0-9-]*$",
                                             "^https://",
                                             "^x-",
                                             "^\\d+$",
                                             "^[a-z]+_[0-9]?$",
                                             "^a?b?c?$",
                                             "^a*-$",
                                             "^[a\\-]+$",
                                             "^[-a]{2}$",
                                             "^[a-]{0,2}z",
                                             "^a{0}$",
                                             "^[.$]+$",
                                             "^ab",
                                             "^$",
                                             "^",
                                             "^[A-Z]{2,}$",
                                             "^ *x$",
                                             "^a/b,c=d$",
                                             "^\\$\\^\\.\\[$"};
  const std::string alphabet = "aAbz09-_ +.x/$^[,=\xc3\xa9";
  std::mt19937 rng(7);
  for (const auto& source : patterns) {
    auto simple = SimplePattern::compile(source);
    ASSERT_TRUE(simple.has_value()) << source;
    RE2::Options options;
    options.set_never_capture(true);
    RE2 re(source, options);
    ASSERT_TRUE(re.ok()) << source << ": " << re.error();
    // Every string of up to 4 characters of the alphabet (the é as its two bytes, so
    // that both whole characters and stray bytes are tried).
    std::vector<std::string> strings = {""};
    for (size_t len = 1; len <= 4; ++len) {
      std::vector<std::string> next;
      for (const auto& s : strings) {
        if (s.size() + 1 != len) continue;
        for (char c : alphabet) next.push_back(s + c);
      }
      for (const auto& s : next) {
        EXPECT_EQ(simple->matches(s), re2_matches(re, s)) << source << " on \"" << s << '"';
      }
      strings.insert(strings.end(), next.begin(), next.end());
    }
    EXPECT_EQ(simple->matches(""), re2_matches(re, "")) << source;
    // Longer strings, random over the alphabet and over the pattern's own characters.
    std::string own = source + alphabet;
    for (int k = 0; k < 3000; ++k) {
      std::string s;
      size_t len = 5 + rng() % 20;
      const std::string& from = k % 2 == 0 ? alphabet : own;
      for (size_t i = 0; i < len; ++i) s += from[rng() % from.size()];
      EXPECT_EQ(simple->matches(s), re2_matches(re, s)) << source << " on \"" << s << '"';
    }
  }
}

TEST(SimplePattern, MatchesTheDocumentsOfTheBenchmark) {
  auto sku = SimplePattern::compile("^[A-Z]{3}-[0-9]{4,8}$");
  ASSERT_TRUE(sku);
  EXPECT_TRUE(sku->matches("ABC-1234"));
  EXPECT_TRUE(sku->matches("ABC-12345678"));
  EXPECT_FALSE(sku->matches("ABC-123456789"));
  EXPECT_FALSE(sku->matches("ABC-123"));
  EXPECT_FALSE(sku->matches("AB-1234"));
  EXPECT_FALSE(sku->matches("ABC-1234\n"));
  auto phone = SimplePattern::compile("^\\+[1-9][0-9]{6,14}$");
  ASSERT_TRUE(phone);
  EXPECT_TRUE(phone->matches("+4915112345678"));
  EXPECT_FALSE(phone->matches("+0915112345678"));
  EXPECT_FALSE(phone->matches("4915112345678"));
  auto https = SimplePattern::compile("^https://");
  ASSERT_TRUE(https);
  EXPECT_TRUE(https->matches("https://example.com/x"));
  EXPECT_FALSE(https->matches("http://example.com"));
}

}  // namespace
}  // namespace portico::schema
