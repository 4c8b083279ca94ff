#include "common/strings.h"

#include <gtest/gtest.h>

#include "common/status.h"

namespace shoal {
namespace {

using Parts = std::vector<std::string>;

TEST(SplitTest, KeepsEmptyFields) {
  EXPECT_EQ(Split("a,,b", ','), (Parts{"a", "", "b"}));
  EXPECT_EQ(Split("", ','), (Parts{""}));
  EXPECT_EQ(Split(",", ','), (Parts{"", ""}));
  EXPECT_EQ(Split("abc", ','), (Parts{"abc"}));
  EXPECT_EQ(Split("a:b:", ':'), (Parts{"a", "b", ""}));
}

TEST(TrimTest, RemovesSurroundingWhitespaceOnly) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("   "), "");
  EXPECT_EQ(Trim("x"), "x");
}

TEST(CaseTest, ConvertsAndCompares) {
  EXPECT_EQ(ToLower("NodeName=N1"), "nodename=n1");
  EXPECT_EQ(ToUpper("term-9"), "TERM-9");
  EXPECT_TRUE(EqualsIgnoreCase("PartitionName", "partitionname"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "abd"));
  EXPECT_FALSE(EqualsIgnoreCase("abc", "ab"));
}

TEST(JoinTest, JoinsWithSeparator) {
  EXPECT_EQ(Join({}, ","), "");
  EXPECT_EQ(Join({"a"}, ","), "a");
  EXPECT_EQ(Join({"a", "b", "c"}, ", "), "a, b, c");
}

TEST(ParseIntTest, AcceptsWholeDecimalNumbers) {
  EXPECT_EQ(ParseInt("0"), 0);
  EXPECT_EQ(ParseInt("-42"), -42);
  EXPECT_EQ(ParseInt("+7"), 7);
  EXPECT_EQ(ParseInt("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt("-9223372036854775808"), INT64_MIN);
}

TEST(ParseIntTest, RejectsJunkAndOverflow) {
  for (const char* s :
       {"", "-", "+", "12a", " 1", "1 ", "0x10", "+-1", "--1", "1.5", "9223372036854775808"}) {
    EXPECT_EQ(ParseInt(s), std::nullopt) << s;
  }
}

TEST(ParseUintTest, RejectsSignsJunkAndOverflow) {
  EXPECT_EQ(ParseUint("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseUint("007"), 7u);
  for (const char* s : {"", "-1", "+1", "1x", "18446744073709551616"}) {
    EXPECT_EQ(ParseUint(s), std::nullopt) << s;
  }
}

TEST(IsUtf8Test, AcceptsWellFormedOnly) {
  EXPECT_TRUE(IsUtf8(""));
  EXPECT_TRUE(IsUtf8("plain ascii"));
  EXPECT_TRUE(IsUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsUtf8("caf\xe9"));           // Latin-1
  EXPECT_FALSE(IsUtf8("\xc3"));              // cut short
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));          // overlong
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(StatusTest, CarriesCodeAndMessage) {
  EXPECT_TRUE(Status::Ok().ok());
  Status s = NotFound("no such job 5");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "no such job 5");
  EXPECT_STREQ(StatusCodeName(StatusCode::kInvalidArgument), "INVALID_ARGUMENT");
  EXPECT_STREQ(StatusCodeName(StatusCode::kOk), "OK");
}

TEST(StatusTest, ResultHoldsValueOrStatus) {
  Result<int> e = Unavailable("down");
  EXPECT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kUnavailable);
  Result<std::string> r = std::string("three");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "three");
}

}  // namespace
}  // namespace shoal
