#include "metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <thread>

namespace shoal::metrics {
namespace {

TEST(MetricsNames, MetricAndLabelNames) {
  EXPECT_TRUE(ValidMetricName("shoal_jobs_total"));
  EXPECT_TRUE(ValidMetricName("a:b_c9"));
  EXPECT_FALSE(ValidMetricName(""));
  EXPECT_FALSE(ValidMetricName("9lives"));
  EXPECT_FALSE(ValidMetricName("shoal-jobs"));
  EXPECT_TRUE(ValidLabelName("partition"));
  EXPECT_FALSE(ValidLabelName("__name__"));
  EXPECT_FALSE(ValidLabelName("a:b"));
  EXPECT_FALSE(ValidLabelName("1a"));
}

TEST(MetricsFormat, Escaping) {
  EXPECT_EQ(EscapeLabelValue(R"(a"b\c)"
                             "\nd"),
            R"(a\"b\\c\nd)");
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  // HELP keeps double quotes as they are.
  EXPECT_EQ(EscapeHelp("say \"hi\"\\\n"), "say \"hi\"\\\\\\n");
}

TEST(MetricsFormat, Values) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1000000), "1000000");
  EXPECT_EQ(FormatValue(-3), "-3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(1e-7), "1e-07");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(FormatValue(0.1 + 0.2)), 0.1 + 0.2);  // round-trips exactly
}

TEST(MetricsCounter, OnlyGoesUp) {
  Counter c;
  c.Inc();
  c.Inc(2.5);
  c.Inc(-10);
  c.Inc(std::nan(""));
  EXPECT_EQ(c.Value(), 3.5);
}

TEST(MetricsCounter, ConcurrentIncrementsAllCount) {
  Registry r;
  auto& family = r.AddCounter("hits_total", "hits", {"kind"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) family.Labels({t % 2 ? "odd" : "even"}).Inc();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(family.Labels({"odd"}).Value(), 40000);
  EXPECT_EQ(family.Labels({"even"}).Value(), 40000);
}

TEST(MetricsHistogram, BucketsAreCumulativeAndInclusive) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.05, 0.1, 0.5, 1.0, 5.0, 100.0}) h.Observe(v);
  Histogram::Snapshot s = h.Collect();
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 2u);  // 0.05 and 0.1 (le is inclusive)
  EXPECT_EQ(s.cumulative[1], 4u);
  EXPECT_EQ(s.cumulative[2], 5u);
  EXPECT_EQ(s.cumulative[3], 6u);  // +Inf
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 106.65);
}

TEST(MetricsHistogram, ExponentialBuckets) {
  EXPECT_EQ(ExponentialBuckets(0.001, 10, 4), (std::vector<double>{0.001, 0.01, 0.1, 1}));
}

TEST(MetricsRegistry, RendersTheTextFormat) {
  Registry r;
  r.AddCounter("shoal_submitted_total", "Jobs submitted.", {"partition"})
      .Labels({"gpu \"big\""})
      .Inc(3);
  r.AddGauge("shoal_queue_length", "Pending jobs.").Labels().Set(7);
  auto& h = r.AddHistogram("shoal_pass_seconds", "Pass time.\nLine two.", {}, {0.5, 1});
  h.Labels().Observe(0.25);
  h.Labels().Observe(2);
  r.AddCollector([](ExpositionWriter& w) {
    w.Family("shoal_nodes", "Nodes by state.", MetricType::kGauge);
    w.Sample("shoal_nodes", {{"state", "idle"}}, 4);
  });
  EXPECT_EQ(r.Render(),
            "# HELP shoal_submitted_total Jobs submitted.\n"
            "# TYPE shoal_submitted_total counter\n"
            "shoal_submitted_total{partition=\"gpu \\\"big\\\"\"} 3\n"
            "# HELP shoal_queue_length Pending jobs.\n"
            "# TYPE shoal_queue_length gauge\n"
            "shoal_queue_length 7\n"
            "# HELP shoal_pass_seconds Pass time.\\nLine two.\n"
            "# TYPE shoal_pass_seconds histogram\n"
            "shoal_pass_seconds_bucket{le=\"0.5\"} 1\n"
            "shoal_pass_seconds_bucket{le=\"1\"} 1\n"
            "shoal_pass_seconds_bucket{le=\"+Inf\"} 2\n"
            "shoal_pass_seconds_sum 2.25\n"
            "shoal_pass_seconds_count 2\n"
            "# HELP shoal_nodes Nodes by state.\n"
            "# TYPE shoal_nodes gauge\n"
            "shoal_nodes{state=\"idle\"} 4\n");
}

TEST(MetricsRegistry, FamilyWithoutSeriesRendersOnlyItsHeader) {
  Registry r;
  r.AddCounter("x_total", "x", {"a"});
  EXPECT_EQ(r.Render(), "# HELP x_total x\n# TYPE x_total counter\n");
}

TEST(MetricsRegistry, LabelValuesArePaddedToTheLabelNames) {
  Registry r;
  auto& f = r.AddGauge("g", "g", {"a", "b"});
  f.Labels({"1"}).Set(1);
  EXPECT_EQ(&f.Labels({"1", ""}), &f.Labels({"1"}));
  EXPECT_NE(r.Render().find("g{a=\"1\",b=\"\"} 1\n"), std::string::npos);
}

TEST(MetricsRegistryDeathTest, RejectsBadRegistrations) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(Registry().AddCounter("bad-name", "x"), "invalid metric name");
  EXPECT_DEATH(Registry().AddGauge("ok", "x", {"__reserved"}), "invalid label name");
  EXPECT_DEATH(Registry().AddHistogram("h", "x", {"le"}, {1}), "label named le");
  EXPECT_DEATH(Registry().AddHistogram("h", "x", {}, {2, 1}), "ascending");
  EXPECT_DEATH(
      {
        Registry r;
        r.AddGauge("twice", "x");
        r.AddCounter("twice", "x");
      },
      "registered twice");
}

}  // namespace
}  // namespace shoal::metrics
