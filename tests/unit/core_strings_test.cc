#include <gtest/gtest.h>

#include "core/strings.h"

namespace portico {
namespace {

TEST(Strings, SuggestFindsCloseMisspellings) {
  std::vector<std::string> names = {"products", "orders", "identity"};
  EXPECT_EQ(suggest("prodcts", names), "products");
  EXPECT_EQ(suggest("order", names), "orders");
  EXPECT_EQ(suggest("billing", names), "");  // nothing close: no suggestion
}

TEST(Strings, ParseU64IsStrict) {
  EXPECT_EQ(parse_u64("0"), 0u);
  EXPECT_EQ(parse_u64("18446744073"), 18446744073u);
  EXPECT_FALSE(parse_u64(""));
  EXPECT_FALSE(parse_u64("+5"));
  EXPECT_FALSE(parse_u64("5 "));
  EXPECT_FALSE(parse_u64("99999999999999999999"));  // overflow
}

TEST(Strings, JsonEscapeHandlesControlCharacters) {
  EXPECT_EQ(json_quote("a\"b\\c\n\x01"), "\"a\\\"b\\\\c\\n\\u0001\"");
}

}  // namespace
}  // namespace portico
