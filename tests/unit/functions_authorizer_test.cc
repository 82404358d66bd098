// Authorizer answers as API Gateway reads them: the simple format, IAM policies
// matched against route ARNs (wildcards, Deny wins), and nonsense refused.
#include <gtest/gtest.h>

#include "functions/authorizer.h"

namespace portico::functions {
namespace {

constexpr std::string_view kArn =
    "arn:aws:execute-api:us-east-1:000000000000:portico/$default/GET/items/42";

TEST(IamMatch, Wildcards) {
  EXPECT_TRUE(iam_match("*", kArn));
  EXPECT_TRUE(iam_match(kArn, kArn));
  EXPECT_TRUE(iam_match("arn:aws:execute-api:us-east-1:000000000000:portico/*/GET/items/*", kArn));
  EXPECT_TRUE(iam_match("arn:aws:execute-api:*:*:portico/$default/GET/items/4?", kArn));
  EXPECT_TRUE(iam_match("*/GET/*", kArn));
  EXPECT_FALSE(iam_match("*/POST/*", kArn));
  EXPECT_FALSE(
      iam_match("arn:aws:execute-api:us-east-1:000000000000:portico/$default/GET/items/4", kArn));
  EXPECT_FALSE(iam_match(
      "arn:aws:execute-api:us-east-1:000000000000:portico/$default/GET/items/42/x", kArn));
  EXPECT_TRUE(iam_match("execute-api:*", "execute-api:Invoke"));
  EXPECT_FALSE(
      iam_match("execute-api:invoke", "execute-api:Invoke"));  // case-sensitive, as IAM's ARNs
  EXPECT_TRUE(iam_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(iam_match("a*b*c", "aXXbYY"));
}

TEST(AuthorizerResult, Simple) {
  auto d = parse_authorizer_result(R"({"isAuthorized":true,"context":{"user":"ann","n":1}})", true,
                                   "custom");
  ASSERT_TRUE(d.error.empty()) << d.error;
  EXPECT_TRUE(d.allows(kArn));
  ASSERT_TRUE(d.principal);
  EXPECT_TRUE(d.principal->from_authorizer);
  EXPECT_EQ(d.principal->method, "custom");
  EXPECT_EQ(d.principal->claims.at("user").as_string(), "ann");
  d = parse_authorizer_result(R"({"isAuthorized":false})", true, "custom");
  EXPECT_TRUE(d.error.empty());
  EXPECT_FALSE(d.allows(kArn));
}

TEST(AuthorizerResult, NonsenseIsAnErrorNeverAnAllow) {
  for (const char* bad : {"", "hello", "\"yes\"", "[]", R"({"isAuthorized":"true"})",
                          R"({"context":{}})", R"({"isAuthorized":true,"context":"x"})"}) {
    auto d = parse_authorizer_result(bad, true, "custom");
    EXPECT_FALSE(d.error.empty()) << bad;
    EXPECT_FALSE(d.allows(kArn)) << bad;
  }
  for (const char* bad :
       {R"({"principalId":"u"})", R"({"policyDocument":{}})",
        R"({"policyDocument":{"Statement":[{"Effect":"Maybe","Action":"*","Resource":"*"}]}})",
        R"({"policyDocument":{"Statement":[{"Effect":"Allow","Resource":"*"}]}})",
        R"({"policyDocument":{"Statement":[{"Effect":"Allow","Action":"*","Resource":[1]}]}})"}) {
    auto d = parse_authorizer_result(bad, false, "custom");
    EXPECT_FALSE(d.error.empty()) << bad;
    EXPECT_FALSE(d.allows(kArn)) << bad;
  }
}

TEST(AuthorizerResult, IamPolicy) {
  auto d = parse_authorizer_result(R"({"principalId":"user-1","context":{"tier":"gold"},
    "policyDocument":{"Version":"2012-10-17","Statement":[
      {"Action":"execute-api:Invoke","Effect":"Allow","Resource":["*/GET/items/*","*/GET/orders"]},
      {"Action":["execute-api:Invoke"],"Effect":"Deny","Resource":"*/GET/items/secret"}]}})",
                                   false, "policy");
  ASSERT_TRUE(d.error.empty()) << d.error;
  EXPECT_EQ(d.principal->principal_id, "user-1");
  EXPECT_EQ(d.principal->subject, "user-1");
  EXPECT_TRUE(d.allows(kArn));
  EXPECT_TRUE(d.allows("arn:aws:execute-api:us-east-1:000000000000:portico/$default/GET/orders"));
  EXPECT_FALSE(
      d.allows("arn:aws:execute-api:us-east-1:000000000000:portico/$default/GET/items/secret"));
  EXPECT_FALSE(
      d.allows("arn:aws:execute-api:us-east-1:000000000000:portico/$default/POST/items/42"));
  // A single statement object is accepted too; an Allow for another action does not count.
  d = parse_authorizer_result(
      R"({"policyDocument":{"Statement":{"Action":"execute-api:ManageConnections","Effect":"Allow","Resource":"*"}}})",
      false, "policy");
  ASSERT_TRUE(d.error.empty()) << d.error;
  EXPECT_FALSE(d.allows(kArn));
}

}  // namespace
}  // namespace portico::functions
