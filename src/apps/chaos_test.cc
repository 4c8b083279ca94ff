#include "apps/chaos.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(ChaosTest, ParsesDurations) {
  EXPECT_EQ(*ParseChaosSeconds("45", "--for"), 45);
  EXPECT_EQ(*ParseChaosSeconds("45s", "--for"), 45);
  EXPECT_EQ(*ParseChaosSeconds("3m", "--for"), 180);
  EXPECT_EQ(*ParseChaosSeconds("2h", "--for"), 7200);
  for (const char* bad : {"", "0", "s", "1x", "-3", "1.5m", "99999999999h"}) {
    Result<int64_t> r = ParseChaosSeconds(bad, "--for");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().message(), std::string("invalid --for '") + bad +
                                        "' (expected seconds, or a number with s, m or h)");
  }
}

TEST(ChaosTest, ParsesRanges) {
  EXPECT_EQ(*ParseChaosRange("20-60", "--every"), std::make_pair(int64_t{20}, int64_t{60}));
  EXPECT_EQ(*ParseChaosRange("30", "--every"), std::make_pair(int64_t{30}, int64_t{30}));
  EXPECT_EQ(*ParseChaosRange("1m-2m", "--every"), std::make_pair(int64_t{60}, int64_t{120}));
  EXPECT_EQ(ParseChaosRange("60-20", "--every").status().message(),
            "invalid --every '60-20' (the low end is above the high end)");
  EXPECT_FALSE(ParseChaosRange("20-", "--every").ok());
  EXPECT_FALSE(ParseChaosRange("-20", "--every").ok());
}

}  // namespace
}  // namespace shoal
