#include "common/units.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

uint64_t Mb(std::string_view text) {
  auto r = ParseMemoryMB(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : 999999;
}

TEST(ParseMemoryMBTest, Suffixes) {
  EXPECT_EQ(Mb("100"), 100u);
  EXPECT_EQ(Mb("0"), 0u);
  EXPECT_EQ(Mb("100M"), 100u);
  EXPECT_EQ(Mb("100m"), 100u);
  EXPECT_EQ(Mb("2G"), 2048u);
  EXPECT_EQ(Mb("2g"), 2048u);
  EXPECT_EQ(Mb("2GB"), 2048u);
  EXPECT_EQ(Mb("1T"), 1048576u);
  EXPECT_EQ(Mb("1024K"), 1u);
}

TEST(ParseMemoryMBTest, KilobytesRoundUp) {
  EXPECT_EQ(Mb("512K"), 1u);
  EXPECT_EQ(Mb("1k"), 1u);
  EXPECT_EQ(Mb("1025K"), 2u);
  EXPECT_EQ(Mb("0K"), 0u);
}

TEST(ParseMemoryMBTest, RejectsBadInput) {
  for (const char* s : {"", "G", "-1", "-1G", "+1", "1X", "1GX", "1 G", " 1", "abc", "1e3",
                        "99999999999999999999", "18014398509481984G", "17592186044416T"}) {
    auto r = ParseMemoryMB(s);
    EXPECT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << s;
  }
  EXPECT_EQ(ParseMemoryMB("-1G").status().message(),
            "invalid memory size '-1G': must not be negative");
}

TEST(ParseMemoryMBTest, RejectsFractionsClearly) {
  auto r = ParseMemoryMB("1.5G");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "invalid memory size '1.5G': fractions are not supported, use a smaller unit (e.g. "
            "1536M for 1.5G)");
}

TEST(FormatMemoryMBTest, LargestExactUnit) {
  EXPECT_EQ(FormatMemoryMB(0), "0");
  EXPECT_EQ(FormatMemoryMB(1), "1M");
  EXPECT_EQ(FormatMemoryMB(1500), "1500M");
  EXPECT_EQ(FormatMemoryMB(1024), "1G");
  EXPECT_EQ(FormatMemoryMB(4096), "4G");
  EXPECT_EQ(FormatMemoryMB(1536), "1536M");
  EXPECT_EQ(FormatMemoryMB(1048576), "1T");
  EXPECT_EQ(FormatMemoryMB(1048576 + 1024), "1025G");
}

// Found by fuzz_units: 36 PiB printed as "36P", which no --mem parser reads back.
TEST(FormatMemoryMBTest, StopsAtTerabytes) {
  EXPECT_EQ(FormatMemoryMB(uint64_t{1} << 30), "1024T");
  EXPECT_EQ(FormatMemoryMB(uint64_t{36} << 30), "36864T");
  EXPECT_EQ(FormatMemoryMB(uint64_t{1} << 60), "1099511627776T");
  for (uint64_t mb : {uint64_t{1} << 30, uint64_t{36} << 30, uint64_t{1} << 63}) {
    auto r = ParseMemoryMB(FormatMemoryMB(mb));
    ASSERT_TRUE(r.ok()) << FormatMemoryMB(mb);
    EXPECT_EQ(*r, mb);
  }
}

TEST(FormatMemoryMBTest, RoundTrips) {
  for (uint64_t mb : {1u, 1500u, 4096u, 1048576u, 3u * 1048576u}) {
    auto r = ParseMemoryMB(FormatMemoryMB(mb));
    ASSERT_TRUE(r.ok()) << mb;
    EXPECT_EQ(*r, mb);
  }
}

}  // namespace
}  // namespace shoal
