#include "core/priority.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/plan.h"

namespace shoal {
namespace {

constexpr int64_t kNow = 1'000'000;

Qos MakeQos(const std::string& name, uint32_t priority = 0) {
  Qos q;
  q.name = name;
  q.priority = priority;
  return q;
}

AccountConfig MakeAccount(const std::string& name, uint32_t shares, uint32_t priority = 0) {
  AccountConfig a;
  a.name = name;
  a.shares = shares;
  a.priority = priority;
  return a;
}

Job MakeJob(JobId id) {
  Job j;
  j.id = id;
  j.submit_time = kNow;
  j.eligible_time = kNow;
  j.req.user = "alice";
  j.req.account = "physics";
  j.req.partition = "batch";
  return j;
}

// The cluster of the reference measurements: 2 nodes of 4 CPUs, partitions with
// PriorityJobFactor 1 and 10, QOS priorities 0 and 100.
PriorityContext RefContext() {
  PriorityContext ctx;
  ctx.total_nodes = 2;
  ctx.total_cpus = 8;
  ctx.max_partition_factor = 10;
  ctx.max_qos_priority = 100;
  return ctx;
}

PriorityWeights RefWeights() {
  PriorityWeights w;
  w.age = 1000;
  w.fairshare = 10000;
  w.job_size = 1000;
  w.partition = 1000;
  w.qos = 10000;
  w.max_age_s = 86400;
  return w;
}

TEST(PriorityTest, MatchesSlurmOnTheReferenceCluster) {
  // Values sprio printed on Slurm 22.05 for the same requests (fair share 1, age 0).
  Partition debug;
  debug.name = "debug";
  debug.priority_job_factor = 1;
  Partition big = debug;
  big.priority_job_factor = 10;
  Qos normal = MakeQos("normal");
  Qos high = MakeQos("high", 100);
  const PriorityWeights w = RefWeights();
  const PriorityContext ctx = RefContext();

  Job one = MakeJob(1);  // 1 CPU on 1 node: size (1/2 + 1/8) / 2
  PriorityFactors f = ComputeFactors(one, &debug, &normal, 1.0, 0, ctx, w, kNow);
  EXPECT_DOUBLE_EQ(f.job_size, 0.3125);
  EXPECT_DOUBLE_EQ(f.partition, 0.1);
  EXPECT_EQ(PriorityOf(f, w), 10412u);

  Job two_nodes = MakeJob(2);  // -N2: two tasks
  two_nodes.req.min_nodes = 2;
  two_nodes.req.ntasks = 2;
  f = ComputeFactors(two_nodes, &big, &normal, 1.0, 0, ctx, w, kNow);
  EXPECT_DOUBLE_EQ(f.job_size, 0.625);
  EXPECT_EQ(PriorityOf(f, w), 11625u);

  Job high_nice = MakeJob(3);  // -c 3 --nice=100 --qos=high: 20537.5 - 100, truncated
  high_nice.req.cpus_per_task = 3;
  high_nice.req.nice = 100;
  f = ComputeFactors(high_nice, &debug, &high, 1.0, 0, ctx, w, kNow);
  EXPECT_DOUBLE_EQ(f.qos, 1.0);
  EXPECT_EQ(PriorityOf(f, w), 20437u);

  Job exclusive = MakeJob(5);  // -N2 --exclusive: every CPU of both nodes, as Slurm counts it
  exclusive.req.min_nodes = 2;
  exclusive.req.ntasks = 2;
  exclusive.req.exclusive = true;
  EXPECT_DOUBLE_EQ(ComputeFactors(exclusive, &debug, &normal, 1.0, 0, ctx, w, kNow).job_size, 1.0);

  Job negative_nice = MakeJob(4);
  negative_nice.req.nice = -5;
  f = ComputeFactors(negative_nice, &debug, &normal, 1.0, 0, ctx, w, kNow);
  EXPECT_EQ(PriorityOf(f, w), 10417u);
}

TEST(PriorityTest, FavorSmall) {
  PriorityWeights w = RefWeights();
  w.favor_small = true;
  Job j = MakeJob(1);  // -N2 -n5: (1 - 2/2 + 1 - 5/8) / 2, as Slurm printed
  j.req.min_nodes = 2;
  j.req.ntasks = 5;
  EXPECT_DOUBLE_EQ(ComputeFactors(j, nullptr, nullptr, 1, 0, RefContext(), w, kNow).job_size,
                   0.1875);
  j.req.min_nodes = 1;  // -n 8
  j.req.ntasks = 8;
  EXPECT_DOUBLE_EQ(ComputeFactors(j, nullptr, nullptr, 1, 0, RefContext(), w, kNow).job_size, 0.25);
}

TEST(PriorityTest, AgeCountsFromEligibilityAndIsCapped) {
  PriorityWeights w;
  w.age = 1000;
  w.max_age_s = 1000;
  Job j = MakeJob(1);
  j.submit_time = j.eligible_time = kNow - 500;
  PriorityContext ctx;
  EXPECT_EQ(PriorityOf(ComputeFactors(j, nullptr, nullptr, 0, 0, ctx, w, kNow), w), 500u);
  j.submit_time = j.eligible_time = kNow - 5000;
  EXPECT_EQ(PriorityOf(ComputeFactors(j, nullptr, nullptr, 0, 0, ctx, w, kNow), w), 1000u);
  j.eligible_time = kNow - 100;
  EXPECT_EQ(PriorityOf(ComputeFactors(j, nullptr, nullptr, 0, 0, ctx, w, kNow), w), 100u);
  j.eligible_time = kNow + 100;  // not yet eligible: no age, and the floor of 1
  EXPECT_EQ(PriorityOf(ComputeFactors(j, nullptr, nullptr, 0, 0, ctx, w, kNow), w), 1u);
}

TEST(PriorityTest, HeldIsZeroNiceCanOnlyLowerToOne) {
  PriorityWeights w;
  Job j = MakeJob(1);
  PriorityFactors f = ComputeFactors(j, nullptr, nullptr, 0, 0, PriorityContext{}, w, kNow);
  EXPECT_EQ(JobPriority(j, f, w), 1u);
  f.nice = -100;
  EXPECT_EQ(JobPriority(j, f, w), 100u);
  f.nice = 100;
  EXPECT_EQ(JobPriority(j, f, w), 1u);
  j.held = true;
  EXPECT_EQ(JobPriority(j, f, w), 0u);
}

TEST(PriorityTest, UnknownTotalsAndMaximaGiveZeroFactors) {
  Job j = MakeJob(1);
  Partition p;
  p.priority_job_factor = 5;
  Qos q = MakeQos("q", 5);
  PriorityFactors f = ComputeFactors(j, &p, &q, 0.5, 3, PriorityContext{}, RefWeights(), kNow);
  EXPECT_EQ(f.job_size, 0);
  EXPECT_EQ(f.partition, 0);
  EXPECT_EQ(f.qos, 0);
  EXPECT_EQ(f.assoc, 0);
  EXPECT_EQ(f.fairshare, 0.5);
  PriorityContext ctx;
  ctx.max_assoc_priority = 6;
  EXPECT_DOUBLE_EQ(ComputeFactors(j, &p, &q, 0.5, 3, ctx, RefWeights(), kNow).assoc, 0.5);
}

TEST(PriorityTest, ContextFromTheCluster) {
  std::vector<Node> nodes(3);
  nodes[0].cpus = 4;
  nodes[1].cpus = 8;
  nodes[2].cpus = 2;
  std::vector<Partition> parts(2);
  parts[0].priority_job_factor = 3;
  parts[1].priority_job_factor = 7;
  std::vector<Qos> qos = {MakeQos("normal"), MakeQos("high", 40)};
  std::vector<AccountConfig> accounts = {MakeAccount("a", 1, 9)};
  PriorityContext ctx = MakePriorityContext(nodes, parts, qos, accounts);
  EXPECT_EQ(ctx.total_nodes, 3u);
  EXPECT_EQ(ctx.total_cpus, 14u);
  EXPECT_EQ(ctx.max_partition_factor, 7u);
  EXPECT_EQ(ctx.max_qos_priority, 40u);
  EXPECT_EQ(ctx.max_assoc_priority, 9u);
}

TEST(PriorityTest, HugeWeightsSaturate) {
  PriorityWeights w;
  w.fairshare = 4'000'000'000u;
  w.qos = 4'000'000'000u;
  PriorityFactors f;
  f.fairshare = 1;
  f.qos = 1;
  EXPECT_EQ(PriorityOf(f, w), 4294967295u);
}

// --- usage and fair share ---------------------------------------------------------------------

TEST(UsageTest, DecayHalvesPerHalfLife) {
  EXPECT_DOUBLE_EQ(DecayFactor(100, 100), 0.5);
  EXPECT_DOUBLE_EQ(DecayFactor(100, 300), 0.125);
  EXPECT_DOUBLE_EQ(DecayFactor(0, 300), 1.0);  // no decay
  EXPECT_DOUBLE_EQ(DecayFactor(100, -5), 1.0);

  UsageState s;
  DecayUsage(s, 1000, 100);  // first call only sets the time
  EXPECT_EQ(s.as_of, 1000);
  ChargeUsage(s, {"a", "u"}, 800);
  ChargeUsage(s, {"a", "v"}, 0.0015);
  DecayUsage(s, 1200, 100);
  EXPECT_DOUBLE_EQ(s.usage.at({"a", "u"}), 200);
  EXPECT_EQ(s.usage.count({"a", "v"}), 0u);  // decayed to nothing: forgotten
  EXPECT_EQ(s.as_of, 1200);
  DecayUsage(s, 1100, 100);  // time never runs backwards
  EXPECT_EQ(s.as_of, 1200);
  EXPECT_DOUBLE_EQ(s.usage.at({"a", "u"}), 200);
}

TEST(UsageTest, UsageBetweenCountsTheOverlapOfTheRun) {
  Job j = MakeJob(1);
  j.state = JobState::kRunning;
  j.start_time = 100;
  j.alloc_cpus = 4;
  EXPECT_DOUBLE_EQ(UsageBetween(j, 0, 150, 1.0), 200);   // 50 s x 4 CPUs
  EXPECT_DOUBLE_EQ(UsageBetween(j, 120, 150, 0.5), 60);  // UsageFactor
  j.state = JobState::kCompleted;
  j.end_time = 130;
  EXPECT_DOUBLE_EQ(UsageBetween(j, 120, 150, 1.0), 40);
  EXPECT_DOUBLE_EQ(UsageBetween(j, 140, 150, 1.0), 0);
  j.start_time = 0;  // never ran
  EXPECT_DOUBLE_EQ(UsageBetween(j, 0, 150, 1.0), 0);
}

TEST(UsageResetTest, Periods) {
  EXPECT_EQ(ParseUsageResetPeriod("weekly"), UsageResetPeriod::kWeekly);
  EXPECT_EQ(ParseUsageResetPeriod("NONE"), UsageResetPeriod::kNone);
  EXPECT_FALSE(ParseUsageResetPeriod("fortnightly").has_value());
  EXPECT_STREQ(UsageResetPeriodName(UsageResetPeriod::kQuarterly), "QUARTERLY");

  // 2026-11-25 12:34:56 UTC, a Wednesday.
  const int64_t t = 1795610096;
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kNone, t, 0), kNever);
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kNow, t, 0), kNever);
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kDaily, t, 0), 1795651200);      // 11-26 00:00
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kWeekly, t, 0), 1795910400);     // Sun 11-29
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kMonthly, t, 0), 1796083200);    // 12-01
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kQuarterly, t, 0), 1798761600);  // 2027-01-01
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kYearly, t, 0), 1798761600);
  // Local time one hour east of UTC: local midnight is 23:00 UTC.
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kDaily, t, 3600), 1795647600);
  // Exactly on a boundary: the next one.
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kDaily, 1795651200, 0), 1795651200 + 86400);
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kWeekly, 1795910400, 0), 1795910400 + 7 * 86400);
  // Quarters start in January, April, July and October.
  EXPECT_EQ(NextUsageReset(UsageResetPeriod::kQuarterly, 1782000000, 0), 1782864000);  // 07-01
}

}  // namespace
}  // namespace shoal
