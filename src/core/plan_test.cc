#include "core/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace shoal {
namespace {

constexpr int64_t kNow = 100;

Node MakeNode(uint32_t cpus, uint32_t alloc = 0) {
  Node n;
  n.name = "n";
  n.cpus = cpus;
  n.memory_mb = 1000;
  n.alloc_cpus = alloc;
  n.responding = true;
  return n;
}

Amount Cpus(int64_t c) { return {c, 0, 0}; }

std::vector<uint32_t> Nodes(const std::vector<NodeNeed>& chosen) {
  std::vector<uint32_t> ids;
  for (const NodeNeed& c : chosen) ids.push_back(c.node);
  return ids;
}

class PlanTest : public ::testing::Test {
 protected:
  void Reset() { plan.Reset(nodes, kNow); }
  // Earliest start for `cpus` on `want` of all nodes (in order), for `duration`.
  int64_t Earliest(int64_t cpus, uint32_t want, int64_t duration,
                   std::vector<uint32_t> required = {}) {
    std::vector<NodeNeed> req, cand;
    for (uint32_t i = 0; i < nodes.size(); ++i) {
      bool is_required = std::find(required.begin(), required.end(), i) != required.end();
      (is_required ? req : cand).push_back({i, Cpus(cpus)});
    }
    return plan.EarliestStart(req, cand, want, duration, &chosen);
  }

  std::vector<Node> nodes;
  AvailabilityPlan plan;
  std::vector<NodeNeed> chosen;
};

TEST_F(PlanTest, FreeNowAndReleases) {
  nodes = {MakeNode(8, 6)};
  Reset();
  EXPECT_EQ(plan.FreeNow(0).cpus, 2);
  EXPECT_EQ(plan.TotalFreeCpus(), 2);
  EXPECT_FALSE(plan.Idle(0));
  plan.AddRelease(0, 150, Cpus(4));
  plan.AddRelease(0, 200, Cpus(2));
  EXPECT_TRUE(plan.FitsFromNow(0, Cpus(2), kNever));
  EXPECT_FALSE(plan.FitsFromNow(0, Cpus(3), 120));
  EXPECT_EQ(Earliest(2, 1, 10), kNow);
  EXPECT_EQ(Earliest(6, 1, 10), 150);
  EXPECT_EQ(Earliest(8, 1, kNever), 200);
  EXPECT_EQ(Earliest(9, 1, 10), kNever);
}

TEST_F(PlanTest, HoldsShapeTheFuture) {
  nodes = {MakeNode(10, 8)};
  Reset();
  plan.AddRelease(0, 200, Cpus(8));
  EXPECT_EQ(Earliest(4, 1, 100), 200);
  plan.Hold(0, Cpus(4), 200, 300);  // 6 spare from 200 to 300, all 10 after
  EXPECT_TRUE(plan.HasHolds());
  EXPECT_TRUE(plan.FitsFromNow(0, Cpus(2), 1000));  // 2 now, 6 beside the hold
  EXPECT_FALSE(plan.FitsFromNow(0, Cpus(3), 150));  // only 2 free now
  EXPECT_EQ(Earliest(10, 1, 50), 300);              // needs the whole node: after the hold
  EXPECT_EQ(Earliest(6, 1, 500), 200);              // fits beside it
  plan.Take(0, Cpus(2), 250);                       // 2 now until 250: 4 spare in 200..250
  EXPECT_EQ(Earliest(6, 1, 10), 250);
  EXPECT_EQ(Earliest(4, 1, 30), 200);
  EXPECT_FALSE(plan.FitsFromNow(0, Cpus(1), 1000));  // nothing free now any more
}

TEST_F(PlanTest, GapsBeforeAHoldTakeOnlyShortJobs) {
  nodes = {MakeNode(4)};
  Reset();
  plan.Hold(0, Cpus(4), 200, 300);
  EXPECT_TRUE(plan.FitsFromNow(0, Cpus(4), 200));
  EXPECT_FALSE(plan.FitsFromNow(0, Cpus(1), 201));
  EXPECT_EQ(Earliest(4, 1, 100), kNow);
  EXPECT_EQ(Earliest(4, 1, 101), 300);
  EXPECT_EQ(Earliest(4, 1, kNever), 300);
}

TEST_F(PlanTest, ImminentReleasesCountForPlansNotForStartingNow) {
  nodes = {MakeNode(4, 4)};
  Reset();
  plan.AddRelease(0, kNow, Cpus(4));  // due now: the node is not free yet
  EXPECT_FALSE(plan.FitsFromNow(0, Cpus(1), kNow + 10));
  EXPECT_EQ(Earliest(4, 1, 10), kNow);
  plan.Hold(0, Cpus(3), kNow, kNow + 50);
  // Holding from the imminent step leaves the node as it is now alone.
  EXPECT_EQ(plan.FreeNow(0).cpus, 0);
  EXPECT_EQ(Earliest(1, 1, 10), kNow);
  EXPECT_EQ(Earliest(2, 1, 10), kNow + 50);
}

TEST_F(PlanTest, SeveralNodesTogether) {
  nodes = {MakeNode(4, 4), MakeNode(4, 4), MakeNode(4, 0), MakeNode(4, 4)};
  Reset();
  plan.AddRelease(0, 300, Cpus(4));
  plan.AddRelease(1, 200, Cpus(4));
  plan.AddRelease(3, 250, Cpus(4));
  EXPECT_EQ(Earliest(4, 1, 10), kNow);
  EXPECT_EQ(Nodes(chosen), (std::vector<uint32_t>{2}));
  EXPECT_EQ(Earliest(4, 2, 10), 200);
  EXPECT_EQ(Nodes(chosen), (std::vector<uint32_t>{1, 2}));  // in the candidates' order
  EXPECT_EQ(Earliest(4, 3, 10), 250);
  EXPECT_EQ(Nodes(chosen), (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(Earliest(4, 2, 10, {0}), 300);  // node 0 required
  EXPECT_EQ(Nodes(chosen), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(Earliest(4, 5, 10), kNever);
  // A hold on node 2 from 150: a long job can no longer use it before the hold ends.
  plan.Hold(2, Cpus(4), 150, 400);
  EXPECT_EQ(Earliest(4, 2, 1000), 250);
  EXPECT_EQ(Nodes(chosen), (std::vector<uint32_t>{1, 3}));
  EXPECT_EQ(Earliest(4, 1, 50), kNow);  // ends at 150: fits before the hold
}

TEST_F(PlanTest, UnschedulableNodesNeverCount) {
  nodes = {MakeNode(4), MakeNode(4)};
  nodes[1].drain = true;
  Reset();
  EXPECT_EQ(plan.TotalFreeCpus(), 4);
  EXPECT_FALSE(plan.FitsFromNow(1, Cpus(1), kNever));
  EXPECT_EQ(Earliest(1, 2, 10), kNever);
  EXPECT_EQ(Earliest(1, 1, 10, {1}), kNever);
}

TEST_F(PlanTest, MemoryAndGpusAreChecked) {
  nodes = {MakeNode(8)};
  nodes[0].gpus = 2;
  nodes[0].gpu_busy = {true, false};
  nodes[0].alloc_mem_mb = 900;
  Reset();
  EXPECT_EQ(plan.FreeNow(0).gpus, 1);
  EXPECT_TRUE(plan.FitsFromNow(0, {1, 100, 1}, kNever));
  EXPECT_FALSE(plan.FitsFromNow(0, {1, 101, 0}, kNever));
  EXPECT_FALSE(plan.FitsFromNow(0, {1, 0, 2}, kNever));
  EXPECT_TRUE(Covers({0, -5, 0}, {0, 0, 0}));  // no need: covered even when overdrawn
}

TEST(EndOfTest, Saturates) {
  EXPECT_EQ(EndOf(10, 5), 15);
  EXPECT_EQ(EndOf(10, kNever), kNever);
  EXPECT_EQ(EndOf(kNever - 1, 5), kNever);
}

}  // namespace
}  // namespace shoal
