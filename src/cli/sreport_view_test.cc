#include "cli/sreport_view.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace shoal {
namespace {

// The reports' hours are local time's: pin it so the expected texts hold anywhere.
class SreportViewTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("TZ", "UTC", 1);
    tzset();
  }
  // 2026-11-20T10:00:00Z
  static constexpr int64_t kTen = 1795168800;

  SreportUsage Usage() {
    SreportUsage u;
    u.cluster = "lab";
    u.period = {kTen, kTen + 2 * 3600};
    u.cpus = 4;  // 28,800 CPU-seconds reported
    u.used[{"physics", "alice"}] = 7200;
    u.used[{"physics", "bob"}] = 90;
    u.used[{"unknown", "carol"}] = 3600;
    return u;
  }
};

TEST_F(SreportViewTest, PeriodsAreWholeHoursAndNeverPastThisHour) {
  const int64_t now = kTen + 10 * 3600 + 1800;  // 20:30
  SreportPeriod p = RoundSreportPeriod(kTen - 1799, kTen + 2 * 3600 + 1, now);
  EXPECT_EQ(p.start, kTen);
  EXPECT_EQ(p.end, kTen + 3 * 3600);
  p = RoundSreportPeriod(kTen + 5 * 3600, kTen, now);  // ends before it starts: one hour
  EXPECT_EQ(p.start, kTen + 5 * 3600);
  EXPECT_EQ(p.end, kTen + 6 * 3600);
  p = RoundSreportPeriod(kTen, kTen + 3600, now);  // already whole: unchanged
  EXPECT_EQ(p.end, kTen + 3600);
  p = RoundSreportPeriod(kTen, kTen + 100 * 3600, now);
  EXPECT_EQ(p.end, kTen + 11 * 3600);  // the end of 20:00-21:00
  p = DefaultSreportPeriod(now);
  EXPECT_EQ(p.start, kTen - 10 * 3600 - 86400);  // yesterday's midnight
  EXPECT_EQ(p.end, kTen - 10 * 3600);
}

TEST_F(SreportViewTest, Units) {
  EXPECT_EQ(ParseSreportUnit("HourPer"), SreportUnit::kHourPer);
  EXPECT_EQ(ParseSreportUnit("minutes"), SreportUnit::kMinutes);
  EXPECT_FALSE(ParseSreportUnit("fortnights"));
}

TEST_F(SreportViewTest, ClusterUtilizationInMinutes) {
  EXPECT_EQ(RenderClusterUtilization(Usage(), {}),
            std::string(80, '-') + "\n" +
                "Cluster Utilization 2026-11-20T10:00:00 - 2026-11-20T11:59:59\n"
                "Usage reported in CPU Minutes\n" +
                std::string(80, '-') + "\n" +
                "  Cluster Allocate     Down PLND Dow     Idle  Planned Reported \n"
                "--------- -------- -------- -------- -------- -------- -------- \n"
                "      lab      181        0        0      298        0      480 \n");
}

TEST_F(SreportViewTest, ParsableAndPercent) {
  SreportStyle style;
  style.parsable2 = true;
  style.header = false;
  style.unit = SreportUnit::kPercent;
  EXPECT_EQ(RenderClusterUtilization(Usage(), style),
            "lab|37.81%|0.00%|0.00%|62.19%|0.00%|100.00%\n");
  style.parsable = true;
  style.parsable2 = false;
  style.unit = SreportUnit::kHourPer;
  EXPECT_EQ(RenderClusterUtilization(Usage(), style),
            "lab|3(37.81%)|0(0.00%)|0(0.00%)|4(62.19%)|0(0.00%)|8(100.00%)|\n");
}

TEST_F(SreportViewTest, DownAndPlannedDownFromNodeEvents) {
  SreportUsage u = Usage();  // 10,890 allocated of 28,800
  u.down = 3600;
  u.planned_down = 7200;
  SreportStyle style;
  style.parsable2 = true;
  style.header = false;
  style.unit = SreportUnit::kSeconds;
  EXPECT_EQ(RenderClusterUtilization(u, style), "lab|10890|3600|7200|7110|0|28800\n");
}

TEST_F(SreportViewTest, UserTopOrdersByUsageAndCuts) {
  SreportStyle style;
  style.parsable2 = true;
  std::string out = RenderUserTop(Usage(), style, 2, {{"alice", "Alice Liddell"}});
  EXPECT_NE(out.find("Top 2 Users 2026-11-20T10:00:00 - 2026-11-20T11:59:59 (7200 secs)\n"),
            std::string::npos);
  EXPECT_NE(out.find("Cluster|Login|Proper Name|Account|Used|Energy\n"
                     "lab|alice|Alice Liddell|physics|120|0\n"
                     "lab|carol||unknown|60|0\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("bob"), std::string::npos);
}

TEST_F(SreportViewTest, AccountUtilizationByUserWalksTheTree) {
  SreportStyle style;
  style.parsable2 = true;
  style.header = false;
  style.unit = SreportUnit::kSeconds;
  // physics under science under root; carol's account is unknown: under root.
  std::string out = RenderAccountUtilizationByUser(
      Usage(), style, {{"root", ""}, {"science", "root"}, {"physics", "science"}}, {});
  EXPECT_EQ(out,
            "lab|root|||10890|0\n"
            "lab|root|carol||3600|0\n"
            "lab|science|||7290|0\n"
            "lab|physics|||7290|0\n"
            "lab|physics|alice||7200|0\n"
            "lab|physics|bob||90|0\n");
}

}  // namespace
}  // namespace shoal
