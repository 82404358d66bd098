// Path normalisation before routing (RFC 3986 6.2.2).
#include <gtest/gtest.h>

#include <string>

#include "http/path.h"

namespace portico::http {
namespace {

std::string norm(std::string_view in) {
  std::string scratch;
  std::string_view out;
  const char* err = normalize_path(in, scratch, out);
  return err ? std::string("ERROR: ") + err : std::string(out);
}

TEST(Path, UnchangedPathsAreReturnedAsIs) {
  std::string scratch;
  std::string_view in = "/a/b.c/d..e/.f";
  std::string_view out;
  ASSERT_EQ(normalize_path(in, scratch, out), nullptr);
  EXPECT_EQ(out.data(), in.data());  // no copy
}

TEST(Path, DotSegments) {
  EXPECT_EQ(norm("/a/./b"), "/a/b");
  EXPECT_EQ(norm("/a/../b"), "/b");
  EXPECT_EQ(norm("/../x"), "/x");
  EXPECT_EQ(norm("/a/b/../../../c"), "/c");
  EXPECT_EQ(norm("/a/b/.."), "/a/");
  EXPECT_EQ(norm("/a/."), "/a/");
  EXPECT_EQ(norm("/."), "/");
  EXPECT_EQ(norm("/.."), "/");
  EXPECT_EQ(norm("/public/../admin"), "/admin");
}

TEST(Path, PercentDecodingOfUnreservedOnly) {
  EXPECT_EQ(norm("/%61dmin"), "/admin");
  EXPECT_EQ(norm("/%7Euser/%2Dx"), "/~user/-x");
  EXPECT_EQ(norm("/a%2Fb"), "/a%2Fb");      // an encoded slash stays encoded
  EXPECT_EQ(norm("/a%2fb"), "/a%2Fb");      // with upper-case hex
  EXPECT_EQ(norm("/sp%20ace"), "/sp%20ace");
  EXPECT_EQ(norm("/%2e%2e/admin"), "/admin");  // encoded dots are dots
}

TEST(Path, InvalidEscapes) {
  EXPECT_EQ(norm("/%zz"), "ERROR: invalid percent-encoding in path");
  EXPECT_EQ(norm("/%4"), "ERROR: invalid percent-encoding in path");
  EXPECT_EQ(norm("/a%"), "ERROR: invalid percent-encoding in path");
}

}  // namespace
}  // namespace portico::http
