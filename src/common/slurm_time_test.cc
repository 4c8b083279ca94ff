#include "common/slurm_time.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <optional>

namespace shoal {
namespace {

int64_t Limit(std::string_view text) {
  auto r = ParseTimeLimit(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? *r : -999;
}

TEST(ParseTimeLimitTest, AllSbatchForms) {
  EXPECT_EQ(Limit("10"), 600);         // M
  EXPECT_EQ(Limit("1:30"), 90);        // M:S
  EXPECT_EQ(Limit("1:00:00"), 3600);   // H:M:S
  EXPECT_EQ(Limit("2-0"), 172800);     // D-H
  EXPECT_EQ(Limit("1-2"), 93600);      // D-H
  EXPECT_EQ(Limit("1-2:3"), 93780);    // D-H:M
  EXPECT_EQ(Limit("1-2:3:4"), 93784);  // D-H:M:S
  EXPECT_EQ(Limit("0:30"), 30);
  EXPECT_EQ(Limit("90"), 5400);
  EXPECT_EQ(Limit("00:05:00"), 300);
  // Slurm does not range-check fields: 90 minutes is fine.
  EXPECT_EQ(Limit("0:90:00"), 5400);
}

TEST(ParseTimeLimitTest, Unlimited) {
  EXPECT_EQ(Limit("UNLIMITED"), kUnlimited);
  EXPECT_EQ(Limit("unlimited"), kUnlimited);
  EXPECT_EQ(Limit("INFINITE"), kUnlimited);
  EXPECT_EQ(Limit("Infinite"), kUnlimited);
  EXPECT_EQ(Limit("-1"), kUnlimited);
  EXPECT_EQ(Limit("0"), kUnlimited);
  EXPECT_EQ(Limit("0:00:00"), kUnlimited);
}

TEST(ParseTimeLimitTest, RejectsJunk) {
  for (const char* s : {"",
                        "1:x",
                        "x",
                        "-5",
                        "-1-0",
                        "1:2:3:4",
                        "1-2:3:4:5",
                        "1:",
                        ":30",
                        "1-",
                        "-",
                        "1--2",
                        "1-2-3",
                        " 10",
                        "10 ",
                        "+10",
                        "1.5",
                        "1h",
                        "99999999999999999999",
                        "9999999999999999-0"}) {
    auto r = ParseTimeLimit(s);
    EXPECT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(r.status().message(), "invalid time limit '" + std::string(s) + "'");
  }
}

TEST(FormatDurationTest, SqueueStyle) {
  EXPECT_EQ(FormatDuration(0), "0:00");
  EXPECT_EQ(FormatDuration(5), "0:05");
  EXPECT_EQ(FormatDuration(65), "1:05");
  EXPECT_EQ(FormatDuration(307), "5:07");
  EXPECT_EQ(FormatDuration(3599), "59:59");
  EXPECT_EQ(FormatDuration(3600), "1:00:00");
  EXPECT_EQ(FormatDuration(3661), "1:01:01");
  EXPECT_EQ(FormatDuration(86399), "23:59:59");
  EXPECT_EQ(FormatDuration(86400), "1-00:00:00");
  EXPECT_EQ(FormatDuration(90061), "1-01:01:01");
  EXPECT_EQ(FormatDuration(10 * 86400 + 7200), "10-02:00:00");
  EXPECT_EQ(FormatDuration(-5), "INVALID");
}

TEST(FormatDurationTest, TimeLimit) {
  EXPECT_EQ(FormatTimeLimit(kUnlimited), "UNLIMITED");
  EXPECT_EQ(FormatTimeLimit(1800), "30:00");
  EXPECT_EQ(FormatTimeLimit(172800), "2-00:00:00");
}

TEST(FormatElapsedTest, SacctStyle) {
  EXPECT_EQ(FormatElapsed(0), "00:00:00");
  EXPECT_EQ(FormatElapsed(65), "00:01:05");
  EXPECT_EQ(FormatElapsed(3661), "01:01:01");
  EXPECT_EQ(FormatElapsed(86399), "23:59:59");
  EXPECT_EQ(FormatElapsed(86400), "1-00:00:00");
  EXPECT_EQ(FormatElapsed(90061), "1-01:01:01");
  EXPECT_EQ(FormatElapsed(kUnlimited), "UNLIMITED");
  EXPECT_EQ(FormatElapsed(-7), "INVALID");
}

// Runs each test in a known zone and restores the caller's afterwards.
class LocalTimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* tz = getenv("TZ")) saved_ = tz;
    UseZone("UTC");
  }
  void TearDown() override {
    if (saved_) {
      setenv("TZ", saved_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }
  static void UseZone(const char* zone) {
    setenv("TZ", zone, 1);
    tzset();
  }
  static int64_t Utc(int y, int mon, int d, int h = 0, int mi = 0, int s = 0) {
    struct tm tm = {};
    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return timegm(&tm);
  }
  int64_t Point(std::string_view text, int64_t now) {
    auto r = ParseTimePoint(text, now);
    EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
    return r.ok() ? *r : -999;
  }

  std::optional<std::string> saved_;
};

TEST_F(LocalTimeTest, FormatTimestamp) {
  EXPECT_EQ(FormatTimestamp(Utc(2026, 11, 25, 17)), "2026-11-25T17:00:00");
  EXPECT_EQ(FormatTimestamp(0), "Unknown");
  EXPECT_EQ(FormatTimestamp(0, "N/A"), "N/A");
  UseZone("America/New_York");
  EXPECT_EQ(FormatTimestamp(Utc(2026, 11, 25, 17)), "2026-11-25T12:00:00");
}

TEST_F(LocalTimeTest, NowAndOffsets) {
  const int64_t now = Utc(2026, 11, 25, 10, 30);
  EXPECT_EQ(Point("now", now), now);
  EXPECT_EQ(Point("NOW", now), now);
  EXPECT_EQ(Point("now+60", now), now + 60);
  EXPECT_EQ(Point("now+60seconds", now), now + 60);
  EXPECT_EQ(Point("now+5minutes", now), now + 300);
  EXPECT_EQ(Point("now+1hour", now), now + 3600);
  EXPECT_EQ(Point("now+2hours", now), now + 7200);
  EXPECT_EQ(Point("now + 3 days", now), now + 3 * 86400);
  EXPECT_EQ(Point("now+1week", now), now + 7 * 86400);
  EXPECT_EQ(Point("now-1days", now), now - 86400);
}

TEST_F(LocalTimeTest, Keywords) {
  const int64_t now = Utc(2026, 11, 25, 10, 30);
  EXPECT_EQ(Point("today", now), Utc(2026, 11, 25));
  EXPECT_EQ(Point("tomorrow", now), Utc(2026, 11, 26));
  EXPECT_EQ(Point("midnight", now), Utc(2026, 11, 26));  // the next one
  EXPECT_EQ(Point("noon", now), Utc(2026, 11, 25, 12));
  EXPECT_EQ(Point("fika", now), Utc(2026, 11, 25, 15));
  EXPECT_EQ(Point("teatime", now), Utc(2026, 11, 25, 16));
  EXPECT_EQ(Point("elevenses", now), Utc(2026, 11, 25, 11));
  EXPECT_EQ(Point("tomorrow noon", now), Utc(2026, 11, 26, 12));
  // Month and year roll over.
  EXPECT_EQ(Point("tomorrow", Utc(2026, 12, 31, 8)), Utc(2027, 1, 1));
}

TEST_F(LocalTimeTest, TimeOfDayIsNextOccurrence) {
  const int64_t now = Utc(2026, 11, 25, 10, 30);
  EXPECT_EQ(Point("17:00", now), Utc(2026, 11, 25, 17));
  EXPECT_EQ(Point("17:00:30", now), Utc(2026, 11, 25, 17, 0, 30));
  EXPECT_EQ(Point("09:00", now), Utc(2026, 11, 26, 9));
  EXPECT_EQ(Point("10:30", now), now);  // not yet past
  EXPECT_EQ(Point("4pm", now), Utc(2026, 11, 25, 16));
  EXPECT_EQ(Point("4:15 PM", now), Utc(2026, 11, 25, 16, 15));
  EXPECT_EQ(Point("12am", now), Utc(2026, 11, 26, 0));
  EXPECT_EQ(Point("12:00pm", now), Utc(2026, 11, 25, 12));
}

TEST_F(LocalTimeTest, Dates) {
  const int64_t now = Utc(2026, 11, 25, 10, 30);
  EXPECT_EQ(Point("2026-12-25", now), Utc(2026, 12, 25));
  EXPECT_EQ(Point("2026-12-25T16:00", now), Utc(2026, 12, 25, 16));
  EXPECT_EQ(Point("2010-01-20T12:34:00", now), Utc(2010, 1, 20, 12, 34));
  EXPECT_EQ(Point("2027-01-02T03:04:05", now), Utc(2027, 1, 2, 3, 4, 5));
  EXPECT_EQ(Point("2024-02-29", now), Utc(2024, 2, 29));
  EXPECT_EQ(Point("12/25", now), Utc(2026, 12, 25));
  EXPECT_EQ(Point("12/25/27", now), Utc(2027, 12, 25));
  EXPECT_EQ(Point("12.25.27", now), Utc(2027, 12, 25));
  EXPECT_EQ(Point("12/25/2027", now), Utc(2027, 12, 25));
  EXPECT_EQ(Point("1/5", now), Utc(2026, 1, 5));
  EXPECT_EQ(Point("1225", now), Utc(2026, 12, 25));
  EXPECT_EQ(Point("122527", now), Utc(2027, 12, 25));
  EXPECT_EQ(Point("12/25-16:00", now), Utc(2026, 12, 25, 16));
  EXPECT_EQ(Point("16:00 12/25/26", now), Utc(2026, 12, 25, 16));
  // A past date is taken as written (sacct -S needs that).
  EXPECT_EQ(Point("2026-01-20", now), Utc(2026, 1, 20));
}

TEST_F(LocalTimeTest, UsesLocalZoneAcrossDst) {
  UseZone("America/New_York");
  const int64_t now = Utc(2026, 3, 7, 17);  // noon EST, the day before DST starts
  EXPECT_EQ(Point("tomorrow", now), Utc(2026, 3, 8, 5));
  EXPECT_EQ(Point("2026-03-08T12:00", now), Utc(2026, 3, 8, 16));  // EDT
  EXPECT_EQ(Point("11:00", now), Utc(2026, 3, 8, 15));             // next day, EDT
}

TEST_F(LocalTimeTest, RejectsJunk) {
  const int64_t now = Utc(2026, 11, 25, 10, 30);
  for (const char* s : {"",
                        "   ",
                        "soon",
                        "now+",
                        "now+x",
                        "now+5fortnights",
                        "now*2",
                        "25:00",
                        "12:60",
                        "12:5",
                        "13pm",
                        "0am",
                        "2026-13-01",
                        "2026-02-30",
                        "2025-02-29",
                        "2026-1-5",
                        "2026-12-25T",
                        "2026-12-25T25:00",
                        "2026-12-25x",
                        "13/01",
                        "12/25/202",
                        "12/32",
                        "123",
                        "12345",
                        "today tomorrow",
                        "noon 17:00",
                        "17",
                        "now+99999999999999999999"}) {
    auto r = ParseTimePoint(s, now);
    EXPECT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << s;
    EXPECT_EQ(r.status().message(), "invalid time specification '" + std::string(s) + "'");
  }
}

}  // namespace
}  // namespace shoal
