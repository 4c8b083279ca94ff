#include "core/job_array.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace shoal {
namespace {

constexpr uint32_t kMax = 1001;

using Ids = std::vector<int64_t>;

ArraySpec Parse(std::string_view text, uint32_t max = kMax) {
  auto r = ParseArraySpec(text, max);
  EXPECT_TRUE(r.ok()) << "'" << text << "': " << r.status().message();
  return r.ok() ? *r : ArraySpec{};
}

void ExpectInvalid(std::string_view text, uint32_t max = kMax) {
  auto r = ParseArraySpec(text, max);
  ASSERT_FALSE(r.ok()) << "'" << text << "' was accepted";
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << text;
  EXPECT_NE(r.status().message().find("Invalid job array specification"), std::string::npos)
      << r.status().message();
}

TEST(ParseArraySpecTest, Range) {
  ArraySpec s = Parse("0-9");
  EXPECT_EQ(s.task_ids, (Ids{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(s.max_running, 0u);
}

TEST(ParseArraySpecTest, ListOfValuesAndRanges) {
  EXPECT_EQ(Parse("1,3,5-7").task_ids, (Ids{1, 3, 5, 6, 7}));
  EXPECT_EQ(Parse("7").task_ids, (Ids{7}));
  EXPECT_EQ(Parse("3-3").task_ids, (Ids{3}));
}

TEST(ParseArraySpecTest, StepAndThrottle) {
  EXPECT_EQ(Parse("0-20:4").task_ids, (Ids{0, 4, 8, 12, 16, 20}));
  EXPECT_EQ(Parse("1-10:4").task_ids, (Ids{1, 5, 9}));
  ArraySpec s = Parse("0-15%4");
  EXPECT_EQ(s.task_ids.size(), 16u);
  EXPECT_EQ(s.task_ids.front(), 0);
  EXPECT_EQ(s.task_ids.back(), 15);
  EXPECT_EQ(s.max_running, 4u);
  s = Parse("0-20:10%1");
  EXPECT_EQ(s.task_ids, (Ids{0, 10, 20}));
  EXPECT_EQ(s.max_running, 1u);
}

TEST(ParseArraySpecTest, SortsAndDropsDuplicates) {
  EXPECT_EQ(Parse("5,1-3,2,3").task_ids, (Ids{1, 2, 3, 5}));
}

TEST(ParseArraySpecTest, HugeStepDoesNotOverflow) {
  EXPECT_EQ(Parse("1-2:9223372036854775807").task_ids, (Ids{1}));
  EXPECT_EQ(Parse("999-1000:9223372036854775806").task_ids, (Ids{999}));
}

TEST(ParseArraySpecTest, Malformed) {
  // clang-format off
  const std::vector<std::string> bad = {
      "", "5-1", "a", "%0", "0-3%0", "0-3%", "0-3%x", "0-3%-1", "1,", ",1", "1,,2", "-1", "1-",
      "-", "1--3", "0-4:0", "0-4:-1", "0-4:", "1-a", "1.5", " 1", "0-3%2%3",
      "99999999999999999999"};
  // clang-format on
  for (const std::string& text : bad) {
    SCOPED_TRACE(text);
    ExpectInvalid(text);
  }
}

TEST(ParseArraySpecTest, IdsMustBeBelowMaxArraySize) {
  EXPECT_EQ(Parse("0-9", 10).task_ids.size(), 10u);
  ExpectInvalid("10", 10);
  ExpectInvalid("0-10", 10);
  ExpectInvalid("1,3,10", 10);
  ExpectInvalid("0-1001");
  auto r = ParseArraySpec("0-10", 10);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("MaxArraySize=10"), std::string::npos)
      << r.status().message();
}

TEST(FormatTaskIdsTest, CompactRanges) {
  EXPECT_EQ(FormatTaskIds({}), "");
  EXPECT_EQ(FormatTaskIds({7}), "7");
  EXPECT_EQ(FormatTaskIds({1, 2, 3, 5}), "1-3,5");
  EXPECT_EQ(FormatTaskIds({0, 2, 4}), "0,2,4");
  EXPECT_EQ(FormatTaskIds({0, 1, 5, 6, 7, 9}), "0-1,5-7,9");
}

}  // namespace
}  // namespace shoal
