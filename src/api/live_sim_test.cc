#include "api/live_sim.h"

#include <gtest/gtest.h>

namespace shoal {
namespace {

TEST(LiveSimSettingsTest, PartialUpdatesAreCheckedAndLaidOver) {
  LiveSimSettings current;
  current.preset = "burst";
  Result<LiveSimSettings> s =
      LiveSimSettingsFromJson(Json{{"job_rate_per_min", 12.5}}, current);
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->job_rate_per_min, 12.5);
  EXPECT_EQ(s->preset, "burst");
  s = LiveSimSettingsFromJson(Json{{"failure_pct_per_min", {5, 12}}, {"preset", "light"}}, *s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->failure_low_pct, 5);
  EXPECT_EQ(s->failure_high_pct, 12);
  EXPECT_EQ(s->preset, "light");
  // What goes out comes back.
  Result<LiveSimSettings> back = LiveSimSettingsFromJson(LiveSimSettingsToJson(*s), {});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->job_rate_per_min, 12.5);
  EXPECT_EQ(back->failure_high_pct, 12);

  auto error = [&](const Json& j) {
    Result<LiveSimSettings> r = LiveSimSettingsFromJson(j, current);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  EXPECT_EQ(error(Json{{"job_rate_per_min", 51}}),
            "job_rate_per_min must be 0 (the preset's) or 0.1 to 50");
  EXPECT_EQ(error(Json{{"job_rate_per_min", "fast"}}), "job_rate_per_min must be a number");
  EXPECT_EQ(error(Json{{"preset", "wild"}}),
            "unknown preset 'wild' (light, steady, burst or stress)");
  EXPECT_EQ(error(Json{{"failure_pct_per_min", {12, 5}}}),
            "failure_pct_per_min must lie within 0 to 100, low <= high");
  EXPECT_EQ(error(Json{{"failure_pct_per_min", 5}}), "failure_pct_per_min must be [low, high]");
  EXPECT_EQ(error(Json{{"speed", 2}}), "unknown setting 'speed'");
  EXPECT_EQ(error(Json::array()), "settings must be a JSON object");
  EXPECT_EQ(error(Json{{"job_rate_per_min", 0}}), "ok");  // back to the preset's
}

TEST(LiveSimSettingsTest, Presets) {
  EXPECT_EQ(*PresetJobRate("light", 0), 0.5);
  EXPECT_EQ(*PresetJobRate("stress", 0), 50);
  EXPECT_EQ(*PresetJobRate("burst", 3.9), 0.5);
  EXPECT_EQ(*PresetJobRate("burst", 9.5), 30);
}

}  // namespace
}  // namespace shoal
