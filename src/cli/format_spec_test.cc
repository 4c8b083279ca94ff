#include "cli/format_spec.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(FormatSpecTest, ParsesWidthsAndAlignment) {
  std::vector<FieldSpec> f = ParsePercentFormat("%.18i %9P|%j", "iPj", nullptr);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].code, 'i');
  EXPECT_EQ(f[0].width, 18);
  EXPECT_TRUE(f[0].right);
  EXPECT_EQ(f[1].prefix, " ");
  EXPECT_EQ(f[1].width, 9);
  EXPECT_FALSE(f[1].right);
  EXPECT_EQ(f[2].prefix, "|");
  EXPECT_EQ(f[2].width, 0);
}

TEST(FormatSpecTest, InvalidCodeStaysLiteralAndIsReported) {
  // squeue -o "%.5i %-5j|%5u|" prints "%-5j" as text and complains about '-'.
  std::string bad;
  std::vector<FieldSpec> f =
      ParsePercentFormat("%.5i %-5j|%5u|", "iju", [&](char c) { bad.push_back(c); });
  EXPECT_EQ(bad, "-");
  std::string line = RenderLine(f, [](const FieldSpec& s) {
    return s.code == 'i' ? std::string("5_[4-15%4]") : std::string("root");
  });
  EXPECT_EQ(line, "5_[4- %-5j|root |");
}

TEST(FormatSpecTest, PercentAfterWidthIsReportedTwice) {
  std::string bad;
  std::vector<FieldSpec> f = ParsePercentFormat("%.3%|", "i", [&](char c) { bad.push_back(c); });
  EXPECT_EQ(bad, "%|");
  EXPECT_EQ(RenderLine(f, [](const FieldSpec&) { return std::string(); }), "%.3%|");
}

TEST(FormatSpecTest, FitFieldPadsCutsOrSpares) {
  EXPECT_EQ(FitField("wrap", 8, true), "    wrap");
  EXPECT_EQ(FitField("wrap", 8, false), "wrap    ");
  EXPECT_EQ(FitField("averyveryverylongjobname", 8, true), "averyver");
  EXPECT_EQ(FitField("1-02:04:00", 9, true, /*cut=*/false), "1-02:04:00");
  EXPECT_EQ(FitField("x", 0, true), "x");
}

TEST(FormatSpecTest, NamedFormat) {
  std::vector<FieldSpec> f = ParseNamedFormat("jobid:5,name:.10,state", 20);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].name, "jobid");
  EXPECT_EQ(f[0].width, 5);
  EXPECT_TRUE(f[1].right);
  EXPECT_EQ(f[1].width, 10);
  EXPECT_EQ(f[2].width, 20);
}

}  // namespace
}  // namespace shoal
