#include "common/webhook_url.h"

#include <gtest/gtest.h>

#include <string>

namespace shoal {
namespace {

std::string Problem(std::string_view url) {
  Status s = ValidateWebhookUrl(url);
  EXPECT_TRUE(s.ok() || s.code() == StatusCode::kInvalidArgument);
  return s.ok() ? "" : s.message();
}

TEST(WebhookUrlTest, AcceptsHttpAndHttpsWithAHost) {
  for (const char* url :
       {"http://tracker", "https://hooks.example.com/shoal?team=ml#x", "HTTP://127.0.0.1:8080/",
        "https://user:pw@example.com:443/p", "http://[::1]:9000/hook", "http://[fe80::1]"}) {
    EXPECT_EQ(Problem(url), "") << url;
  }
}

TEST(WebhookUrlTest, RefusesOtherSchemesNamingTheUrl) {
  EXPECT_EQ(Problem("ftp://x"),
            "invalid webhook URL 'ftp://x': only http:// and https:// URLs are allowed");
  EXPECT_NE(Problem("file:///etc/passwd").find("only http:// and https://"), std::string::npos);
  EXPECT_NE(Problem("example.com/hook").find("only http:// and https://"), std::string::npos);
  EXPECT_NE(Problem("httpx://example.com").find("only http:// and https://"), std::string::npos);
}

TEST(WebhookUrlTest, RefusesMissingHostsAndBadPorts) {
  EXPECT_NE(Problem("http://").find("no host"), std::string::npos);
  EXPECT_NE(Problem("https:///path").find("no host"), std::string::npos);
  EXPECT_NE(Problem("http://:8080/").find("no host"), std::string::npos);
  EXPECT_NE(Problem("http://user@/").find("no host"), std::string::npos);
  EXPECT_NE(Problem("http://h:0/").find("port"), std::string::npos);
  EXPECT_NE(Problem("http://h:65536/").find("port"), std::string::npos);
  EXPECT_NE(Problem("http://h:http/").find("port"), std::string::npos);
  EXPECT_NE(Problem("http://h:/").find("port is empty"), std::string::npos);
  EXPECT_NE(Problem("http://[::1/").find("']'"), std::string::npos);
}

TEST(WebhookUrlTest, RefusesSpacesControlsEmptinessAndLength) {
  EXPECT_NE(Problem("http://h/a b").find("white space"), std::string::npos);
  EXPECT_NE(Problem("http://h/\n").find("control"), std::string::npos);
  EXPECT_EQ(Problem(""), "invalid webhook URL: it is empty");
  const std::string longest = "http://h/" + std::string(kMaxWebhookUrlLength - 9, 'a');
  EXPECT_EQ(Problem(longest), "");
  const std::string too_long = longest + "a";
  const std::string problem = Problem(too_long);
  EXPECT_NE(problem.find("longer than 2048"), std::string::npos);
  EXPECT_LT(problem.size(), 200u);  // the URL is shortened in the message
}

}  // namespace
}  // namespace shoal
