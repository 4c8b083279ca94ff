#include "apps/cluster_processes.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(DurationOptionTest, ParsesDurations) {
  EXPECT_EQ(*ParseSeconds("45", "--for"), 45);
  EXPECT_EQ(*ParseSeconds("45s", "--for"), 45);
  EXPECT_EQ(*ParseSeconds("3m", "--for"), 180);
  EXPECT_EQ(*ParseSeconds("2h", "--for"), 7200);
  for (const char* bad : {"", "0", "s", "1x", "-3", "1.5m", "99999999999h"}) {
    Result<int64_t> r = ParseSeconds(bad, "--for");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), std::string("invalid --for '") + bad +
                                        "' (expected seconds, or a number with s, m or h)");
  }
}

TEST(DurationOptionTest, ParsesRanges) {
  EXPECT_EQ(*ParseSecondsRange("20-60", "--every"), std::make_pair(int64_t{20}, int64_t{60}));
  EXPECT_EQ(*ParseSecondsRange("30", "--every"), std::make_pair(int64_t{30}, int64_t{30}));
  EXPECT_EQ(*ParseSecondsRange("1m-2m", "--every"), std::make_pair(int64_t{60}, int64_t{120}));
  EXPECT_EQ(ParseSecondsRange("60-20", "--every").status().message(),
            "invalid --every '60-20' (the low end is above the high end)");
  EXPECT_FALSE(ParseSecondsRange("20-", "--every").ok());
  EXPECT_FALSE(ParseSecondsRange("-20", "--every").ok());
}

}  // namespace
}  // namespace shoal
