// DynamoDB numbers: parsing, the canonical form DynamoDB answers with, its limits and
// error messages, exact arithmetic, and a sort key whose byte order is the numbers'.
#include "tables/number.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace portico::tables {
namespace {

std::string canonical(std::string_view text) {
  auto n = Number::parse(text);
  return n ? n->to_string() : "error: " + n.error().message;
}

Number num(std::string_view text) {
  auto n = Number::parse(text);
  EXPECT_TRUE(n.ok()) << text;
  return n ? *n : Number();
}

TEST(TablesNumber, ParsesDynamoDbsSyntaxIntoTheCanonicalForm) {
  EXPECT_EQ(canonical("0"), "0");
  EXPECT_EQ(canonical("-0"), "0");
  EXPECT_EQ(canonical("+0.000"), "0");
  EXPECT_EQ(canonical("0e10"), "0");
  EXPECT_EQ(canonical("42"), "42");
  EXPECT_EQ(canonical("+42"), "42");
  EXPECT_EQ(canonical("-42"), "-42");
  EXPECT_EQ(canonical("007"), "7");
  EXPECT_EQ(canonical("12.50"), "12.5");
  EXPECT_EQ(canonical("1.0"), "1");
  EXPECT_EQ(canonical(".5"), "0.5");
  EXPECT_EQ(canonical("5."), "5");
  EXPECT_EQ(canonical("0.05"), "0.05");
  EXPECT_EQ(canonical("-0.00120"), "-0.0012");
  EXPECT_EQ(canonical("1.50E+3"), "1500");
  EXPECT_EQ(canonical("1e2"), "100");
  EXPECT_EQ(canonical("125e-2"), "1.25");
  EXPECT_EQ(canonical("120"), "120");
  EXPECT_EQ(canonical("1E-5"), "0.00001");
  EXPECT_EQ(canonical("12345678901234567890123456789012345678"),
            "12345678901234567890123456789012345678");
  EXPECT_EQ(canonical("0.12345678901234567890123456789012345678"),
            "0.12345678901234567890123456789012345678");
}

TEST(TablesNumber, RefusesWhatIsNotANumber) {
  EXPECT_EQ(Number::parse("").error().message,
            "The parameter cannot be converted to a numeric value");
  for (const char* bad : {"-", "+", ".", "abc", "1.2.3", "1e", "1e+", "--1", " 1", "1 ", "0x10",
                          "Infinity", "NaN", "1,000", "e5"}) {
    auto n = Number::parse(bad);
    ASSERT_FALSE(n.ok()) << bad;
    EXPECT_EQ(n.error().message,
              std::string("The parameter cannot be converted to a numeric value: ") + bad);
  }
}

TEST(TablesNumber, KeepsDynamoDbsPrecisionAndRange) {
  // 38 significant digits; trailing zeros do not count.
  EXPECT_EQ(canonical("123456789012345678901234567890123456789"),
            "error: Attempting to store more than 38 significant digits in a Number");
  EXPECT_EQ(canonical("1234567890123456789012345678901234567800"),
            "1234567890123456789012345678901234567800");
  EXPECT_EQ(canonical("1.000000000000000000000000000000000000000000"), "1");
  // Magnitudes 1E-130 .. 9.9999999999999999999999999999999999999E+125.
  EXPECT_EQ(canonical("1E-130"), "0." + std::string(129, '0') + "1");
  EXPECT_EQ(canonical("-1E-130"), "-0." + std::string(129, '0') + "1");
  EXPECT_EQ(canonical("9.9999999999999999999999999999999999999E+125"),
            std::string(38, '9') + std::string(88, '0'));
  EXPECT_EQ(canonical("1E-131"),
            "error: Number underflow. Attempting to store a number with magnitude smaller than "
            "supported range");
  EXPECT_EQ(canonical("1E+126"),
            "error: Number overflow. Attempting to store a number with magnitude larger than "
            "supported range");
  EXPECT_EQ(canonical("-1E+126"),
            "error: Number overflow. Attempting to store a number with magnitude larger than "
            "supported range");
  EXPECT_EQ(canonical("1E+99999999999999999999"),
            "error: Number overflow. Attempting to store a number with magnitude larger than "
            "supported range");
  EXPECT_EQ(canonical("0E+99999999999999999999"), "0");
  // The range before the digits, as DynamoDB checks them.
  EXPECT_EQ(canonical("1234567890123456789012345678901234567890123E+200"),
            "error: Number overflow. Attempting to store a number with magnitude larger than "
            "supported range");
}

TEST(TablesNumber, AddsAndSubtractsExactly) {
  auto sum = [](std::string_view a, std::string_view b) {
    auto r = Number::add(num(a), num(b));
    return r ? r->to_string() : "error: " + r.error().message;
  };
  auto difference = [](std::string_view a, std::string_view b) {
    auto r = Number::subtract(num(a), num(b));
    return r ? r->to_string() : "error: " + r.error().message;
  };
  EXPECT_EQ(sum("0.1", "0.2"), "0.3");  // where a double says 0.30000000000000004
  EXPECT_EQ(sum("99", "1"), "100");
  EXPECT_EQ(sum("0.5", "0.25"), "0.75");
  EXPECT_EQ(sum("-5", "3"), "-2");
  EXPECT_EQ(sum("5", "-5"), "0");
  EXPECT_EQ(sum("0", "-7.5"), "-7.5");
  EXPECT_EQ(sum("1E+20", "1"), "100000000000000000001");
  EXPECT_EQ(difference("1", "0.999"), "0.001");
  EXPECT_EQ(difference("-1", "-1"), "0");
  EXPECT_EQ(difference("2", "5"), "-3");
  EXPECT_EQ(difference("0", "5"), "-5");
  EXPECT_EQ(sum(std::string(38, '9'), "1"), "1" + std::string(38, '0'));
  EXPECT_EQ(sum(std::string(38, '9'), "0.1"),
            "error: Attempting to store more than 38 significant digits in a Number");
  EXPECT_EQ(sum("9.9999999999999999999999999999999999999E+125", "1E+88"),
            "error: Number overflow. Attempting to store a number with magnitude larger than "
            "supported range");
}

TEST(TablesNumber, ComparesByValue) {
  EXPECT_EQ(num("1.0").compare(num("1")), 0);
  EXPECT_LT(num("-2").compare(num("-1")), 0);
  EXPECT_GT(num("0.123").compare(num("0.12")), 0);
  EXPECT_LT(num("-0.123").compare(num("-0.12")), 0);
  EXPECT_LT(num("99").compare(num("100")), 0);
  EXPECT_GT(num("0").compare(num("-1E-130")), 0);
  EXPECT_LT(num("0").compare(num("1E-130")), 0);
}

TEST(TablesNumber, SortKeysSortAsTheNumbers) {
  std::vector<Number> numbers;
  for (const char* t : {"0",    "-0.5",  "0.5",   "1",      "-1",      "10",     "-10",
                        "9.99", "-9.99", "100",   "1E+125", "-1E+125", "1E-130", "-1E-130",
                        "0.12", "0.123", "-0.12", "-0.123", "12",      "120",    "121"}) {
    numbers.push_back(num(t));
  }
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::string t = rng() % 2 ? "-" : "";
    t += std::to_string(rng() % 100000);
    t += "." + std::to_string(rng() % 1000);
    t += "e" + std::to_string(static_cast<int>(rng() % 60) - 30);
    numbers.push_back(num(t));
  }
  for (size_t i = 0; i < numbers.size(); ++i) {
    for (size_t j = i + 1; j < numbers.size(); j += 1 + i % 7) {
      int by_value = numbers[i].compare(numbers[j]);
      int by_key = numbers[i].sort_key().compare(numbers[j].sort_key());
      ASSERT_EQ(by_value < 0, by_key < 0)
          << numbers[i].to_string() << " vs " << numbers[j].to_string();
      ASSERT_EQ(by_value == 0, by_key == 0)
          << numbers[i].to_string() << " vs " << numbers[j].to_string();
    }
  }
}

}  // namespace
}  // namespace portico::tables
